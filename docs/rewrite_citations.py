#!/usr/bin/env python3
"""Rewrite citations of the old out-of-repository notes ("MATH.md §n") to docs/math.md.

Run from the repository root:

    python3 docs/rewrite_citations.py             # rewrite in place, print a summary
    python3 docs/rewrite_citations.py --dry-run   # show what would change, write nothing

Scope: src/, tests/, benches/, examples/, experiments/, scripts/ (files ending in .rs, .md,
.py, .sh, .toml) and README.md. Recorded outputs under results/ are left alone unless
--include-results is given (they embed the config text that produced them, with its hash).

Forms recognised (any path before MATH.md is dropped: ../shared/MATH.md, ../MATH.md, ...):

    MATH.md §5            MATH.md §5.2           (MATH.md §4)
    MATH.md §§5–6         MATH.md §1–2           MATH.md §1, §7
    MATH.md §2, "Certified quadrature that works"      (the quoted title is kept)
    MATH.md §<short title>   or   MATH.md §"<short title>"   (symbolic, see below)
    MATH.md               (bare mention)
    [text](../shared/MATH.md#anchor)               (Markdown links)

Output:
- code, comments, Python, shell, TOML, and Markdown inside code spans or fenced blocks:
  the plain, greppable `docs/math.md §5` (symbolic: `docs/math.md#<anchor>`);
- Markdown prose: a link `[docs/math.md §5](<relative path>/docs/math.md#s5)`, with the
  relative path computed from the file's folder; §N.M links to #sN-M when docs/math.md has
  that anchor, else to #sN; ranges link to their first section; lists link each section.

Symbolic citations `MATH.md §<short title>` (notes merged into §15 "Additional certified
bounds") are mapped by slug: the title is lower-cased, Greek letters are spelled out, and runs
of other characters become "-"; the citation maps to the anchor `<slug>` or `s15-<slug>` of
docs/math.md (a unique anchor starting with the slug is accepted too). An unquoted title ends
at the first ) ] ; , : ` " or at ". " / end of line. Titles with no matching anchor are left
untouched and listed; with --fallback-s15 they point at §15 instead, keeping the title.

The rewrite is idempotent (rewritten text no longer contains "MATH.md"). The exit status is
1 when any "MATH.md" remains in the scope afterwards (in a dry run: would remain), else 0.
"""

import argparse
import os
import re
import signal
import sys

DOC = "docs/math.md"
SCOPE_DIRS = ["src", "tests", "benches", "examples", "experiments", "scripts"]
SCOPE_EXT = (".rs", ".md", ".py", ".sh", ".toml")
SCOPE_FILES = ["README.md"]
RESULTS_EXT = (".json", ".csv", ".md", ".txt", ".toml")
SKIP_DIRS = {"target", ".git", "node_modules", "__pycache__"}

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi",
    "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "χ": "chi", "ψ": "psi",
    "ω": "omega", "Δ": "delta", "Γ": "gamma", "Λ": "lambda", "Σ": "sigma", "Φ": "phi",
}

PATH = r"(?:[\w.\-]+/)*MATH\.md"
NUM = r"\d+(?:\.\d+)?"
DASH = r"[–—-]"
# §N, §N.M, §§N–M, §N–M, §N, §M (list), optional quoted title after a comma.
NUMERIC = (
    rf"(?P<num>§§?\s*{NUM}(?:\s*{DASH}\s*§?{NUM})?(?:\s*,\s*§{NUM}(?:\s*{DASH}\s*§?{NUM})?)*)"
    r"(?P<qtitle>,\s*[\"“][^\"”\n]{1,80}[\"”])?"
)
SYMBOLIC = r"(?P<sym>§\s*(?:\"(?P<symq>[^\"\n]{1,80})\"|“(?P<symq2>[^”\n]{1,80})”|(?P<symu>[^\d\s§\"“][^\n]{0,79})))"
CITE = re.compile(rf"(?P<path>{PATH})(?:(?P<sp>\s*){NUMERIC}|(?P<sp2>\s*){SYMBOLIC})?")
MDLINK = re.compile(rf"\[(?P<text>[^\]\n]*)\]\((?P<target>{PATH})(?P<frag>#[^)\s]*)?\)")
ANCHOR = re.compile(r"<a id=\"([^\"]+)\"></a>")

# Citations whose old section number is right but a newer, more specific section exists:
# (file suffix, text on the citing line, old section spec, new spec). Matched on the line's
# text, not its number, so that edits elsewhere in the file do not break them.
REFINE = [
    ("src/accountant/contour.rs", "Exact certified accounting by inversion", "§6", "§6.5, §10"),
    ("src/accountant/contour.rs", "M_w(λ')ⁿ (MATH.md §6,", "§6", "§6.3, §10.7"),
    ("src/accountant/contour.rs", "MATH.md §6; Alghamdi", "§6", "§6.5, §10"),
    ("src/accountant/contour.rs", "/// MATH.md §6.", "§6", "§6.5, §10"),
    ("src/special/complex_quadrature.rs", "for the contour accountant (MATH.md §6)", "§6", "§10.4"),
    ("src/accountant/saddlepoint.rs", "the number of steps (MATH.md §6)", "§6", "§6, §12"),
    ("src/accountant/saddlepoint.rs", "of MATH.md §6 at the same kind of tilt", "§6", "§6.5, §12.3"),
    ("src/accountant/edgeworth.rs", "bracket (MATH.md §5, \"The δ", "§5", "§5.4"),
    ("src/cgf.rs", "(MATH.md §6).", "§6", "§6.1"),
    ("src/mechanism/subsampled.rs", "(MATH.md §2 quadrature)", "§2", "§13"),
    ("src/accountant/pld.rs", "MATH.md §1, §7", "§1, §7", "§1, §7, §11"),
    ("src/pld/mod.rs", "MATH.md §1, §7", "§1, §7", "§1, §7, §11"),
    ("src/pld/loss.rs", "MATH.md §1–2, §7", "§1–2, §7", "§1–2, §11"),
    ("tests/contour_reference.rs", "SST-2 point (MATH.md §4)", "§4", "§10.10"),
    ("tests/contour_reference.rs", "the same integral (MATH.md §6)", "§6", "§6.5"),
    ("tests/contour_contract.rs", "8.28912 (MATH.md §6)", "§6", "§10.10"),
    ("tests/saddlepoint_reference.rs", "MATH.md §6: true ε", "§6", "§10.10"),
    ("tests/saddlepoint_reference.rs", "Truth 8.2891 (MATH.md §6)", "§6", "§10.10"),
    ("experiments/contour/README.md", "(MATH.md §6, `src/accountant/contour.rs`)", "§6", "§10"),
    ("experiments/contour/README.md", "(MATH.md §6 identity with h ≤ h_max)", "§6", "§6.2"),
    ("experiments/bounds/README.md", "integral of MATH.md §6", "§6", "§6.5"),
]
# Old quoted subsection titles and where they live now.
TITLE_MOVED = {"certified-quadrature-that-works": "§13", "the-delta-bracket": "§5.4"}


def slug(title):
    t = "".join(GREEK.get(c, c) for c in title.strip().lower())
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-")


def end_unquoted_title(s):
    """The unquoted symbolic title at the start of s (see the module docs)."""
    m = re.search(r"[)\];,:`\"”]|\.(?:\s|$)|\s[–—]\s", s)
    return (s[: m.start()] if m else s).rstrip()


class Rewriter:
    def __init__(self, anchors, fallback):
        self.anchors = anchors
        self.fallback = fallback
        self.mapped = []      # (file, line, title, anchor)
        self.unmapped = []    # (file, line, title)
        self.refined = []     # (file, old spec, new spec)
        self.missing = []     # section numbers with no anchor in docs/math.md

    def refine(self, path, line, num_text, qtitle):
        """The more specific section of REFINE / TITLE_MOVED, if any."""
        p = path.replace(os.sep, "/")
        for suffix, context, old, new in REFINE:
            if p.endswith(suffix) and context in line and num_text == old:
                self.refined.append((path, num_text, new))
                return new
        if qtitle:
            new = TITLE_MOVED.get(slug(qtitle.strip(" ,\"“”")))
            if new:
                self.refined.append((path, num_text, new))
                return new
        return num_text

    def section_anchor(self, num):
        """#sN-M when it exists, else #sN."""
        if "s" + num.split(".")[0] not in self.anchors:
            self.missing.append(num)
        if "." in num:
            a = "s" + num.replace(".", "-")
            if a in self.anchors:
                return a
        return "s" + num.split(".")[0]

    def symbolic_anchor(self, title):
        s = slug(title)
        if not s:
            return None
        for cand in (s, "s15-" + s):
            if cand in self.anchors:
                return cand
        pref = [a for a in self.anchors if a.startswith(s) or a.startswith("s15-" + s)]
        return pref[0] if len(pref) == 1 else None

    def rewrite_text(self, text, path, markdown):
        rel = os.path.relpath(DOC, os.path.dirname(path) or ".").replace(os.sep, "/")
        out_lines = []
        in_fence = False
        count = 0
        for lineno, line in enumerate(text.splitlines(keepends=True), 1):
            if markdown and re.match(r"\s*(```|~~~)", line):
                in_fence = not in_fence
                out_lines.append(line)
                continue
            if "MATH.md" not in line:
                out_lines.append(line)
                continue
            new, n = self.rewrite_line(line, path, lineno, markdown and not in_fence, rel)
            count += n
            out_lines.append(new)
        return "".join(out_lines), count

    def rewrite_line(self, line, path, lineno, md, rel):
        n = 0
        if md:
            def link(m):
                nonlocal n
                frag = m.group("frag") or ""
                nm = re.search(rf"§§?\s*({NUM})", m.group("text"))
                if nm:
                    frag = "#" + self.section_anchor(nm.group(1))
                elif frag and frag[1:] not in self.anchors:
                    frag = ""
                n += 1
                txt = re.sub(PATH, "docs/math.md", m.group("text"))
                return f"[{txt}]({rel}{frag})"
            line = MDLINK.sub(link, line)

        out = []
        pos = 0
        search = 0
        while True:
            # search() from the end of the last replacement (not of the last match: an unquoted
            # symbolic title may have matched further than the title itself).
            m = CITE.search(line, search)
            if m is None:
                break
            # Inside an inline code span (odd number of backticks before it): plain form.
            in_code = line[: m.start()].count("`") % 2 == 1
            rep = self.replace(m, line, path, lineno, md and not in_code, rel)
            if rep is None:
                search = m.end("path")
                continue
            text, end = rep
            out.append(line[pos: m.start()])
            out.append(text)
            pos = search = end
            n += 1
        out.append(line[pos:])
        return "".join(out), n

    def replace(self, m, line, path, lineno, md, rel):
        """(replacement text, end offset in line), or None to leave the match alone."""
        if m.group("num"):
            num_text = m.group("num")
            qtitle = m.group("qtitle") or ""
            num_text = self.refine(path, line, num_text, qtitle)
            sp = m.group("sp")
            if not md:
                for x in re.findall(NUM, num_text):
                    self.section_anchor(x)
                return f"docs/math.md{sp}{num_text}{qtitle}", m.end()
            parts = re.split(r"(\s*,\s*)", num_text)
            first = parts[0]
            nums = re.findall(NUM, first)
            anchor = self.section_anchor(nums[0])
            if qtitle:
                qa = self.symbolic_anchor(qtitle.strip(" ,\"“”"))
                if qa:
                    anchor = qa
            s = f"[docs/math.md{sp}{first}]({rel}#{anchor})"
            for i in range(1, len(parts), 2):
                sep, item = parts[i], parts[i + 1]
                a = self.section_anchor(re.findall(NUM, item)[0])
                s += f"{sep}[{item}]({rel}#{a})"
            return s + qtitle, m.end()
        if m.group("sym"):
            quoted = m.group("symq") or m.group("symq2")
            if quoted is not None:
                title = quoted
                end = m.end("sym")
            else:
                title = end_unquoted_title(m.group("symu"))
                end = m.start("symu") + len(title)
            sp = m.group("sp2")
            anchor = self.symbolic_anchor(title)
            if anchor is None:
                if not self.fallback:
                    self.unmapped.append((path, lineno, title))
                    return None
                self.mapped.append((path, lineno, title, "s15 (fallback)"))
                if md:
                    return f"[docs/math.md{sp}§15: {title}]({rel}#s15)", end
                return f"docs/math.md{sp}§15 ({title})", end
            self.mapped.append((path, lineno, title, anchor))
            if md:
                return f"[docs/math.md{sp}§{title}]({rel}#{anchor})", end
            return f"docs/math.md#{anchor}", end
        # Bare mention.
        if md:
            return f"[docs/math.md]({rel})", m.end("path")
        return "docs/math.md", m.end("path")


def scope_files(include_results):
    files = [f for f in SCOPE_FILES if os.path.isfile(f)]
    roots = [(d, SCOPE_EXT) for d in SCOPE_DIRS]
    if include_results:
        roots.append(("results", RESULTS_EXT))
    for d, exts in roots:
        for root, dirs, names in os.walk(d):
            dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS)
            for name in sorted(names):
                if name.endswith(exts):
                    files.append(os.path.join(root, name))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="write nothing, show the changes")
    ap.add_argument("--include-results", action="store_true",
                    help="also rewrite recorded outputs under results/")
    ap.add_argument("--fallback-s15", action="store_true",
                    help="point symbolic citations without an anchor at §15")
    args = ap.parse_args()

    if not os.path.isfile(DOC):
        sys.exit(f"run from the repository root ({DOC} not found)")
    anchors = set(ANCHOR.findall(open(DOC, encoding="utf-8").read()))
    rw = Rewriter(anchors, args.fallback_s15)

    changed = {}
    remaining = []
    for f in scope_files(args.include_results):
        try:
            text = open(f, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        if "MATH.md" not in text:
            continue
        new, n = rw.rewrite_text(text, f, f.endswith(".md"))
        if n:
            changed[f] = n
            if args.dry_run:
                old_l, new_l = text.splitlines(), new.splitlines()
                for i, (a, b) in enumerate(zip(old_l, new_l), 1):
                    if a != b:
                        print(f"{f}:{i}:\n  - {a.strip()}\n  + {b.strip()}")
            else:
                with open(f, "w", encoding="utf-8") as fh:
                    fh.write(new)
        for i, l in enumerate(new.splitlines(), 1):
            if "MATH.md" in l:
                remaining.append(f"{f}:{i}: {l.strip()}")

    verb = "would rewrite" if args.dry_run else "rewrote"
    total = sum(changed.values())
    print(f"{verb} {total} citation(s) in {len(changed)} file(s)")
    for f, n in sorted(changed.items()):
        print(f"  {n:3d}  {f}")
    if rw.refined:
        print(f"pointed at a more specific section: {len(rw.refined)}")
        for f, a, b in rw.refined:
            print(f"  {f}: {a} -> {b}")
    if rw.mapped:
        print(f"symbolic citations mapped: {len(rw.mapped)}")
        for f, i, t, a in rw.mapped:
            print(f"  {f}:{i}: §{t} -> #{a}")
    if rw.unmapped:
        print(f"symbolic citations without an anchor in {DOC} (left as they are): {len(rw.unmapped)}")
        for f, i, t in rw.unmapped:
            print(f"  {f}:{i}: §{t}  (slug '{slug(t)}')")
    if not args.include_results and os.path.isdir("results"):
        rec = []
        for root, dirs, names in os.walk("results"):
            for name in names:
                p = os.path.join(root, name)
                try:
                    if "MATH.md" in open(p, encoding="utf-8").read():
                        rec.append(p)
                except (UnicodeDecodeError, OSError):
                    pass
        if rec:
            print(f"recorded outputs under results/ that still mention MATH.md (not rewritten; "
                  f"--include-results to rewrite, or regenerate them): {', '.join(sorted(rec))}")
    if rw.missing:
        print(f"WARNING: cited sections that {DOC} does not have: "
              f"{', '.join(sorted(set(rw.missing)))}")
    if remaining:
        print(f"MATH.md still cited in the scope: {len(remaining)}")
        for r in remaining:
            print("  " + r)
        return 1
    print("no MATH.md citation remains in the scope")
    return 0


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    sys.exit(main())
