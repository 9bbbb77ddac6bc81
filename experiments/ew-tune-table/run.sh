#!/usr/bin/env bash
# The one command: bash experiments/ew-tune-table/run.sh (from the repository root).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
B=target/release/ewtune
$B sweep --config experiments/ew-tune-table/config.toml "$@"
python3 experiments/ew-tune-table/verdict.py results/ew-tune-table/ew-tune-table.csv results/ew-tune-table/verdict.md
bash experiments/ew-tune-table/plot.sh
