#!/usr/bin/env bash
# GPU check for the DP-SGD harness. Builds NOTHING on the GPU machine: carry a binary built
# elsewhere with
#     cargo build --release --features cuda     (GMP/MPFR are linked statically)
#     cp target/release/ewtune /tmp/ewtune-cuda && strip /tmp/ewtune-cuda   (debug info: 90 MB -> ~10 MB)
# then on the GPU machine run
#     bash scripts/gpu-check.sh [path/to/ewtune]  [out-dir]
# It (1) prints the driver/GPU, (2) runs `ewtune harness-check`: CPU-vs-CUDA parity of the
# parameters after K private steps (linear/SGD and MLP/Adam; pass = max |Δθ|/(1+|θ|) <= 1e-5)
# and the step time of a private step (ghost norms + clipping + Philox noise) against a
# non-private step (sigma = 0, C = inf) for expected batches 256/1024/4096 (CUDA and CPU), the
# same parity with the committed PTX instead of NVRTC (EWTUNE_CUDA_KERNELS=ptx), and (3) a 30-step
# `ewtune train --backend cuda` smoke run. Budget: well under 5 minutes on an H100/H200.
# Results: $OUT/harness-gpu.json (commit under results/harness-gpu/ with the machine noted).
set -euo pipefail
BIN=${1:-target/release/ewtune}
OUT=${2:-results/harness-gpu}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "gpu-check: $BIN not found or not executable (build with --features cuda and carry it)" >&2; exit 1; }
# Optional NVRTC from the PyPI wheel if the machine has no CUDA toolkit on the library path.
# Searched: the wheel unpacked under /tmp/nvrtc, the CUDA toolkit, and the nvidia-cuda-nvrtc wheel
# of a Python environment (PyTorch's images ship one).
for d in /tmp/nvrtc/nvidia/cuda_nvrtc/lib /usr/local/cuda/lib64 \
         /usr/local/lib/python3*/dist-packages/nvidia/cu13/lib \
         /opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib \
         /opt/*/.venv/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib; do
  [ -d "$d" ] && ls "$d"/libnvrtc.so* >/dev/null 2>&1 && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: unavailable"
  nproc | sed 's/^/cpu cores: /'
  echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
  "$BIN" --version
} | tee "$OUT/machine.txt"
timeout 240 "$BIN" harness-check --parity-steps 50 --timed-steps 30 --batch 256,1024,4096 --cpu \
  --out "$OUT/harness-gpu.json" > /dev/null
# The committed-PTX fallback on the same device (as used where NVRTC is missing).
EWTUNE_CUDA_KERNELS=ptx timeout 120 "$BIN" harness-check --parity-steps 50 --timed-steps 10 \
  --batch 1024 --out "$OUT/harness-gpu-ptx.json" > /dev/null
# Smoke run of the CLI on the CUDA backend (synthetic embeddings, calibrated sigma).
CFG=$(mktemp --suffix=.toml)
cat > "$CFG" <<TOML
[data]
source = "synthetic"
n = 20000
dim = 384
[model]
head = "mlp"
hidden = 256
[train]
steps = 30
batch_size = 1024
optimizer = "adam"
lr = 0.001
[privacy]
target_epsilon = 3.0
delta = 1e-5
[output]
dir = "$OUT/smoke-run"
TOML
timeout 60 "$BIN" train --config "$CFG" --backend cuda --quiet | tee "$OUT/smoke-run.txt"
echo "gpu-check: wrote $OUT" >&2
