#!/usr/bin/env bash
# Peak memory of CPU training, side by side: the peak RSS ("Maximum resident set size" of
# `/usr/bin/time -v`) of PyTorch doing the official CE / SCL step
# (`scripts/bench_methods_torch.py --methods M --warmup 1 --steps 2`: one fixed random batch) and of
# `auscult bench train --methods M --recordings 24 --epochs 1 --kernels K` for each kernel choice K,
# one process per entry, one after the other. Same method, threads, batch and input
# [B, 1, 64, 251]. Prints a table: method, side, peak RSS MiB, ratio to PyTorch, samples/s.
# The auscult figure is the whole `bench train` process: synthetic database + cache build, one
# training epoch and its evaluation (SCL: one linear-evaluation epoch, which embeds both splits at
# the experiment's eval batch size, 256: here one pass of 64-71 examples), so it is an upper bound
# on the training step's own peak (that pass was the peak in 3 of 4 runs, +10-28 %: see
# docs/PERFORMANCE.md). Every measured process runs with oom_score_adj 1000.
# Usage: scripts/bench_memory.sh [--batch 32] [--threads 2] [--methods ce,scl]
#                                [--kernels auto,generic] [--no-kernels-flag]
#   AUSCULT_BIN  the binary (default $CARGO_TARGET_DIR/release/auscult; not built here).
#   --no-kernels-flag  omit `--kernels` (binaries that predate it): the binary's own default runs
#                      once per method, and --kernels (one value, default `default`) only labels it.
# Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/compare.sh
THREADS=2 BATCH=32 METHODS=ce,scl KERNELS="" KERNELS_FLAG=1
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --methods) METHODS="$2"; shift 2 ;;
    --kernels) KERNELS="$2"; shift 2 ;;
    --no-kernels-flag) KERNELS_FLAG=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$KERNELS_FLAG" = 1 ]; then
  KERNELS="${KERNELS:-auto,generic}"
else
  KERNELS="${KERNELS:-default}"
  case "$KERNELS" in
    *,*) echo "--no-kernels-flag runs the binary's default kernels: give --kernels one label" >&2
      exit 2 ;;
  esac
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auscult-target}"
BIN="${AUSCULT_BIN:-$CARGO_TARGET_DIR/release/auscult}"
[ -x "$BIN" ] || { echo "no auscult binary at $BIN (cargo build --release, or set AUSCULT_BIN)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 2; }
PY=$(scripts/torch-venv.sh --python)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# measure NAME CMD...: runs CMD under `/usr/bin/time -v`, echoes its stdout, leaves its stdout in
# $TMP/NAME.out and its peak RSS (KiB) in $TMP/NAME.rss.
measure() {
  local name=$1
  shift
  echo "== $name: $*"
  # oom_score_adj 1000: on a shared machine the measured process is the OOM killer's first choice.
  if ! (echo 1000 >/proc/self/oom_score_adj && exec /usr/bin/time -v -o "$TMP/$name.time" "$@") \
    >"$TMP/$name.out" 2>"$TMP/$name.err"; then
    cat "$TMP/$name.out" "$TMP/$name.err" "$TMP/$name.time" >&2
    echo "$name failed" >&2
    exit 1
  fi
  cat "$TMP/$name.out"
  sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$TMP/$name.time" >"$TMP/$name.rss"
  echo "peak RSS $(awk '{ printf "%.1f", $1 / 1024 }' "$TMP/$name.rss") MiB, wall $(sed -n \
    's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$TMP/$name.time")"
}

ROWS=()
for M in ${METHODS//,/ }; do
  measure "torch_$M" "$PY" scripts/bench_methods_torch.py --methods "$M" --batch "$BATCH" \
    --threads "$THREADS" --warmup 1 --steps 2
  ROWS+=("$M PyTorch torch_$M")
  for K in ${KERNELS//,/ }; do
    KARG=()
    [ "$KERNELS_FLAG" = 1 ] && KARG=(--kernels "$K")
    measure "auscult_${M}_$K" "$BIN" bench train --methods "$M" --batch-size "$BATCH" \
      --threads "$THREADS" --recordings 24 --epochs 1 "${KARG[@]}"
    ROWS+=("$M auscult-$K auscult_${M}_$K")
  done
done

echo "== peak RSS ($THREADS threads, batch $BATCH, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "| method | side | peak RSS MiB | ratio to PyTorch | samples/s |"
echo "|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  read -r m side name <<<"$row"
  awk -v m="$m" -v s="$side" -v r="$(cat "$TMP/$name.rss")" -v t="$(cat "$TMP/torch_$m.rss")" \
    -v sps="$(value "$(cat "$TMP/$name.out")" "${m}_samples_per_s")" \
    'BEGIN { printf "| %s | %s | %.1f | %.2f× | %s |\n", m, s, r / 1024, r / t, sps }'
done
