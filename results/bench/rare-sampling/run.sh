#!/usr/bin/env bash
# The contour on rarely sampled long compositions (docs/math.md §10.9.2), before and after the
# changes there, with pld beside it; one whole-process run each:
#   bash results/bench/rare-sampling/run.sh NEW_BINARY [OLD_BINARY]
# Writes results/bench/rare-sampling/times.csv
# (binary,query,accountant,exit,seconds,max_rss_kb,lower,upper) and conditions.txt (load).
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
bins=("$(abs "$1")")
if [ $# -ge 2 ]; then bins+=("$(abs "$2")"); fi
cd "$(dirname "$0")"
queries=(
  "--sigma 1 --sampling-rate 1e-4 --steps 1000 --adjacency remove --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-4 --steps 10000 --adjacency remove --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-4 --steps 100000 --adjacency remove --delta 1e-5"
  "--sigma 2 --sampling-rate 1e-4 --steps 10000 --adjacency remove --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-5 --steps 100000 --adjacency remove --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-4 --steps 1000 --adjacency replace-one --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-4 --steps 10000 --adjacency replace-one --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-4 --steps 100 --adjacency remove --delta 1e-5"
  "--sigma 1 --sampling-rate 1e-5 --steps 1000 --adjacency remove --delta 1e-5"
)
{ echo "date: $(date -u)"; echo "machine: $(nproc) cores, $(uname -m)"; echo "binaries: ${bins[*]}"; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > conditions.txt
echo "binary,query,accountant,exit,seconds,max_rss_kb,lower,upper" > times.csv
field() { python3 -c 'import json,sys
try: print(json.load(sys.stdin).get(sys.argv[1]))
except Exception: print("")' "$1"; }
for q in "${queries[@]}"; do
  for b in "${bins[@]}"; do
    for acc in contour pld; do
      set +e
      out=$(/usr/bin/time -f "%e %M" -o /tmp/rare-time "$b" epsilon $q --accountant "$acc" --format json 2>/dev/null)
      rc=$?
      set -e
      read -r secs rss < <(tail -1 /tmp/rare-time)
      lo=$(printf '%s' "$out" | field lower)
      hi=$(printf '%s' "$out" | field upper)
      echo "$(basename "$b"),\"$q\",$acc,$rc,$secs,$rss,$lo,$hi" >> times.csv
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> conditions.txt
