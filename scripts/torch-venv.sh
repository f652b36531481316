#!/usr/bin/env bash
# Creates (or reuses) a throwaway Python venv with the PyTorch stack used by the golden and
# side-by-side benchmark scripts. Never needed by CI or by `cargo test`.
# Pins from docs: torch/torchaudio 2.11.0 (unpinned torchaudio fails to import, see REFERENCE-NOTES).
# Usage: source <(scripts/torch-venv.sh)   or   PY=$(scripts/torch-venv.sh --python)
set -euo pipefail
VENV="${AUSCULT_TORCH_VENV:-$HOME/.cache/auscult-torch-venv}"
if ! "$VENV/bin/python" -c 'import torch, torchaudio, soundfile, numpy, safetensors' >/dev/null 2>&1; then
  echo "setting up PyTorch venv in $VENV (multi-GB download, once)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "torch==2.11.0" "torchaudio==2.11.0" soundfile numpy safetensors polars pandas pyarrow >&2
fi
if [ "${1:-}" = "--python" ]; then echo "$VENV/bin/python"; else echo "export PATH=\"$VENV/bin:\$PATH\""; fi
