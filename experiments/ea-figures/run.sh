#!/usr/bin/env bash
# The one command: bash experiments/ea-figures/run.sh (from the repository root).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
B=target/release/ewtune
$B sweep --config experiments/ea-figures/config.toml "$@"
$B plot --csv results/ea-figures/ea-figures.csv --x steps --y epsilon --panel-by grid \
  --out results/ea-figures/epsilon-vs-steps --title "epsilon vs steps (EA paper settings)"
