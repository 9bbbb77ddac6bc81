#!/usr/bin/env bash
# Back-to-back wall times of two ewtune binaries on the queries in $3 (one per line), each
# cut at 300 s (exit 124). Prints: label, exit code, seconds, the answer's key numbers, query.
# Usage: bash run.sh OLD_BINARY NEW_BINARY queries.txt > times.tsv
set -u
old=$1 new=$2 queries=$3
echo "# $(date -u) $(uptime)"
echo "# $(nproc) cores; OLD = $old, NEW = $new"
while IFS= read -r q; do
  for label in old new; do
    bin=$old; [ "$label" = new ] && bin=$new
    start=$(date +%s.%N)
    out=$(timeout 300 "$bin" $q --format json 2>/dev/null); rc=$?
    end=$(date +%s.%N)
    key=$(printf '%s' "$out" | python3 -c 'import json,sys
try:
    d=json.load(sys.stdin)
except Exception:
    print("-"); sys.exit()
v=[d.get(k) for k in ("lower","upper","epsilon","sigma","scale","evaluations") if d.get(k) is not None]
print(" ".join(str(x) for x in v))')
    printf '%s\t%s\t%.2f\t%s\t%s\n' "$label" "$rc" "$(echo "$end - $start" | bc)" "$key" "$q"
  done
done < "$queries"
echo "# end $(date -u) $(uptime)"
