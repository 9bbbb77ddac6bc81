#!/usr/bin/env bash
# Opacus with ewtune's contour accountant versus Opacus's own prv and rdp (outside CI).
# Installs torch (PyPI wheel), opacus, scikit-learn and matplotlib into a venv under ~/.cache
# (large download: torch), the ewtune package from ./python, then trains.
# Outputs: results/python/opacus/{runs.csv,summary.json,accuracy.png}.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
venv="${OPACUS_VENV:-$HOME/.cache/ewtune-opacus-venv}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet maturin==1.16.0 torch opacus scikit-learn matplotlib
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
PATH="$venv/bin:$PATH" "${pip[@]}" install --quiet --no-build-isolation --force-reinstall --no-deps ./python
"$venv/bin/python" experiments/opacus/train.py --out results/python/opacus "$@"
