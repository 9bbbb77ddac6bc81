#!/usr/bin/env bash
# Wall time, exit code and answer of the queries in queries.txt (from the randomised campaign of
# session 18 and the small-sigma class), one run each, for one or two ewtune binaries in the
# same session: bash results/bench/slow-queries/run.sh NEW [OLD]. Each query is cut at 60 s
# (exit 124). Writes results/bench/slow-queries/times.csv
# (binary,query,exit,seconds,epsilon,delta).
set -euo pipefail
cd "$(dirname "$0")"
echo "binary,query,exit,seconds,epsilon,delta" > times.csv
i=0
while read -r q; do
  i=$((i + 1))
  for b in "$@"; do
    s=$(date +%s.%N)
    set +e
    timeout 60 "$b" $q --format json > out.json 2> /dev/null
    rc=$?
    set -e
    e=$(date +%s.%N)
    eps=$(grep -o '"epsilon":[^,]*' out.json | head -1 | cut -d: -f2 || true)
    del=$(grep -o '"delta":[^,]*' out.json | head -1 | cut -d: -f2 || true)
    printf "%s,%s,%s,%.2f,%s,%s\n" "$(basename "$b")" "$i" "$rc" "$(echo "$e - $s" | bc)" "$eps" "$del" >> times.csv
  done
done < queries.txt
rm -f out.json
