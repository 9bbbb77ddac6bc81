#!/usr/bin/env python3
"""List Rust fn bodies longer than LIMIT lines (signature line to closing brace, by brace
depth; strings and comments skipped). Usage: fn_lengths.py [DIR=src] [LIMIT=150]; issue #13."""
import re, sys, pathlib
LIMIT = int(sys.argv[2]) if len(sys.argv) > 2 else 150
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else 'src')
fn_re = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+"[^"]*"\s+)?fn\s+(\w+)')
def strip(line, state):
    # remove strings, chars and comments; state tracks block comments
    out = []; i = 0; n = len(line)
    while i < n:
        if state['block']:
            j = line.find('*/', i)
            if j < 0: return ''.join(out)
            state['block'] = False; i = j + 2; continue
        c = line[i]
        if line.startswith('//', i): break
        if line.startswith('/*', i): state['block'] = True; i += 2; continue
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == '\\' else 1
            i += 1; continue
        if c == "'" and i + 2 < n and (line[i+2] == "'" or line[i+1] == '\\'):
            j = line.find("'", i + 2 if line[i+1] != '\\' else i + 3)
            i = j + 1 if j > 0 else i + 1; continue
        out.append(c); i += 1
    return ''.join(out)
bad = 0
for p in sorted(root.rglob('*.rs')):
    lines = p.read_text().splitlines()
    state = {'block': False}
    stack = []  # (name, start, depth_at_open)
    depth = 0; pending = None
    for ln, raw in enumerate(lines, 1):
        code = strip(raw, state)
        m = fn_re.match(code)
        if m and pending is None: pending = (m.group(7), ln)
        for ch in code:
            if ch == '{':
                depth += 1
                if pending: stack.append((pending[0], pending[1], depth)); pending = None
            elif ch == '}':
                if stack and stack[-1][2] == depth:
                    name, start, _ = stack.pop(); length = ln - start + 1
                    if length > LIMIT:
                        bad += 1; print(f'{p}:{start} fn {name}: {length} lines')
                depth -= 1
            elif ch == ';' and pending: pending = None  # trait fn declaration
print(f'{bad} function(s) over {LIMIT} lines')
sys.exit(1 if bad else 0)
