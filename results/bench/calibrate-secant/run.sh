#!/bin/bash
# usage: run.sh OLD NEW QUERIES OUT : each query once with OLD then NEW, JSON out, 150 s cut
tmp=$(mktemp -d)
while read -r q; do
  for b in "$1" "$2"; do
    s=$(date +%s.%N)
    timeout 150 $b $q --format json > $tmp/ab.json 2>$tmp/ab.err; rc=$?
    e=$(date +%s.%N)
    ev=$(python3 -c "
import json
try:
  d=json.load(open('$tmp/ab.json')); k=[x for x in ('sigma','scale','parameter','noise_parameter','steps','sampling_rate') if x in d]
  print(d.get('evaluations'), d.get(d.get('solve') or '', None) if False else '', [d.get(x) for x in k][:1], d.get('epsilon'))
except Exception as ex: print('-')
")
    printf "%s\t%s\t%.2f\t%s\t%s\n" "$(basename $b)" "$rc" "$(echo "$e-$s"|bc)" "$ev" "${q:0:140}"
  done
done < $3 > $4
