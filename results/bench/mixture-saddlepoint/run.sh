#!/usr/bin/env bash
# The saddle point on Gaussian-mixture pairs and truncated Poisson sampling (docs/math.md §17.12)
# beside the contour and pld on the same queries, one whole-process run each, one binary:
#   bash results/bench/mixture-saddlepoint/run.sh target/release/ewtune
# Writes results/bench/mixture-saddlepoint/times.csv
# (query,accountant,exit,seconds,max_rss_kb,lower,upper), the load average before and after in
# conditions.txt.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
cd "$(dirname "$0")"
mog="--mechanism mixture-of-gaussians --sensitivities 0,1,2 --probabilities 0.6,0.3,0.1"
tp="--mechanism gaussian --sampling truncated-poisson --dataset-size 60000 --sampling-rate 0.004266666666666667 --max-batch-size 270"
queries=(
  "$mog --sigma 1 --steps 100 --delta 1e-5"
  "$mog --sigma 1 --steps 10000 --delta 1e-5"
  "$mog --sigma 0.3 --steps 10 --delta 1e-5"
  "$mog --sigma 0.03 --steps 10 --delta 1e-5"
  "--sigma 1 --sampling-rate 0.01 --steps 1000 --adjacency replace-one --delta 1e-5"
  "$tp --sigma 1 --steps 1000 --delta 1e-5"
  "$tp --sigma 1 --steps 1000 --adjacency replace-one --delta 1e-5"
)
{ echo "date: $(date -u)"; echo "machine: $(nproc) cores, $(uname -m)"; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > conditions.txt
echo "query,accountant,exit,seconds,max_rss_kb,lower,upper" > times.csv
for q in "${queries[@]}"; do
  for acc in saddlepoint contour pld; do
    set +e
    out=$(/usr/bin/time -f "%e %M" -o /tmp/mix-sp-time "$bin" epsilon $q --accountant "$acc" --format json 2>/dev/null)
    rc=$?
    set -e
    read -r secs rss < <(tail -1 /tmp/mix-sp-time)
    lo=$(printf '%s' "$out" | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("lower"))
except Exception: print("")')
    hi=$(printf '%s' "$out" | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("upper"))
except Exception: print("")')
    echo "\"$q\",$acc,$rc,$secs,$rss,$lo,$hi" >> times.csv
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> conditions.txt
cat conditions.txt times.csv
