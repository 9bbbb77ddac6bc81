#!/bin/bash
# usage: bench2.sh BIN_BEFORE BIN_AFTER ; per query: mech steps query | before: time rc answer | after: time rc answer
B=$1; A=$2; TO=${TO:-60}
mechs=(
 "rr p=0.2 k=10|--mechanism randomized-response --noise-parameter 0.2 --buckets 10 --adjacency replace-one"
 "rr p=0.5 k=4|--mechanism randomized-response --noise-parameter 0.5 --buckets 4 --adjacency replace-one"
 "dlap a=0.3 d=2|--mechanism discrete-laplace --parameter 0.3 --sensitivity 2 --adjacency add-remove"
 "dgauss s=2 d=1|--mechanism discrete-gaussian --sigma 2 --sensitivity 1 --adjacency add-remove"
)
run() { # bin query args
  local s e out rc
  s=$(date +%s.%N); out=$(timeout $TO $1 $2 $3 --accountant contour 2>&1); rc=$?; e=$(date +%s.%N)
  local br=$(echo "$out" | grep -E "^bracket" | sed 's/bracket *//')
  [ -z "$br" ] && br=$(echo "$out" | grep -E "error" | cut -c1-90)
  printf "%.3f s | %s | %s" "$(echo "$e - $s" | bc)" "$rc" "$br"
}
for m in "${mechs[@]}"; do
 name=${m%%|*}; args=${m#*|}
 for n in 1000 10000 100000 1000000 10000000; do
  x=$($A epsilon --delta 1e-5 $args --steps $n --accountant contour 2>/dev/null | grep "^bracket" | sed 's/.*, *\(.*\)\]/\1/')
  for q in "epsilon --delta 1e-5" "epsilon --delta 1e-300" "delta --epsilon 2" "delta --epsilon $x"; do
   echo "| $name | $n | \`$q\` | $(run $B "$q" "$args --steps $n") | $(run $A "$q" "$args --steps $n") |"
  done
 done
done
