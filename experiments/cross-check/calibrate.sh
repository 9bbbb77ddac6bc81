#!/usr/bin/env bash
# Cross-check of `ewtune calibrate` on random targets (see README.md, "Calibrations").
# bash experiments/cross-check/calibrate.sh [BIN]   (default: target/release/ewtune, built first)
set -euo pipefail
cd "$(dirname "$0")"
root=../..
bin=${1:-$root/target/release/ewtune}
if [ -z "${1:-}" ]; then (cd "$root" && cargo build --release --quiet); fi
out=$root/results/cross-check
mkdir -p "$out"
uptime > "$out"/calibrate-conditions.txt
"$bin" --version >> "$out"/calibrate-conditions.txt
nproc >> "$out"/calibrate-conditions.txt
# 300 random calibrations (25% extreme parameters), then 200 (70% extreme); each certified
# answer re-checked by every other certified accountant at the calibrated value.
rm -f "$out"/calibrate-seed1.jsonl "$out"/calibrate-seed2.jsonl
python3 random_calibrate.py "$bin" 1 300 "$out"/calibrate-seed1.jsonl 0.25
python3 random_calibrate.py "$bin" 2 200 "$out"/calibrate-seed2.jsonl 0.7
uptime >> "$out"/calibrate-conditions.txt
python3 summarize.py "$out"/calibrate-seed1.jsonl "$out"/calibrate-seed2.jsonl \
  | tee "$out"/calibrate-summary.txt
