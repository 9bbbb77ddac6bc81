#!/usr/bin/env bash
# Cross-check of the certified accountants on random and extreme inputs (see README.md).
# bash experiments/cross-check/run.sh [BIN]   (default: target/release/ewtune, built first)
set -euo pipefail
cd "$(dirname "$0")"
root=../..
bin=${1:-$root/target/release/ewtune}
if [ -z "${1:-}" ]; then (cd "$root" && cargo build --release --quiet); fi
out=$root/results/cross-check
mkdir -p "$out"
uptime > "$out"/conditions.txt
"$bin" --version >> "$out"/conditions.txt
nproc >> "$out"/conditions.txt
# 600 random compare queries (25% extreme parameters), then 400 (70% extreme, half with
# the Edgeworth --bracket).
python3 random_compare.py "$bin" 1 600 "$out"/random-seed1.jsonl 0.25 0.0
python3 random_compare.py "$bin" 2 400 "$out"/random-seed2.jsonl 0.7 0.5
# The extreme grid of the saddle-point accountant (the full grid of all six accountants takes
# about an hour on 2 cores: python3 extreme_grid.py "$bin" "$out"/extreme-all.jsonl).
python3 extreme_grid.py "$bin" "$out"/extreme-saddlepoint.jsonl saddlepoint
uptime >> "$out"/conditions.txt
python3 summarize.py "$out"/random-seed1.jsonl "$out"/random-seed2.jsonl \
  "$out"/extreme-saddlepoint.jsonl | tee "$out"/summary.txt
