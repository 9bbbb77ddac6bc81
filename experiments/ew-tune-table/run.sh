#!/usr/bin/env bash
# The one command: bash experiments/ew-tune-table/run.sh (from the repository root).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
B=target/release/ewtune
$B sweep --config experiments/ew-tune-table/config.toml "$@"
python3 experiments/ew-tune-table/verdict.py results/ew-tune-table/ew-tune-table.csv results/ew-tune-table/verdict.md
$B plot --csv results/ew-tune-table/ew-tune-table.csv --x target_epsilon --y sigma --linear-x \
  --series-by method,delta --panel-by grid --out results/ew-tune-table/sigma-vs-target \
  --title "calibrated sigma vs target epsilon"
