#!/usr/bin/env bash
# Side-by-side CLI wall times (issue #12 item 15): OLD and NEW ewtune binaries, alternating runs,
# whole process (the CLI's own "seconds" field and /usr/bin/time wall), one line per run.
# Usage: bash results/speed/side_by_side.sh OLD_BINARY NEW_BINARY [RUNS] > results/speed/side_by_side.csv
set -euo pipefail
OLD=$1; NEW=$2; RUNS=${3:-5}
MNLI="--mechanism subsampled-gaussian --sigma 0.7 --sampling-rate 0.005092920 --steps 3920 --delta 1e-5"
S2_08="--mechanism subsampled-gaussian --sigma 0.8 --sampling-rate 5e-4 --steps 200 --delta 1e-5"
S2_1="--mechanism subsampled-gaussian --sigma 1 --sampling-rate 5e-4 --steps 200 --delta 1e-5"
echo "# load before: $(uptime | sed 's/.*load average: //')"
echo "case,binary,run,cli_seconds,wall_seconds,lower,upper"
for run in $(seq 1 "$RUNS"); do
  for case in "saddlepoint_MNLI|$MNLI --accountant saddlepoint" "contour_MNLI|$MNLI --accountant contour" \
              "contour_S2_sigma0.8|$S2_08 --accountant contour" "contour_S2_sigma1|$S2_1 --accountant contour"; do
    name=${case%%|*}; args=${case#*|}
    for which in old new; do
      bin=$OLD; [ "$which" = new ] && bin=$NEW
      t0=$(date +%s.%N)
      out=$($bin epsilon $args --format json)
      t1=$(date +%s.%N)
      echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print('$name,$which,$run,%s,%.4f,%r,%r' % (d['seconds'], $t1-$t0, d.get('lower'), d.get('upper')))"
    done
  done
done
echo "# load after: $(uptime | sed 's/.*load average: //')"
