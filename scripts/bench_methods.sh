#!/usr/bin/env bash
# CE vs SCL training speed on CPU: auscult's real trainer (`auscult bench train`, whole epochs on a
# synthetic cache: data gathering, transforms, loss, backward, Adam) right before PyTorch doing the
# same steps with the official recipe (scripts/bench_methods_torch.py, one fixed random batch).
# Same threads, batch and input [B, 1, 64, 251]. Prints both sides and the auscult/PyTorch ratios.
# Usage: scripts/bench_methods.sh [--threads 2] [--batch 32]       Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/compare.sh
THREADS=2 BATCH=32
parse_flags "threads batch" "$@"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auscult-target}"
PY=$(scripts/torch-venv.sh --python)
cargo build --release >&2
echo "== auscult"
RUST_OUT=$("$CARGO_TARGET_DIR/release/auscult" bench train --methods ce,scl --threads "$THREADS" --batch-size "$BATCH" --recordings 24 --epochs 2)
echo "$RUST_OUT"
echo "== PyTorch"
TORCH_OUT=$("$PY" scripts/bench_methods_torch.py --threads "$THREADS" --batch "$BATCH")
echo "$TORCH_OUT"
echo "== auscult / PyTorch ($THREADS threads, batch $BATCH, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
compare_rates auscult "$RUST_OUT" "$TORCH_OUT" ce scl
