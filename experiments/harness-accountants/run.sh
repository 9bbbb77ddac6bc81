#!/usr/bin/env bash
# The harness-accountants experiment: for one privacy target (epsilon, delta), sigma is
# calibrated by each accountant, then DP-SGD is run with the same seeds (same Poisson batches,
# same initialisation, same noise draws up to the scale) for every accountant -- paired seeds.
#
#   bash scripts/fetch-data.sh
#   cargo build --release --features encoder
#   bash experiments/harness-accountants/run.sh            # SEEDS=20 by default
#
# Environment: SEEDS (number of paired seeds), ACCOUNTANTS (space-separated NAME:ORDER list;
# default the Edgeworth orders 0-3 -- add e.g. "pld:1 rdp:1" when those accountants exist),
# EPSILON, DELTA, BIN, BACKEND (cpu|auto).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/ewtune}
SEEDS=${SEEDS:-20}
ACCOUNTANTS=${ACCOUNTANTS:-"edgeworth:0 edgeworth:1 edgeworth:2 edgeworth:3 saddlepoint:1 contour:1 pld:1 rdp:1 gdp:1"}
EPSILON=${EPSILON:-1.0}
DELTA=${DELTA:-1e-5}
BACKEND=${BACKEND:-cpu}
CFG=experiments/harness-accountants/config.toml
OUT=results/harness-accountants
mkdir -p "$OUT/runs"
start=$(date +%s)
for ((s = 0; s < SEEDS; s++)); do
  for spec in $ACCOUNTANTS; do
    name=${spec%%:*}; order=${spec##*:}
    dir="$OUT/runs/$name-$order/seed-$s"
    mkdir -p "$(dirname "$dir")"
    if [ -f "$dir/report.json" ]; then continue; fi
    "$BIN" train --config "$CFG" --backend "$BACKEND" --quiet --seed "$s" \
      --accountant "$name" --order "$order" --target-epsilon "$EPSILON" --delta "$DELTA" \
      --out "$dir" > "$dir.txt" 2>&1 || { cat "$dir.txt" >&2; exit 1; }
    echo "$spec seed $s: $(grep 'test accuracy' "$dir.txt")" >&2
  done
done
end=$(date +%s)
python3 experiments/harness-accountants/summarise.py "$OUT" \
  --command "SEEDS=$SEEDS ACCOUNTANTS='$ACCOUNTANTS' EPSILON=$EPSILON DELTA=$DELTA bash experiments/harness-accountants/run.sh" \
  --seconds $((end - start)) --version "$("$BIN" --version)"
