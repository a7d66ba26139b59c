#!/usr/bin/env bash
# `npm run lab`: classic Jupyter Notebook on notebooks/ with the project's tslab kernel.
# Listens on 127.0.0.1 only and keeps token authentication; never opens a browser (prints the URL instead).
# INFTY_LAB_PORT picks the port (default 8888; Jupyter moves to the next free one if taken).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d dist/src/lib ]] || { echo "[lab] dist/ missing: run bash scripts/setup.sh (or npm run build)"; exit 1; }
command -v jupyter >/dev/null || { echo "[lab] jupyter not found: run bash scripts/setup.sh"; exit 1; }
export JUPYTER_PATH="$PWD/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PYDEVD_DISABLE_FILE_VALIDATION=1
PORT="${INFTY_LAB_PORT:-8888}"
cat <<MSG
[lab] starting Jupyter Notebook on http://127.0.0.1:$PORT (notebooks/, kernel "TypeScript (tslab, ∞-Diff lab)").
[lab] open the tokenised URL Jupyter prints below (http://127.0.0.1:$PORT/?token=...).
[lab] on a remote machine, forward the port first:  ssh -L $PORT:127.0.0.1:$PORT user@host   then open that URL locally.
[lab] INFTY_FAST=1 npm run lab makes every notebook take its small, fast settings. Stop with Ctrl-C.
MSG
ROOT_FLAG=()
[[ $(id -u) -eq 0 ]] && ROOT_FLAG=(--allow-root)
exec /usr/bin/python3 -m notebook --no-browser --ip=127.0.0.1 --port="$PORT" \
  --notebook-dir="$PWD/notebooks" --MappingKernelManager.default_kernel_name=tslab "${ROOT_FLAG[@]}"
