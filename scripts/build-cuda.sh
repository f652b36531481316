#!/usr/bin/env bash
# Cross-builds `auscult` with `--features cuda` (or cudnn) on a machine that has neither a GPU
# nor a CUDA toolkit, and prints the path of the one binary to carry to a GPU machine.
#
# The toolkit pieces come from NVIDIA's pip wheels, all pinned to one CUDA release (the GPU
# machines' driver runs CUDA 13.0), installed outside the repository. candle links libcuda,
# libcublas, libcublasLt, libcudart, libcurand and libnvrtc by their unversioned names: the wheels'
# versioned .so files get unversioned symlinks in a link folder, and libcuda (the driver, which
# has no wheel) is replaced at link time by a stub exporting every `cu*` symbol cudarc declares.
# The real driver is on the GPU machine.
#
# Usage: scripts/build-cuda.sh [--cudnn] [--compute-cap 90]
# Env:   AUSCULT_CUDA_TOOLS (default ~/.cache/auscult-cuda): wheels, link folder, stub
#        CARGO_TARGET_DIR   (default ~/.cache/auscult-target-cuda): the first build takes ~10
#                           minutes on 2 cores (PTX kernels); keep the folder to reuse it.
# On the GPU machine: gunzip -c dist/auscult-cuda.gz > auscult && chmod +x auscult, then
#   LD_LIBRARY_PATH=<site-packages>/nvidia/cu13/lib ./auscult train ... --device cuda:0
# and, for a --cudnn build, <site-packages>/nvidia/cudnn/lib too (PyTorch's own wheels carry
# those libraries; `ldd ./auscult` shows what is still missing; scripts/gpu_check.sh sets both).
set -euo pipefail
cd "$(dirname "$0")/.."
FEATURES=cuda
COMPUTE_CAP=90
while [ $# -gt 0 ]; do
  case "$1" in
    --cudnn) FEATURES=cudnn; shift ;;
    --compute-cap) COMPUTE_CAP="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
TOOLS="${AUSCULT_CUDA_TOOLS:-$HOME/.cache/auscult-cuda}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auscult-target-cuda}"
SITE="$TOOLS/site"
CU="$SITE/nvidia/cu13"
LINK="$TOOLS/link"

wheels=(
  "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-crt==13.0.*"
  "nvidia-cuda-cccl==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cublas==13.0.*"
  "nvidia-cuda-nvrtc==13.0.*" "nvidia-curand==10.4.0.*"
)
[ "$FEATURES" = cudnn ] && wheels+=("nvidia-cudnn-cu13")
# `pip install --target --upgrade` replaces whole top-level folders, and every wheel here lives
# under `nvidia/`: installing the cuda set alone would drop the cudnn wheel a --cudnn build put
# there. So the site always gets every wheel it has held (wheels.txt) with the wanted ones.
held="$TOOLS/wheels.txt"
mapfile -t all < <({ printf '%s\n' "${wheels[@]}"; cat "$held" 2>/dev/null || true; } | sort -u)
stamp="$TOOLS/installed-$(printf '%s\n' "${all[@]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "installing the CUDA 13.0 toolkit wheels into $SITE (once): ${all[*]}" >&2
  mkdir -p "$SITE"
  python3 -m pip install -q --upgrade --target "$SITE" "${all[@]}" >&2
  printf '%s\n' "${all[@]}" > "$held.tmp" && mv "$held.tmp" "$held"
  touch "$stamp"
fi
[ -x "$CU/bin/nvcc" ] || { echo "nvcc not found in $CU/bin after installing the wheels" >&2; exit 1; }

# Unversioned names for the linker.
mkdir -p "$LINK"
for lib in cublas cublasLt cudart curand nvrtc; do
  real=$(ls "$CU"/lib/lib$lib.so.* 2>/dev/null | sort -V | head -n 1 || true)
  [ -n "$real" ] || { echo "lib$lib.so.* not found in $CU/lib" >&2; exit 1; }
  ln -sf "$real" "$LINK/lib$lib.so"
done
# cuDNN is not in nvidia/cu13/lib: the nvidia-cudnn-cu13 wheel installs to nvidia/cudnn/lib
# (libcudnn.so.9 beside its libcudnn_*.so.9 engines, which libcudnn.so.9 loads at run time).
if [ "$FEATURES" = cudnn ]; then
  CUDNN_LIB="$SITE/nvidia/cudnn/lib"
  real=$(ls "$CUDNN_LIB"/libcudnn.so.* 2>/dev/null | sort -V | head -n 1 || true)
  [ -n "$real" ] || { echo "libcudnn.so.* not found in $CUDNN_LIB (nvidia-cudnn-cu13 wheel)" >&2; exit 1; }
  ln -sf "$real" "$LINK/libcudnn.so"
  echo "cuDNN: $LINK/libcudnn.so -> $real" >&2
else
  rm -f "$LINK/libcudnn.so"
fi

# A stub libcuda.so (soname libcuda.so.1) exporting every driver function cudarc declares.
cudarc=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$cudarc" ]; then
  cargo fetch -q
  cudarc=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-* | sort -V | tail -n 1)
fi
grep -oE '^pub unsafe fn cu[A-Za-z0-9_]+' "$cudarc/src/driver/sys/mod.rs" | sed 's/^pub unsafe fn //' | sort -u \
  | awk '{ printf "void %s(void) {}\n", $1 }' > "$LINK/libcuda_stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$LINK/libcuda.so" "$LINK/libcuda_stub.c"
echo "stub libcuda.so: $(grep -c . "$LINK/libcuda_stub.c") symbols from $(basename "$cudarc")" >&2

export PATH="$CU/bin:$PATH" CUDA_ROOT="$CU" CUDA_PATH="$CU" CUDA_HOME="$CU"
export CUDA_COMPUTE_CAP="$COMPUTE_CAP" LIBRARY_PATH="$LINK${LIBRARY_PATH:+:$LIBRARY_PATH}"
# No debug info: the binary must stay small enough to carry (the CPU profile keeps line tables).
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
cargo build --release --features "$FEATURES" >&2
bin="$CARGO_TARGET_DIR/release/auscult"
echo "built $bin ($(du -h "$bin" | cut -f1), features $FEATURES, sm_$COMPUTE_CAP); it links:" >&2
ldd "$bin" | grep -E "cuda|cublas|curand|nvrtc|cudnn" >&2 || true
# The binary (~87 MB: polars + PTX kernels) is over the 64 MiB a device run can carry; gzip
# brings it to ~22 MB. scripts/gpu_check.sh unpacks it on the GPU machine.
mkdir -p dist
gzip -9 -c "$bin" > dist/auscult-cuda.gz.tmp && mv dist/auscult-cuda.gz.tmp dist/auscult-cuda.gz
echo "packed dist/auscult-cuda.gz ($(du -h dist/auscult-cuda.gz | cut -f1); ignored by git; carry [\"dist\"])" >&2
echo "$bin"
