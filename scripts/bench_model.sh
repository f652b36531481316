#!/usr/bin/env bash
# CNN6 CPU speed, candle (examples/bench_model.rs) vs PyTorch (scripts/bench_model_torch.py),
# same threads / batch / input; prints both and the candle/PyTorch ratios. Not a test.
# Usage: scripts/bench_model.sh [--threads 2] [--warmup 3] [--steps 5]
# Runs are sequential; other load on the machine skews both, so compare ratios from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/compare.sh
THREADS=2 WARMUP=3 STEPS=5
parse_flags "threads warmup steps" "$@"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/auscult-target}"
PY=$(scripts/torch-venv.sh --python)

cargo build --release --example bench_model >&2
echo "== candle"
RUST_OUT=$(BENCH_THREADS=$THREADS "$CARGO_TARGET_DIR/release/examples/bench_model" --warmup "$WARMUP" --steps "$STEPS" --phases)
echo "$RUST_OUT"
echo "== PyTorch"
TORCH_OUT=$("$PY" scripts/bench_model_torch.py --threads "$THREADS" --warmup "$WARMUP" --steps "$STEPS")
echo "$TORCH_OUT"

echo "== candle / PyTorch ($THREADS threads, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
compare_rates candle "$RUST_OUT" "$TORCH_OUT" train infer
# CPU seconds per training step (less sensitive to other load than wall time; spinning worker
# threads count too).
rc=$(value "$RUST_OUT" train_cpu_s_per_step)
tc=$(value "$TORCH_OUT" train_cpu_s_per_step)
[ -n "$rc" ] && [ -n "$tc" ] && awk -v r="$rc" -v t="$tc" 'BEGIN { printf "train CPU s/step: candle %.2f  torch %.2f  (torch/candle %.2fx)\n", r, t, t / r }'
true
