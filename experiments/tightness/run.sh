#!/usr/bin/env bash
# The one command: bash experiments/tightness/run.sh (from the repository root).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
B=target/release/ewtune
$B sweep --config experiments/tightness/config.toml "$@"
python3 experiments/tightness/summarize.py results/tightness/tightness.csv results/tightness/summary.md
for m in 100 1000 10000; do
  $B plot --csv results/tightness/tightness.csv --x sigma --y epsilon --log-y --panel-by grid \
    --where steps=$m --out results/tightness/epsilon-vs-sigma-steps$m \
    --title "epsilon vs sigma, $m steps, delta 1e-5"
done
