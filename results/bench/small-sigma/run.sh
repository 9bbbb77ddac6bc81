#!/usr/bin/env bash
# Wall time and exit code of small-sigma queries (refusals and answers), one run each, for one
# or two ewtune binaries in the same session: bash results/bench/small-sigma/run.sh NEW [OLD].
# Writes results/bench/small-sigma/times.csv (binary,label,accountant,exit,seconds,max_rss_kb).
set -euo pipefail
cd "$(dirname "$0")"
bins=("$@")
queries=(
  "saddlepoint|--sigma 1e-3 --sampling-rate 0.5 --steps 10 --delta 1e-5"
  "saddlepoint|--sigma 1e-4 --sampling-rate 0.5 --steps 10 --delta 1e-5"
  "saddlepoint|--sigma 0.0019812 --sampling-rate 0.0022445 --steps 5408 --delta 6.24e-09"
  "saddlepoint|--sigma 0.0015329 --sampling-rate 0.018041 --steps 5 --delta 7.53e-12"
  "saddlepoint|--sigma 0.573 --sampling-rate 0.0050929 --steps 3920 --delta 1e-6"
  "contour|--sigma 0.003 --sampling-rate 0.01 --steps 100 --delta 1e-5"
  "contour|--sigma 0.01 --sampling-rate 0.01 --steps 100 --delta 1e-5"
)
echo "binary,query,accountant,exit,seconds,max_rss_kb" > times.csv
for b in "${bins[@]}"; do
  for q in "${queries[@]}"; do
    acc="${q%%|*}"; args="${q#*|}"
    set +e
    /usr/bin/time -f "%e %M" -o /tmp/small-sigma-time "$b" epsilon $args --accountant "$acc" >/dev/null 2>&1
    rc=$?
    set -e
    read -r secs rss < <(tail -1 /tmp/small-sigma-time)
    echo "$(basename "$b"),\"$args\",$acc,$rc,$secs,$rss" >> times.csv
  done
done
cat times.csv
