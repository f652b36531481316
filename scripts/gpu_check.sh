#!/usr/bin/env bash
# The one device check, run ON the GPU machine beside scripts/build-cuda.sh's packed binary
# (dist/auscult-cuda.gz; the machine has PyTorch and no Rust). Writes gpu-check.json and
# gpu-check.log into --out DIR, or $OUT when set, else ./gpu-check/. Every step has its own time
# limit and the script always finishes with both files, whatever fails.
#
#   1. parity: one CE and one SCL training step on the device (device-generic kernels) against
#      the fused CPU kernels and an f64 run, same weights and batch [32, 1, 64, 251]
#      (`auscult bench parity`);
#   2. race: auscult `bench train` (whole epochs, ICBHI-sized synthetic cache) against PyTorch
#      eager timing the official steps (scripts/bench_methods_torch.py), CE and SCL, batch 128,
#      in f32 (TF32 off on both sides) and TF32 (on for both sides' GEMMs; PyTorch's cuDNN convs
#      too, auscult's convs are GEMMs);
#   3. one full ICBHI-sized CE epoch through `auscult train` (synthetic 920-recording cache built
#      on this machine's CPUs): time, peak GPU memory, and the 400-epoch projection.
#
# Rehearsal on a machine without a GPU (same script, smaller sizes, PyTorch optional):
#   scripts/gpu_check.sh --device cpu --bin target/release/auscult --quick --out /tmp/gpu-check
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda:0 BIN=dist/auscult-cuda QUICK=0 OUTDIR="${OUT:-./gpu-check}"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --out) OUTDIR="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUTDIR"
LOG="$OUTDIR/gpu-check.log"
STEPS="$OUTDIR/steps.jsonl"
: > "$LOG"; : > "$STEPS"
PY=${PYTHON:-python3}
if [ "$QUICK" = 1 ]; then
  PAR_BATCH=8 PAR_FRAMES=64 RACE_BATCH=16 RECORDINGS=16 RACE_EPOCHS=1 LIMIT=300
else
  PAR_BATCH=32 PAR_FRAMES=251 RACE_BATCH=128 RECORDINGS=920 RACE_EPOCHS=2 LIMIT=170
fi
log() { echo "$*" | tee -a "$LOG"; }

# step NAME LIMIT_S CMD...: runs CMD with a time limit, its output into the log and
# $OUTDIR/NAME.out, and one JSON line (name, rc, seconds) into steps.jsonl.
step() {
  local name="$1" limit="$2"; shift 2
  log "== $name: $*"
  local t0 t1 rc ms
  t0=$(date +%s%N)
  timeout "$limit" "$@" > "$OUTDIR/$name.out" 2>&1
  rc=$?
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  cat "$OUTDIR/$name.out" >> "$LOG"
  log "-- $name: exit $rc after $ms ms"
  echo "{\"name\": \"$name\", \"rc\": $rc, \"seconds\": $ms.0e-3}" >> "$STEPS"
  return 0
}

if [ ! -x "$BIN" ] && [ -f "$BIN.gz" ]; then
  gunzip -c "$BIN.gz" > "$BIN.tmp" && chmod +x "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
fi
HAVE_TORCH=0
"$PY" -c 'import torch' 2>/dev/null && HAVE_TORCH=1
if [ "$HAVE_TORCH" = 1 ]; then
  # cuBLAS / cuRAND / NVRTC / cudart come with PyTorch's nvidia wheels.
  NV=$("$PY" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null)
  [ -n "${NV:-}" ] && export LD_LIBRARY_PATH="$NV${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

log "== machine"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "no nvidia-smi"
  [ "$HAVE_TORCH" = 1 ] && "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "tf32 conv", torch.backends.cudnn.allow_tf32, "tf32 matmul", torch.backends.cuda.matmul.allow_tf32)' || echo "no torch"
  echo "cpus $(nproc)"; "$BIN" --version; ldd "$BIN" | grep -E "not found" || echo "ldd: all libraries found"
} 2>&1 | tee -a "$LOG"

# 1. parity
step parity "$LIMIT" "$BIN" bench parity --device "$DEVICE" --methods ce,scl \
  --batch-size "$PAR_BATCH" --frames "$PAR_FRAMES"

# 2. race (auscult, then PyTorch on the same device), f32 and TF32 on both sides
for P in f32 tf32; do
  step "race_auscult_$P" "$LIMIT" "$BIN" bench train --device "$DEVICE" --methods ce,scl \
    --batch-size "$RACE_BATCH" --recordings "$RECORDINGS" --epochs "$RACE_EPOCHS" \
    --threads "$(nproc)" --matmul-precision "$P"
  if [ "$HAVE_TORCH" = 1 ]; then
    TDEV=cpu; case "$DEVICE" in cuda*) TDEV=cuda ;; esac
    step "race_torch_$P" "$LIMIT" "$PY" scripts/bench_methods_torch.py --device "$TDEV" \
      --batch "$RACE_BATCH" --warmup 3 --steps 20 --threads "$(nproc)" --precision "$P"
  else
    log "== race_torch_$P: skipped (no PyTorch here)"
  fi
done

# 3. one full ICBHI-sized epoch through `auscult train`, GPU memory sampled alongside
WORK="$OUTDIR/work"; rm -rf "$WORK"
step synth "$LIMIT" "$BIN" pipeline synth --dataset icbhi --output "$WORK/data" --recordings "$RECORDINGS" --seed 0
step build "$LIMIT" "$BIN" pipeline build --dataset icbhi --input "$WORK/data" --output "$WORK/cache"
MEM_PID=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$OUTDIR/gpu_memory.txt" 2>/dev/null &
  MEM_PID=$!
fi
step epoch "$LIMIT" "$BIN" train ce --data "$WORK/cache" --out "$WORK/run" --epochs 1 \
  --batch-size "$RACE_BATCH" --device "$DEVICE"
[ -n "$MEM_PID" ] && kill "$MEM_PID" 2>/dev/null

# gpu-check.json: the machine, every step's exit code and time, and the figures parsed from them.
"$PY" - "$OUTDIR" "$DEVICE" "$QUICK" <<'EOF' | tee -a "$LOG"
import json, os, re, sys
out, device, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def text(name):
    p = os.path.join(out, name)
    return open(p).read() if os.path.exists(p) else ""
steps = [json.loads(l) for l in text("steps.jsonl").splitlines() if l.strip()]
res = {"device": device, "quick": quick, "steps": steps}
res["parity"] = [json.loads(l.split("=", 1)[1]) for l in text("parity.out").splitlines()
                 if l.startswith("parity_json=")]
res["parity_summary"] = [l for l in text("parity.out").splitlines() if l.startswith("parity ")]
rates = lambda s: {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+)_samples_per_s=([\d.]+)", s, re.M)}
res["race"] = {}
for p in ("f32", "tf32"):
    ours, theirs = rates(text(f"race_auscult_{p}.out")), rates(text(f"race_torch_{p}.out"))
    res["race"][p] = {"auscult_samples_per_s": ours, "torch_samples_per_s": theirs,
                      "ratio_auscult_over_torch": {k: v / theirs[k] for k, v in ours.items() if theirs.get(k)}}
run = os.path.join(out, "work", "run", "metrics.jsonl")
if os.path.exists(run):
    e = json.loads(open(run).read().splitlines()[-1])
    res["epoch"] = {"seconds": e["seconds"], "samples_per_s": e["samples_per_s"],
                    "projected_400_epochs_minutes": e["seconds"] * 400 / 60}
mem = [int(x) for x in text("gpu_memory.txt").split() if x.strip().isdigit()]
res["peak_gpu_memory_mib"] = max(mem) if mem else None
tmp = os.path.join(out, "gpu-check.json.tmp")
json.dump(res, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(out, "gpu-check.json"))
print(json.dumps({k: res[k] for k in res if k not in ("parity",)}, indent=2))
EOF
rm -rf "$WORK/data"
