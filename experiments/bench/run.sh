#!/usr/bin/env bash
# Run the criterion benchmarks and copy the estimates to results/bench/summary.csv.
# Usage (repository root): bash experiments/bench/run.sh [criterion filter, e.g. targets]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --bench accountants -- "$@"
python3 experiments/bench/summarize.py target/criterion results/bench/summary.csv
