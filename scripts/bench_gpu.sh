#!/usr/bin/env bash
# The GPU speed race, run ON the GPU machine: auscult's `bench train` (the real trainer, whole
# epochs on an ICBHI-sized synthetic cache) right before PyTorch timing the same CE and SCL steps
# (scripts/bench_methods_torch.py --device cuda), same GPU, batch 128, input [B, 1, 64, 251].
# Carry the binary from scripts/build-cuda.sh (dist/auscult-cuda.gz; unpacked here).
# Usage: scripts/bench_gpu.sh [--bin dist/auscult-cuda] [--recordings 920] [--batch 128] [--epochs 2]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/compare.sh
BIN=dist/auscult-cuda RECORDINGS=920 BATCH=128 EPOCHS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --recordings) RECORDINGS="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ! -x "$BIN" ] && [ -f "$BIN.gz" ]; then
  gunzip -c "$BIN.gz" > "$BIN.tmp" && chmod +x "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
fi
PY=${PYTHON:-python3}
# cuBLAS / cuRAND / NVRTC / cudart come with PyTorch's nvidia wheels.
NV=$("$PY" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))')
export LD_LIBRARY_PATH="$NV${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
ldd "$BIN" | grep -E "not found" && { echo "missing libraries (above)" >&2; exit 1; }
echo "== auscult"
RUST_OUT=$("$BIN" bench train --device cuda:0 --methods ce,scl --batch-size "$BATCH" --recordings "$RECORDINGS" --epochs "$EPOCHS" --threads "$(nproc)")
echo "$RUST_OUT"
echo "== PyTorch"
TORCH_OUT=$("$PY" scripts/bench_methods_torch.py --device cuda --batch "$BATCH" --warmup 3 --steps 20)
echo "$TORCH_OUT"
echo "== auscult / PyTorch (batch $BATCH)"
compare_rates auscult "$RUST_OUT" "$TORCH_OUT" ce scl
