#!/usr/bin/env bash
# The one device check, run ON the GPU machine beside scripts/build-cuda.sh's packed binary
# (dist/auscult-cuda.gz; the machine has PyTorch and its nvidia wheels, no Rust), through a
# remote-run tool with hard limits. Steps, in order of value:
#
#   1. parity: one CE and one SCL training step on the device against the fused CPU kernels and
#      an f64 run, batch [32, 1, 64, 251], once per conv path (`bench parity --kernels generic`,
#      then `--kernels cudnn`);
#   2. race: `bench train --methods ce,scl` (whole epochs, batch 128) for matmul precision f32
#      and tf32 × conv path cudnn and generic, against PyTorch eager timing the official steps
#      (scripts/bench_methods_torch.py, f32 and tf32; skipped, with the reason, without torch);
#   3. peak GPU memory (nvidia-smi, above the memory in use before the step) of one CE and one
#      SCL training run per conv path at batch 128, and of PyTorch's CE and SCL steps;
#   4. one full ICBHI-sized CE epoch through `auscult train` on a synthetic 920-recording cache
#      built once on this machine's CPUs: its time and the 400-epoch projection;
#   5. 1, 2 and 4 CE trainings at once on the one GPU (`bench train` processes): aggregate
#      samples/s.
#
# Usage:
#   scripts/gpu_check.sh [--device cuda:0] [--bin PATH] [--out DIR] [--deadline 540] [--quick]
#                        [--keep-work]
#   --bin     default: dist/auscult-cuda (unpacked from dist/auscult-cuda.gz when that is newer)
#             for a cuda device; target/release/auscult or $CARGO_TARGET_DIR/release/auscult for
#             --device cpu. A binary that cannot start here (`--version` fails: a library
#             missing, wrong GLIBC, not executable) ends the check at once with exit status 3.
#   --out     default $OUT when set, else ./gpu-check.
#   --deadline the whole check, setup included, ends within this many seconds (default 540,
#             under the tool's 600 s per command). The steps' budgets are shares of the time left
#             after setup, less 15 s for the last kill and the report and 1 s per step for its
#             bookkeeping; each step runs under `timeout -k 10 <budget>`, cut to the time left
#             before the deadline; a step with less than half its budget left is skipped and
#             recorded as skipped.
#   --quick   CPU rehearsal sizes (parity batch 2 × 32 frames; bench runs at batch 8 on 4
#             recordings, 1 epoch; a 2 s cache of 8 recordings for the epoch step; 1 and 2
#             concurrent runs), e.g. scripts/gpu_check.sh --device cpu --quick --out /tmp/gpu-check
#             (tests/it/gpu_check_rehearsal.rs runs it with --deadline 240).
#
# Limits it respects (the remote-run tool brings back at most 8 files from $OUT, 16 MiB each,
# 64 MiB together, no folders): everything else (synthetic data, caches, runs, step outputs)
# lives in a mktemp -d folder under /tmp, removed on exit (--keep-work keeps it). $OUT gets only:
#   gpu-check.json  machine (GPU, driver, torch/CUDA versions, binary's newest GLIBC, linked CUDA
#                   libraries and the missing ones), every step (name, command, budget, rc,
#                   seconds, status passed/failed/timeout/skipped/interrupted), parsed figures;
#                   rewritten atomically after every step and on exit, even on INT/TERM
#   gpu-check.log   the steps' outputs, each cut to its first 16 KiB and last 48 KiB
#   steps.jsonl     one line per step, appended as it ends
#   gpu-memory.csv  nvidia-smi memory.used samples every 100 ms, timestamped (GPU runs only)
#   gpu-check.json.tmp  only if the run was killed while writing the JSON
# Exit status: 0 every step passed or was skipped; 1 a step failed or timed out; 2 bad
# arguments; 3 the binary cannot start here; 128+N killed by signal N (the JSON is written).
set -uo pipefail
cd "$(dirname "$0")/.."
START_NS=$(date +%s%N)

DEVICE=cuda:0 BIN="" QUICK=0 OUTDIR="${OUT:-./gpu-check}" DEADLINE=540 KEEP_WORK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --out) OUTDIR="$2"; shift 2 ;;
    --deadline) DEADLINE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$DEADLINE" in ''|*[!0-9]*) echo "--deadline: whole seconds expected" >&2; exit 2 ;; esac
[ "$DEADLINE" -ge 30 ] || { echo "--deadline: at least 30 s" >&2; exit 2; }
case "$DEVICE" in
  cpu) GPU_INDEX="" ;;
  cuda) GPU_INDEX=0 ;;
  cuda:[0-9]*) GPU_INDEX="${DEVICE#cuda:}" ;;
  *) echo "--device: cpu or cuda:N" >&2; exit 2 ;;
esac

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || PY=""
NPROC=$(nproc 2>/dev/null || echo 2)
RESERVE=15          # seconds kept for the last step's kill (-k 10) and the final report
KILL_AFTER=10
LOG_HEAD=16384 LOG_TAIL=49152

mkdir -p "$OUTDIR" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)
LOG="$OUTDIR/gpu-check.log" STEPS="$OUTDIR/steps.jsonl" JSON="$OUTDIR/gpu-check.json"
MEMCSV="$OUTDIR/gpu-memory.csv"
rm -f "$JSON" "$JSON.tmp" "$MEMCSV"
: > "$LOG"; : > "$STEPS"
WORK=$(mktemp -d /tmp/gpu-check.XXXXXX) || { echo "mktemp failed" >&2; exit 2; }
mkdir -p "$WORK/out" "$WORK/tmp"
export TMPDIR="$WORK/tmp"   # bench train's own temporary folders, removed with WORK
INFO="$WORK/info.tsv" PLAN="$WORK/plan.tsv"
: > "$INFO"; : > "$PLAN"

now_ns() { date +%s%N; }
elapsed_s() { echo $(( ($(now_ns) - START_NS) / 1000000000 )); }
log() { printf '%s\n' "$*" | tee -a "$LOG"; }
info() { printf '%s\t%s\n' "$1" "$2" >> "$INFO"; }
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# The report: gpu-check.json from steps.jsonl, info.tsv, plan.tsv, the step outputs and
# gpu-memory.csv. Written atomically (tmp + rename); FINAL_RC set on the last call.
cat > "$WORK/report.py" <<'PYEOF'
import datetime, json, os, re, sys

out, work, final = sys.argv[1], sys.argv[2], sys.argv[3]


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def step_out(name):
    return read(os.path.join(work, "out", name + ".out"))


def number(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


NUMERIC = re.compile(r"^(cpus|quick|deadline_s|bin_bytes|bin_links_\w+|total_seconds|\w+_mib)$")
steps = []
for line in read(os.path.join(out, "steps.jsonl")).splitlines():
    try:
        steps.append(json.loads(line))
    except ValueError:
        pass
info = {}
for line in read(os.path.join(work, "info.tsv")).splitlines():
    k, _, v = line.partition("\t")
    info[k] = number(v) if NUMERIC.match(k) else v
plan = {}
for line in read(os.path.join(work, "plan.tsv")).splitlines():
    k, _, v = line.partition("\t")
    plan[k] = number(v)

# Linked CUDA libraries (ldd with this script's LD_LIBRARY_PATH).
wanted = ["cuda", "cublas", "cublasLt", "cudart", "curand", "nvrtc", "cudnn"]
libs = {}
for line in read(os.path.join(work, "ldd.txt")).splitlines():
    m = re.match(r"\s*(lib([A-Za-z]+)\.so[.\d]*)\s*=>\s*(.*?)\s*(\(0x[0-9a-f]+\))?$", line)
    if m and m.group(2) in wanted:
        libs[m.group(1)] = None if m.group(3) == "not found" else m.group(3)
missing = sorted(k for k, v in libs.items() if v is None)

# GPU memory samples: "YYYY/MM/DD HH:MM:SS.mmm, MiB" (local time, like time.time()'s epoch).
samples = []
for line in read(os.path.join(out, "gpu-memory.csv")).splitlines():
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 2 or not parts[1].isdigit():
        continue
    try:
        t = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
    except ValueError:
        continue
    samples.append((t, int(parts[1])))
idle = info.get("idle_gpu_memory_mib")


def memory(step):
    if not samples or step.get("status") == "skipped" or "start" not in step:
        return None
    t0, t1 = step["start"], step["end"]
    inside = [m for t, m in samples if t0 <= t <= t1 + 0.2]
    before = [m for t, m in samples if t < t0]
    if not inside:
        return None
    base = before[-1] if before else (idle if isinstance(idle, int) else min(inside))
    return {"peak_mib": max(inside), "before_mib": base,
            "peak_above_before_mib": max(inside) - base, "samples": len(inside)}


def rates(text):
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^([\w@]+)_samples_per_s=([\d.]+)", text, re.M)}


by_name = {}
for s in steps:
    by_name[s["name"]] = s
    mem = memory(s)
    if mem:
        s["gpu_memory"] = mem
    if s.get("status") in ("failed", "timeout", "interrupted"):
        s["output_tail"] = step_out(s["name"])[-2000:]

figures = {}
parity = {}
for s in steps:
    if s["name"].startswith("parity_"):
        text = step_out(s["name"])
        reports = []
        for line in text.splitlines():
            if line.startswith("parity_json="):
                try:
                    reports.append(json.loads(line.split("=", 1)[1]))
                except ValueError:
                    pass
        parity[s["name"][len("parity_"):]] = {
            "status": s["status"],
            "summary": [l for l in text.splitlines() if l.startswith("parity ")],
            "reports": reports,
        }
figures["parity"] = parity

race = {}
for s in steps:
    m = re.match(r"race_(auscult|torch)_(\w+?)(?:_(\w+))?$", s["name"])
    if not m:
        continue
    side, prec, kern = m.groups()
    r = race.setdefault(prec, {"auscult": {}, "torch": None, "ratio_auscult_over_torch": {}})
    got = rates(step_out(s["name"]))
    if side == "torch":
        r["torch"] = got if got else None
    else:
        r["auscult"][kern] = got if got else None
for prec, r in race.items():
    t = r["torch"] or {}
    for kern, ours in r["auscult"].items():
        if ours:
            r["ratio_auscult_over_torch"][kern] = {
                k: round(v / t[k], 4) for k, v in ours.items() if t.get(k)}
figures["race_samples_per_s"] = race

mem = {}
for s in steps:
    if s["name"].startswith("mem_"):
        g = s.get("gpu_memory") or {}
        mem[s["name"][len("mem_"):]] = {
            "status": s["status"],
            "peak_above_before_mib": g.get("peak_above_before_mib"),
            "peak_mib": g.get("peak_mib"),
            "samples_per_s": rates(step_out(s["name"])) or None,
        }
figures["peak_gpu_memory"] = mem

ep = by_name.get("epoch")
if ep:
    e = {"status": ep["status"], "step_seconds": ep.get("seconds")}
    rows = []
    for line in read(os.path.join(work, "run", "metrics.jsonl")).splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    train = [r for r in rows if r.get("samples_per_s") is not None and r.get("seconds") is not None]
    if train:
        last = train[-1]
        e.update({"metrics": {k: last[k] for k in ("stage", "epoch", "seconds", "samples_per_s")
                              if k in last},
                  "train_seconds": last["seconds"],
                  "samples_per_s": last["samples_per_s"],
                  "projected_400_epochs_minutes_train_only": round(last["seconds"] * 400 / 60, 2)})
    if isinstance(ep.get("seconds"), (int, float)) and ep["status"] == "passed":
        e["projected_400_epochs_minutes_whole_step"] = round(ep["seconds"] * 400 / 60, 2)
    figures["epoch"] = e

conc = {}
for s in steps:
    m = re.match(r"concurrent_(\d+)$", s["name"])
    if m:
        each = [float(x) for x in re.findall(r"^ce_samples_per_s=([\d.]+)", step_out(s["name"]), re.M)]
        conc[m.group(1)] = {"status": s["status"], "processes": int(m.group(1)),
                            "per_process_samples_per_s": each,
                            "aggregate_samples_per_s": round(sum(each), 3) if each else None,
                            "gpu_memory": s.get("gpu_memory")}
figures["concurrent_ce"] = conc

counts = {}
for s in steps:
    counts[s["status"]] = counts.get(s["status"], 0) + 1
res = {
    "format": "auscult gpu-check 2",
    "written": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    "final": final != "",
    "exit_code": int(final) if final not in ("",) else None,
    "machine": info,
    "libraries": {"linked": libs, "missing": missing},
    "budgets_s": plan,
    "counts": counts,
    "failed_steps": [s["name"] for s in steps if s["status"] in ("failed", "timeout", "interrupted")],
    "skipped_steps": {s["name"]: s.get("reason") for s in steps if s["status"] == "skipped"},
    "steps": steps,
    "figures": figures,
}
tmp = os.path.join(out, "gpu-check.json.tmp")
with open(tmp, "w") as f:
    json.dump(res, f, indent=1)
os.replace(tmp, os.path.join(out, "gpu-check.json"))
if final != "":
    short = {"exit_code": res["exit_code"], "counts": counts, "failed_steps": res["failed_steps"],
             "missing_libraries": missing,
             "parity": {k: v["summary"] for k, v in parity.items()},
             "race": race, "peak_gpu_memory_mib": {k: v["peak_above_before_mib"] for k, v in mem.items()},
             "epoch": figures.get("epoch"),
             "concurrent_ce_aggregate": {k: v["aggregate_samples_per_s"] for k, v in conc.items()}}
    print(json.dumps(short, indent=1))
PYEOF

# write_json [FINAL_RC]: gpu-check.json now (python3; without it, the steps alone).
write_json() {
  if [ -n "$PY" ] && "$PY" "$WORK/report.py" "$OUTDIR" "$WORK" "${1:-}" > "$WORK/report.stdout" 2>&1; then
    [ -n "${1:-}" ] && tee -a "$LOG" < "$WORK/report.stdout"
    return 0
  fi
  [ -n "$PY" ] && cat "$WORK/report.stdout" >> "$LOG"
  { printf '{"format": "auscult gpu-check 2", "error": "python3 missing or the report failed", '
    printf '"exit_code": %s, "steps": [' "${1:-null}"
    paste -sd, "$STEPS"
    printf ']}\n'; } > "$JSON.tmp" && mv -f "$JSON.tmp" "$JSON"
}

# record NAME STATUS RC T0_NS T1_NS BUDGET REASON CMD...: one line into steps.jsonl, then the JSON.
record() {
  local name=$1 status=$2 rc=$3 t0=$4 t1=$5 budget=$6 reason=$7; shift 7
  local cmd="" a
  for a in "$@"; do
    [[ "$a" =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]] || a=$(printf '%q' "$a")
    cmd+="${cmd:+ }$a"
  done
  printf '{"name": %s, "status": %s, "rc": %s, "seconds": %s, "budget_s": %s, "start": %s, "end": %s, "command": %s, "reason": %s}\n' \
    "$(json_str "$name")" "$(json_str "$status")" "${rc:-null}" "$(secs "$t0" "$t1")" \
    "${budget:-null}" "$(secs 0 "$t0")" "$(secs 0 "$t1")" "$(json_str "$cmd")" \
    "$( [ -n "$reason" ] && json_str "$reason" || echo null)" >> "$STEPS"
  write_json
}

# The step's output into the log: whole up to 64 KiB, else its head and tail.
append_output() {
  local f=$1 size
  size=$(stat -c %s "$f" 2>/dev/null || echo 0)
  if [ "$size" -le $((LOG_HEAD + LOG_TAIL)) ]; then
    cat "$f" >> "$LOG"
  else
    { head -c "$LOG_HEAD" "$f"
      printf '\n[... %d bytes cut; the whole output stayed on the machine ...]\n' $((size - LOG_HEAD - LOG_TAIL))
      tail -c "$LOG_TAIL" "$f"; } >> "$LOG"
  fi
}

CUR_NAME="" CUR_T0="" CUR_BUDGET="" STEP_PID="" SAMPLER_PID="" FINAL_RC="" CUR_CMD=()
ANY_FAILED=0

# step NAME BUDGET_S CMD...: runs CMD under `timeout -k 10 BUDGET` (or less when the deadline is
# nearer, or skips it when under half its budget is left), output into WORK/out/NAME.out and the
# log, one line into steps.jsonl. Returns CMD's exit status (1 when skipped).
step() {
  local name=$1 budget=$2; shift 2
  local left=$(( DEADLINE - RESERVE - $(elapsed_s) ))
  [ "$left" -lt 0 ] && left=0
  if [ "$left" -lt "$budget" ]; then
    local need=$(( (budget + 1) / 2 ))
    [ "$need" -lt 5 ] && need=5
    if [ "$left" -lt "$need" ]; then
      local t=$(now_ns)
      log "== $name: skipped (budget ${budget} s, ${left} s left before the deadline)"
      record "$name" skipped "" "$t" "$t" "$budget" \
        "deadline: ${left} s left of --deadline ${DEADLINE} s, budget ${budget} s" "$@"
      return 1
    fi
    budget=$left
  fi
  log "== $name (budget ${budget} s): $*"
  CUR_NAME=$name CUR_BUDGET=$budget CUR_CMD=("$@") CUR_T0=$(now_ns)
  timeout -k "$KILL_AFTER" "$budget" "$@" > "$WORK/out/$name.out" 2>&1 < /dev/null &
  STEP_PID=$!
  wait "$STEP_PID"
  local rc=$? t1
  t1=$(now_ns)
  STEP_PID=""
  local status=passed secs_int=$(( (t1 - CUR_T0) / 1000000000 ))
  if [ "$rc" != 0 ]; then
    status=failed
    { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ "$secs_int" -ge $((budget - 1)) ] && status=timeout
    ANY_FAILED=1
  fi
  append_output "$WORK/out/$name.out"
  log "-- $name: $status (exit $rc after $(secs "$CUR_T0" "$t1") s)"
  record "$name" "$status" "$rc" "$CUR_T0" "$t1" "$budget" "" "$@"
  CUR_NAME=""
  return "$rc"
}

# skip NAME REASON CMD...: recorded as skipped, not run.
skip() {
  local name=$1 reason=$2 t; shift 2
  t=$(now_ns)
  log "== $name: skipped ($reason)"
  record "$name" skipped "" "$t" "$t" "" "$reason" "$@"
}

on_signal() {
  local sig=$1 code=$2
  log "!! $sig received"
  if [ -n "$STEP_PID" ]; then
    kill -TERM "$STEP_PID" 2>/dev/null
    wait "$STEP_PID" 2>/dev/null
    STEP_PID=""
  fi
  if [ -n "$CUR_NAME" ]; then
    append_output "$WORK/out/$CUR_NAME.out"
    record "$CUR_NAME" interrupted "" "$CUR_T0" "$(now_ns)" "$CUR_BUDGET" "$sig received" "${CUR_CMD[@]}"
    CUR_NAME=""
  fi
  exit "$code"
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$FINAL_RC" ] && rc=$FINAL_RC
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  info total_seconds "$(secs "$START_NS" "$(now_ns)")"
  write_json "$rc"
  log "== done: exit $rc after $(secs "$START_NS" "$(now_ns)") s; $JSON"
  if [ "$KEEP_WORK" = 1 ]; then log "work folder kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

log "gpu_check: device $DEVICE, deadline ${DEADLINE} s, quick $QUICK, out $OUTDIR, work $WORK"
info device "$DEVICE"; info quick "$QUICK"; info deadline_s "$DEADLINE"
info started "$(date -Iseconds)"
info cpus "$NPROC"
info cpu_model "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
info cpu_flags_avx2_avx512f "$(grep -m1 -ow -e avx2 -e avx512f /proc/cpuinfo 2>/dev/null | sort -u | paste -sd, -)"

# --- the binary -------------------------------------------------------------------------------
if [ -z "$BIN" ]; then
  if [ "$DEVICE" = cpu ]; then
    for c in ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR/release/auscult"} target/release/auscult; do
      [ -x "$c" ] && { BIN=$c; break; }
    done
    [ -n "$BIN" ] || BIN=${CARGO_TARGET_DIR:-target}/release/auscult
  else
    BIN=dist/auscult-cuda
    if [ -f "$BIN.gz" ] && { [ ! -x "$BIN" ] || [ "$BIN.gz" -nt "$BIN" ]; }; then
      log "unpacking $BIN.gz"
      gunzip -c "$BIN.gz" > "$BIN.tmp" && chmod +x "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
    fi
  fi
fi
case "$BIN" in /*) ;; */*) BIN="$PWD/$BIN" ;; esac
info bin "$BIN"

# CUDA libraries: PyTorch's nvidia wheels (cuBLAS, cuBLASLt, cudart, cuRAND, NVRTC in
# nvidia/cu13/lib; cuDNN in nvidia/cudnn/lib), found through Python's `nvidia` package path.
if [ -n "$PY" ]; then
  NVLIBS=$(timeout -k 2 20 "$PY" -c '
import os
try:
    import nvidia
except ImportError:
    raise SystemExit
for sub in ("cu13/lib", "cudnn/lib"):
    for p in nvidia.__path__:
        d = os.path.join(p, sub)
        if os.path.isdir(d):
            print(sub.split("/")[0] + "\t" + d)
            break' 2>/dev/null)
  while IFS=$'\t' read -r k d; do
    [ -n "$d" ] || continue
    info "nvidia_${k}_lib" "$d"
    export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done <<< "$NVLIBS"
fi
info ld_library_path "${LD_LIBRARY_PATH:-}"
if [ -f "$BIN" ]; then
  ldd "$BIN" > "$WORK/ldd.txt" 2>&1
  info bin_bytes "$(stat -c %s "$BIN")"
  GLIBC=$( { objdump -T "$BIN" 2>/dev/null || readelf --dyn-syms -W "$BIN" 2>/dev/null; } \
    | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tail -n 1)
  info bin_newest_glibc "${GLIBC:-unknown}"
  info system_glibc "$(ldd --version 2>/dev/null | head -n 1 | grep -o '[0-9][0-9.]*$')"
  grep -qE 'libcudnn' "$WORK/ldd.txt" && info bin_links_cudnn 1 || info bin_links_cudnn 0
  grep -qE 'libcuda\.so' "$WORK/ldd.txt" && info bin_links_cuda 1 || info bin_links_cuda 0
  missing=$(grep -E 'lib(cuda|cublas|cublasLt|cudart|curand|nvrtc|cudnn)\.so.*not found' "$WORK/ldd.txt" | awk '{print $1}' | paste -sd' ' -)
  log "binary $BIN: newest GLIBC symbol ${GLIBC:-unknown} (system $(ldd --version 2>/dev/null | head -n 1 | grep -o '[0-9][0-9.]*$')); CUDA libraries missing: ${missing:-none}"
  grep -E 'cuda|cublas|curand|nvrtc|cudnn' "$WORK/ldd.txt" >> "$LOG"
fi

# A binary that cannot start here ends the check now, not in every step.
if ! step version 20 "$BIN" --version; then
  log "!! $BIN cannot start on this machine (see the version step); no step run"
  info fatal "binary cannot start: $(head -n 3 "$WORK/out/version.out" 2>/dev/null | tr '\n' ' ')"
  FINAL_RC=3
  exit 3
fi
info bin_version "$(head -n 1 "$WORK/out/version.out")"

# --- the machine ------------------------------------------------------------------------------
HAVE_NVSMI=0
if [ -n "$GPU_INDEX" ] && command -v nvidia-smi >/dev/null 2>&1; then
  HAVE_NVSMI=1
  q=$(timeout -k 2 15 nvidia-smi -i "$GPU_INDEX" --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader,nounits 2>&1 | head -n 1)
  IFS=',' read -r g_name g_driver g_total g_used <<< "$q"
  info gpu_name "$(echo "$g_name" | sed 's/^ *//; s/ *$//')"
  info gpu_driver "$(echo "${g_driver:-}" | tr -d ' ')"
  info gpu_memory_total_mib "$(echo "${g_total:-}" | tr -d ' ')"
  info idle_gpu_memory_mib "$(echo "${g_used:-}" | tr -d ' ')"
  info cuda_driver_api "$(timeout -k 2 15 nvidia-smi 2>/dev/null | grep -o 'CUDA Version: *[0-9.]*' | grep -o '[0-9.]*$')"
  log "gpu: $q"
elif [ -n "$GPU_INDEX" ]; then
  info gpu_name "no nvidia-smi"
fi
HAVE_TORCH=0
TORCH_WHY="no python3"
if [ -n "$PY" ]; then
  if t=$(timeout -k 5 60 "$PY" -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.backends.cudnn.version())' 2>&1); then
    HAVE_TORCH=1
    read -r tv tc ta tcd <<< "$(tail -n 1 <<< "$t")"
    info torch "$tv"; info torch_cuda "$tc"; info torch_cuda_available "$ta"; info torch_cudnn "$tcd"
    log "torch $tv, CUDA $tc, available $ta, cuDNN $tcd"
  else
    TORCH_WHY="no PyTorch here (import torch: $(tail -n 1 <<< "$t"))"
    info torch "none"
    log "$TORCH_WHY"
  fi
fi
TDEV=cpu; [ -n "$GPU_INDEX" ] && TDEV=cuda

if [ "$HAVE_NVSMI" = 1 ]; then
  LINEBUF=(); command -v stdbuf >/dev/null 2>&1 && LINEBUF=(stdbuf -oL)   # each sample as taken
  ${LINEBUF[@]+"${LINEBUF[@]}"} nvidia-smi -i "$GPU_INDEX" --query-gpu=timestamp,memory.used \
    --format=csv,nounits -lms 100 > "$MEMCSV" 2>/dev/null < /dev/null &
  SAMPLER_PID=$!
fi

# --- sizes and budgets ------------------------------------------------------------------------
# `bench train` always trains on 8 s cycles ([B, 1, 64, 251]); quick: 4 recordings (20 cycles,
# 16 training rows), and a 2 s cache for the epoch step. Full: 240 recordings (~860 training
# rows, 7 batches of 128) per bench run, 48 (one batch and a bit) to measure memory.
if [ "$QUICK" = 1 ]; then
  PAR_BATCH=2 PAR_FRAMES=32 BATCH=8 RACE_REC=4 RACE_EPOCHS=1 MEM_REC=4 CACHE_REC=8
  CACHE_OPTS=(--duration 2) CONC_REC=4 CONC_EPOCHS=1 CONCURRENCY="1 2" TORCH_WARMUP=1 TORCH_STEPS=1
  TORCH_MEM=(--warmup 0 --steps 1)
else
  PAR_BATCH=32 PAR_FRAMES=251 BATCH=128 RACE_REC=240 RACE_EPOCHS=2 MEM_REC=48 CACHE_REC=920
  CACHE_OPTS=() CONC_REC=240 CONC_EPOCHS=2 CONCURRENCY="1 2 4" TORCH_WARMUP=3 TORCH_STEPS=20
  TORCH_MEM=(--warmup 1 --steps 2)
fi
# Shares of the time left after setup (full: seconds of a 540 s deadline, the first steps get
# more; quick: what each costs on 2 CPU cores). Steps that will not run (no PyTorch, a
# concurrency not asked for) take no share.
# One table, two columns: quick (on CPU the generic kernels run 1.5-3x slower than the cudnn
# ones' CPU side, measured) and full (parity's CPU side, the fused f32 reference and the f64 run
# at batch 32 × 251 frames, is ~240 CPU-s a run, extrapolated from batch 4 on the 2-core
# development machine).
declare -A SHARES=(
  [parity_generic]="8 55" [parity_cudnn]="8 55"
  [race_auscult_f32_cudnn]="24 38" [race_auscult_f32_generic]="38 38" [race_torch_f32]="30 22"
  [race_auscult_tf32_cudnn]="24 38" [race_auscult_tf32_generic]="38 38" [race_torch_tf32]="30 22"
  [mem_auscult_ce_cudnn]="12 10" [mem_auscult_scl_cudnn]="22 10" [mem_auscult_ce_generic]="12 10"
  [mem_auscult_scl_generic]="22 10" [mem_torch_ce]="12 10" [mem_torch_scl]="17 10"
  [synth]="2 6" [build]="2 10" [epoch]="6 42"
  [concurrent_1]="12 15" [concurrent_2]="16 22" [concurrent_4]="30 32"
)
declare -A SHARE=()
for k in "${!SHARES[@]}"; do
  read -r quick_share full_share <<<"${SHARES[$k]}"
  if [ "$QUICK" = 1 ]; then SHARE[$k]=$quick_share; else SHARE[$k]=$full_share; fi
done
for k in "${!SHARE[@]}"; do
  case "$k" in
    *torch*) [ "$HAVE_TORCH" = 1 ] || unset "SHARE[$k]" ;;
    concurrent_*) [[ " $CONCURRENCY " == *" ${k#concurrent_} "* ]] || unset "SHARE[$k]" ;;
  esac
done
total=0 planned=0
for k in "${!SHARE[@]}"; do total=$(( total + SHARE[$k] )); planned=$(( planned + 1 )); done
# Each step also costs its bookkeeping (the JSON rewritten, the log): about 1 s on a busy machine.
AVAIL=$(( DEADLINE - RESERVE - $(elapsed_s) - planned ))
[ "$AVAIL" -lt "$planned" ] && AVAIL=$planned
declare -A BUDGET
for k in parity_generic parity_cudnn race_auscult_f32_cudnn race_auscult_f32_generic race_torch_f32 \
    race_auscult_tf32_cudnn race_auscult_tf32_generic race_torch_tf32 mem_auscult_ce_cudnn \
    mem_auscult_scl_cudnn mem_auscult_ce_generic mem_auscult_scl_generic mem_torch_ce mem_torch_scl \
    synth build epoch concurrent_1 concurrent_2 concurrent_4; do
  [ -n "${SHARE[$k]:-}" ] || continue
  BUDGET[$k]=$(( SHARE[$k] * AVAIL / total ))
  [ "${BUDGET[$k]}" -lt 1 ] && BUDGET[$k]=1
  printf '%s\t%s\n' "$k" "${BUDGET[$k]}" >> "$PLAN"
done
log "setup took $(elapsed_s) s; ${AVAIL} s of step budgets, ${planned} s of bookkeeping, ${RESERVE} s reserve"
write_json

A=("$BIN")
# 1. parity of each conv path against the CPU reference and f64
for K in generic cudnn; do
  step "parity_$K" "${BUDGET[parity_$K]}" "${A[@]}" bench parity --device "$DEVICE" --methods ce,scl \
    --batch-size "$PAR_BATCH" --frames "$PAR_FRAMES" --kernels "$K"
done

# 2. race: auscult whole epochs (both conv paths) and PyTorch's steps, f32 and TF32
for P in f32 tf32; do
  for K in cudnn generic; do
    step "race_auscult_${P}_$K" "${BUDGET[race_auscult_${P}_$K]}" "${A[@]}" bench train \
      --device "$DEVICE" --methods ce,scl --batch-size "$BATCH" --recordings "$RACE_REC" \
      --epochs "$RACE_EPOCHS" --threads "$NPROC" --matmul-precision "$P" --kernels "$K"
  done
  TCMD=("$PY" scripts/bench_methods_torch.py --device "$TDEV" --batch "$BATCH" --precision "$P"
    --warmup "$TORCH_WARMUP" --steps "$TORCH_STEPS" --threads "$NPROC")
  if [ "$HAVE_TORCH" = 1 ]; then
    step "race_torch_$P" "${BUDGET[race_torch_$P]}" "${TCMD[@]}"
  else
    skip "race_torch_$P" "$TORCH_WHY" "${TCMD[@]}"
  fi
done

# 3. peak GPU memory of one method on one conv path at a time (the sampler runs throughout)
for K in cudnn generic; do
  for M in ce scl; do
    step "mem_auscult_${M}_$K" "${BUDGET[mem_auscult_${M}_$K]}" "${A[@]}" bench train \
      --device "$DEVICE" --methods "$M" --batch-size "$BATCH" --recordings "$MEM_REC" --epochs 1 \
      --threads "$NPROC" --kernels "$K"
  done
done
for M in ce scl; do
  TCMD=("$PY" scripts/bench_methods_torch.py --device "$TDEV" --batch "$BATCH" --methods "$M"
    "${TORCH_MEM[@]}" --threads "$NPROC")
  if [ "$HAVE_TORCH" = 1 ]; then
    step "mem_torch_$M" "${BUDGET[mem_torch_$M]}" "${TCMD[@]}"
  else
    skip "mem_torch_$M" "$TORCH_WHY" "${TCMD[@]}"
  fi
done

# 4. one full ICBHI-sized CE epoch on a cache built once
BUILD=("${A[@]}" pipeline build --dataset icbhi --input "$WORK/data" --output "$WORK/cache"
  --jobs "$NPROC" ${CACHE_OPTS[@]+"${CACHE_OPTS[@]}"})
EPOCH=("${A[@]}" train ce --data "$WORK/cache" --out "$WORK/run" --epochs 1 --batch-size "$BATCH"
  --device "$DEVICE" --threads "$NPROC" --kernels cudnn)
if step synth "${BUDGET[synth]}" "${A[@]}" pipeline synth --dataset icbhi --output "$WORK/data" \
    --recordings "$CACHE_REC" --seed 0; then
  if step build "${BUDGET[build]}" "${BUILD[@]}"; then
    step epoch "${BUDGET[epoch]}" "${EPOCH[@]}"
  else
    skip epoch "no cache: the build step did not pass" "${EPOCH[@]}"
  fi
else
  skip build "no database: the synth step did not pass" "${BUILD[@]}"
  skip epoch "no cache: the synth step did not pass" "${EPOCH[@]}"
fi

# 5. N CE trainings at once on the one device
cat > "$WORK/concurrent.sh" <<'SHEOF'
# concurrent.sh N PREFIX CMD...: CMD N times at once; their outputs one after the other.
n=$1 pre=$2; shift 2
pids=()
for i in $(seq 1 "$n"); do "$@" > "$pre.$i.log" 2>&1 & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
for i in $(seq 1 "$n"); do echo "### process $i of $n"; cat "$pre.$i.log"; done
exit "$rc"
SHEOF
for N in $CONCURRENCY; do
  T=$(( NPROC / N )); [ "$T" -lt 1 ] && T=1
  step "concurrent_$N" "${BUDGET[concurrent_$N]}" bash "$WORK/concurrent.sh" "$N" \
    "$WORK/out/concurrent_$N" "${A[@]}" bench train --device "$DEVICE" --methods ce \
    --batch-size "$BATCH" --recordings "$CONC_REC" --epochs "$CONC_EPOCHS" --threads "$T" \
    --kernels cudnn
done

FINAL_RC=$ANY_FAILED
exit "$FINAL_RC"
