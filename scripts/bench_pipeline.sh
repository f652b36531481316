#!/usr/bin/env bash
# Side-by-side benchmark of `auscult pipeline build` vs the official preprocessing in PyTorch on
# the same ICBHI-scale corpus: all 920 recordings with the real cycle timings of
# ../shared/data/icbhi/all_annotations, the devices' real rates and bit depths, synthetic audio.
# Results go to docs/PERFORMANCE.md by hand, with this command.
#
# usage: scripts/bench_pipeline.sh [--threads 2] [--skip-torch]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=2; SKIP_TORCH=0
while [ $# -gt 0 ]; do case "$1" in --threads) THREADS=$2; shift 2;; --skip-torch) SKIP_TORCH=1; shift;; *) echo "unknown $1"; exit 2;; esac; done
SHARED=../shared/data/icbhi
[ -d "$SHARED/all_annotations" ] || { echo "needs $SHARED/all_annotations"; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auscult-target}"
if [ -z "${AUSCULT_BIN:-}" ]; then cargo build --release -q; fi
BIN="${AUSCULT_BIN:-$CARGO_TARGET_DIR/release/auscult}"
WORK="${BENCH_DIR:-/tmp/auscult-bench}"
CORPUS="$WORK/icbhi-corpus"; CACHE="$WORK/icbhi-cache"
if [ ! -f "$CORPUS/.done" ]; then
  rm -rf "$CORPUS"
  "$BIN" pipeline synth --dataset icbhi --output "$CORPUS" --from-annotations "$SHARED/all_annotations" \
    --split-file "$SHARED/ICBHI_challenge_train_test.txt" --demographics-file "$SHARED/demographic_info.txt" \
    --diagnosis-file "$SHARED/patient_diagnosis.csv"
  touch "$CORPUS/.done"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# warm the page cache for both sides alike
cat "$CORPUS"/ICBHI_final_database/*.wav > /dev/null
rm -rf "$CACHE"
/usr/bin/time -v "$BIN" pipeline build --dataset icbhi --input "$CORPUS" --output "$CACHE" --jobs "$THREADS" 2> "$WORK/auscult.time"
grep -E "wrote|Elapsed|Maximum resident" "$WORK/auscult.time"
ROWS=$(python3 -c "import json;print(json.load(open('$CACHE/manifest.json'))['rows'])")
SECS=$(python3 - "$WORK/auscult.time" <<'PY'
import sys,re
t=open(sys.argv[1]).read(); m=re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)",t)
h,mn,s=m.groups(); print((int(h or 0)*3600)+int(mn)*60+float(s))
PY
)
echo "auscult: $ROWS cycles in $SECS s = $(python3 -c "print(round($ROWS/$SECS,1))") cycles/s ($THREADS threads, every file written)"
if [ "$SKIP_TORCH" = 0 ]; then
  PY=$(scripts/torch-venv.sh --python)
  "$PY" scripts/bench_pipeline_torch.py "$CORPUS" --threads "$THREADS" | tee "$WORK/torch.txt"
  python3 - "$ROWS" "$SECS" "$WORK/torch.txt" <<'PY'
import sys,re
rows,secs=int(sys.argv[1]),float(sys.argv[2]); t=open(sys.argv[3]).read()
cps=float(re.search(r"= ([\d.]+) cycles/s",t).group(1))
print(f"ratio auscult/pytorch: {rows/secs/cps:.1f}x")
PY
fi
