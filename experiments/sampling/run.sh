#!/usr/bin/env bash
# σ needed for DP-SGD at a fixed privacy target under several sampling schemes (issue #15),
# certified: every σ is the contour accountant's calibration of its certified upper end (ε ≤ target).
# Setting: n = 50 000, batch 256 (q = γ = 256/50000 = 0.00512), 10 epochs = 1953 steps,
# δ = 1e-5, ε ∈ {1, 2, 3, 4, 6, 8}. Clipping norm 1 (replace-one sensitivity 2).
#
# Run from the repository root after `cargo build --release`:
#   experiments/sampling/run.sh            # writes results/sampling/sigma.csv, the figure
#                                          # results/sampling/sigma_vs_epsilon.{png,svg}
#                                          # (every scheme, the `valid=false` lower bound too)
#                                          # and results/sampling/metadata.json
#
# Schemes: one function per scheme, `scheme_<name> EPS` printing σ, and one row in SCHEMES
# ("name sampling adjacency valid"). To add a scheme, write its function and append its row;
# nothing else changes.
set -euo pipefail
B=${EWTUNE:-target/release/ewtune}
OUT=${OUT:-results/sampling}
N=50000
BATCH=256
Q=0.00512
STEPS=1953
DELTA=1e-5
TARGETS="1 2 3 4 6 8"

json_sigma() { python3 -c 'import json,sys; print(json.load(sys.stdin)["sigma"])'; }

# The Poisson-subsampled Gaussian, add/remove (both orderings).
scheme_poisson_add_remove() {
  "$B" calibrate --target-epsilon "$1" --delta $DELTA --sampling-rate $Q --steps $STEPS \
    --solve sigma --accountant contour --adjacency add-remove --format json | json_sigma
}
# The Poisson-subsampled Gaussian, replace-one (the mixture pair of docs/math.md §17.1).
scheme_poisson_replace_one() {
  "$B" calibrate --target-epsilon "$1" --delta $DELTA --sampling-rate $Q --steps $STEPS \
    --solve sigma --accountant contour --adjacency replace-one --format json | json_sigma
}
# Fixed-size batches (b of n without replacement), replace-one: the symmetrised pair of
# docs/math.md §17.7, valid under adaptive composition.
scheme_fixed_size_replace_one() {
  "$B" calibrate --target-epsilon "$1" --delta $DELTA --sampling without-replacement \
    --dataset-size $N --batch-size $BATCH --steps $STEPS \
    --solve sigma --accountant contour --adjacency replace-one --format json | json_sigma
}
# Fixed-size batches, the max over the two composed orderings of the add/remove subsampled
# Gaussian at σ/2 (σ = 2 × the add/remove calibration): attained by a real pair of datasets,
# hence a LOWER bound on the σ needed; NOT valid under adaptive composition (docs/math.md §17.6).
scheme_fixed_size_max_orderings_invalid() {
  python3 -c "print(2*$(scheme_poisson_add_remove "$1"))"
}

# Truncated Poisson (dp_accounting's TruncatedSubsampledGaussianDpEvent): Poisson at rate q, batches
# cut to at most 304 = n·q + 3 sd records; the weighted disjoint union of docs/math.md §17.8.
scheme_truncated_poisson_add_remove() {
  "$B" calibrate --target-epsilon "$1" --delta $DELTA --sampling truncated-poisson \
    --dataset-size $N --sampling-rate $Q --max-batch-size 304 --steps $STEPS \
    --solve sigma --accountant contour --adjacency add-remove --format json | json_sigma
}

SCHEMES=(
  "poisson_add_remove poisson add-remove true"
  "poisson_replace_one poisson replace-one true"
  "fixed_size_replace_one fixed-size replace-one true"
  "fixed_size_max_orderings_invalid fixed-size replace-one false"
  "truncated_poisson_add_remove truncated-poisson add-remove true"
)

mkdir -p "$OUT"
start=$(date +%s)
{
  echo "scheme,sampling,adjacency,valid,target_epsilon,delta,dataset_size,batch_size,steps,sigma"
  for row in "${SCHEMES[@]}"; do
    read -r name sampling adjacency valid <<<"$row"
    for eps in $TARGETS; do
      s=$("scheme_$name" "$eps")
      echo "$name,$sampling,$adjacency,$valid,$eps,$DELTA,$N,$BATCH,$STEPS,$s"
    done
  done
} >"$OUT/sigma.csv"
"$B" plot --csv "$OUT/sigma.csv" --x target_epsilon --y sigma --series-by scheme \
  --linear-x --no-bands --out "$OUT/sigma_vs_epsilon" \
  --title "sigma needed, $STEPS steps"
end=$(date +%s)
cat >"$OUT/metadata.json" <<META
{"version": "$("$B" --version | tr -d '\n')", "command": "experiments/sampling/run.sh",
 "config": {"dataset_size": $N, "batch_size": $BATCH, "sampling_rate": $Q, "steps": $STEPS,
            "delta": $DELTA, "targets": "$TARGETS", "accountant": "contour (certified calibration)"},
 "wall_seconds": $((end - start))}
META
