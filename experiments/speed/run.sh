#!/usr/bin/env bash
# The one command: bash experiments/speed/run.sh (from the repository root).
# Single-threaded so that timings are per core; the CSVs are rewritten from scratch (timings
# are not resumable data).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
B=target/release/ewtune
rm -f results/speed/speed.csv results/speed/speed.json results/speed/speed-calibrate.csv results/speed/speed-calibrate.json
$B sweep --config experiments/speed/config.toml --threads 1 --out-dir results/speed --quiet
$B sweep --config experiments/speed/calibrate.toml --threads 1 --out-dir results/speed --quiet
$B plot --csv results/speed/speed.csv --x steps --y time_seconds --log-y --panel-by grid \
  --out results/speed/epsilon-time-vs-steps --title "seconds per epsilon(delta), cold"
$B plot --csv results/speed/speed.csv --x steps --y warm_time_seconds --log-y --panel-by grid \
  --out results/speed/epsilon-warm-time-vs-steps --title "seconds per epsilon(delta), composed"
$B plot --csv results/speed/speed-calibrate.csv --x steps --y time_seconds --log-y \
  --out results/speed/calibrate-time-vs-steps --title "seconds per sigma calibration (rel. tol 1e-4)"
PY=${PYTHON:-python3}
# Peers in-process, side by side with ewtune's Python package in one process (needs
# `pip install dp-accounting==0.6.0 prv-accountant==0.2.0` and `pip install ./python`;
# missing ones are skipped). Conditions (load, thread variables) go into the CSV's first line.
if "$PY" -c "import dp_accounting" 2>/dev/null; then
  "$PY" experiments/speed/python_inprocess.py --part grid --budget 20
else
  echo "dp_accounting not installed: skipping experiments/speed/python_inprocess.py"
fi
