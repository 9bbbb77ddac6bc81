#!/usr/bin/env bash
# σ needed for DP-SGD at a fixed privacy target under three sampling schemes (issue #15),
# certified by the PLD accountant's calibration (the σ is certified to give ε ≤ target).
# Setting: n = 50 000, batch 256 (q = γ = 256/50000 = 0.00512), 10 epochs = 1953 steps,
# δ = 1e-5, ε ∈ {3, 8}. Clipping norm 1 (replace-one sensitivity 2).
#   poisson,add-remove   : the subsampled Gaussian, add/remove (both orderings).
#   poisson,replace-one  : the replace-one Gaussian-mixture pair (docs/math.md §17.1).
#   fixed-size,replace-one: the tight pair of docs/math.md §17.6 = the add/remove subsampled
#                          Gaussian at σ/2 and γ, so σ = 2 × (the add/remove calibration).
# Run from the repository root after `cargo build --release`:
#   experiments/sampling/run.sh > results/sampling/sigma.csv
set -euo pipefail
B=${EWTUNE:-target/release/ewtune}
Q=0.00512
STEPS=1953
sigma() { # target adjacency
  "$B" calibrate --target-epsilon "$1" --delta 1e-5 --sampling-rate $Q --steps $STEPS \
    --solve sigma --accountant pld --adjacency "$2" --format json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["sigma"])'
}
echo "target_epsilon,delta,sampling,adjacency,dataset_size,batch_size,steps,sigma"
for eps in 3 8; do
  ar=$(sigma $eps add-remove)
  ro=$(sigma $eps replace-one)
  wor=$(python3 -c "print(2*$ar)")
  echo "$eps,1e-5,poisson,add-remove,50000,256,$STEPS,$ar"
  echo "$eps,1e-5,poisson,replace-one,50000,256,$STEPS,$ro"
  echo "$eps,1e-5,fixed-size,replace-one,50000,256,$STEPS,$wor"
done
