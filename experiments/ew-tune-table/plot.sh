#!/usr/bin/env bash
# The figures alone, from the committed CSV (no recalibration): for each task and delta, the
# true epsilon (contour) reached at each method's calibrated sigma against the target epsilon,
# with the line y = x; a method above the line violates its target.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
B=target/release/ewtune
for d in 1e-5 1e-6; do
  $B plot --csv results/ew-tune-table/ew-tune-table.csv --x target_epsilon --y truth_epsilon \
    --linear-x --series-by method --panel-by grid --where delta=$d --diagonal --no-bands \
    --width 1200 --height 750 --out results/ew-tune-table/true-epsilon-delta-$d \
    --title "true epsilon (contour) at the calibrated sigma, delta = $d"
done
