#!/usr/bin/env bash
# The accounting library stands alone (issue #13): without the default `cli` feature it builds
# and its normal dependency tree holds none of the application's crates (CLI, plots, progress
# bars, TOML, anyhow, the harness's candle/cudarc/tokenizers).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib --no-default-features
app_crates='^(clap|clap_builder|clap_derive|plotters|indicatif|dejavu|toml|anyhow|candle-core|candle-nn|cudarc|tokenizers|sha2) '
if cargo tree -e normal --no-default-features --prefix none | grep -E "$app_crates"; then
  echo "check-library.sh: the library without default features depends on the crates above" >&2
  exit 1
fi
echo "check-library.sh: the library builds without default features and pulls no application crate"
# No function in src/ over 150 lines (issue #13); the script lists any and exits 1.
python3 scripts/fn_lengths.py src 150
