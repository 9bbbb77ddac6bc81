#!/usr/bin/env python3
"""Summarise the cross-check outputs: counts by exit code and every flagged row.

Usage: summarize.py FILE.jsonl ...   (random_compare.py rows carry `problems`, extreme_grid.py
rows carry `bad`)."""
import collections, json, sys

for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path)]
    codes = collections.Counter(str(r["rc"]) for r in rows)
    flagged = [r for r in rows if r.get("problems") or r.get("bad")]
    slowest = max(rows, key=lambda r: r["t"]) if rows else None
    print(f"{path}: {len(rows)} calls, exit codes {dict(sorted(codes.items()))}, "
          f"{len(flagged)} flagged, slowest {slowest['t'] if slowest else '-'} s")
    if slowest:
        print(f"  slowest: {slowest['args']}")
    for r in flagged:
        why = r.get("problems") or r.get("err", "").strip().splitlines()[-1:]
        print(f"  FLAG rc={r['rc']} {r['t']} s: {r['args']} | {why}")
