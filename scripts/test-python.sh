#!/usr/bin/env bash
# The Python package's tests (python/tests): a virtual environment (.venv, git-ignored) with
# maturin, dp-accounting and pytest from PyPI, the package built and installed from ./python
# (reusing the repository's target/ and the GMP/MPFR build cache in ~/.cache, so only the
# bindings compile), and pytest. The tests compare values with the Rust CLI, which is built
# here if it is missing or stale (a no-op after `cargo build --release`/`cargo test --release`).
# Opacus needs torch and is not installed: its protocol is tested against a stand-in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --bin ewtune
venv="${EWTUNE_VENV:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
export PATH="$(cd "$venv" && pwd)/bin:$PATH"  # maturin for the no-isolation build
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet maturin==1.16.0 dp-accounting==0.6.0 absl-py==2.5.1 pytest==9.2.0
# --no-build-isolation: build with the maturin just installed (no second download).
"${pip[@]}" install --quiet --no-build-isolation --force-reinstall --no-deps ./python
EWTUNE_BIN="$CARGO_TARGET_DIR/release/ewtune" "$venv/bin/python" -m pytest python/tests -q -rs "$@"
