#!/usr/bin/env bash
# Set-up for the ∞-Diff lab on Debian/Ubuntu (idempotent: rerunning only does what is missing or changed).
#   1. Debian packages: Jupyter (classic Notebook, nbconvert, nbclient), Chromium for the notebook tests (its
#      SwiftShader is also the software WebGPU adapter of the webgpu tests) and the Vulkan loader (libvulkan1).
#   2. npm ci from package-lock.json (skipped when node_modules matches the lock), then the build (tsc → dist/).
#   2b. The native CPU backend (scripts/build-native.sh): an N-API addon on oneDNN (libdnnl-dev, built with g++ from
#      build-essential); where it cannot be built the lab runs on wasm and says why.
#   3. The tslab kernel, registered project-locally: jupyter/kernels/tslab (found through JUPYTER_PATH, which
#      `npm run lab` and the notebook tests set) — nothing is written to the system's or user's Jupyter dirs.
# Elsewhere (macOS, no apt): install Jupyter with pip (`pip install notebook nbconvert nbclient`) and Chromium,
# then run this script with INFTY_NO_APT=1.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# --- 1. system packages -------------------------------------------------------------------------------------
# libvulkan1: the Vulkan loader dawn (npm `webgpu`) opens; with chromium's SwiftShader it gives the webgpu tests an adapter
# libdnnl-dev, build-essential: oneDNN's headers and g++ for the native backend's addon (scripts/build-native.sh)
APT_PACKAGES=(jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client chromium chromium-driver libvulkan1 libdnnl-dev build-essential)
if [[ "${INFTY_NO_APT:-0}" != "1" ]]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null || { say "apt-get not found: install ${missing[*]} yourself, then rerun with INFTY_NO_APT=1"; exit 1; }
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    say "installing ${missing[*]} (apt, no recommends: pandoc etc. are not needed)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    say "Debian packages present (${APT_PACKAGES[*]})"
  fi
fi
/usr/bin/python3 -c "import notebook, nbclient, nbconvert" 2>/dev/null \
  || { say "Jupyter is not importable by /usr/bin/python3 (notebook, nbclient, nbconvert)"; exit 1; }

# --- 2. node packages and build ------------------------------------------------------------------------------
node -e 'const [maj] = process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`[setup] Node ${process.versions.node}: the lab needs Node >= 20`); process.exit(1); }'
# npm ci wipes and reinstalls node_modules; skip it when the tree is in sync with the lock file — npm's own test:
# its hidden lock file (node_modules/.package-lock.json, written by every install) is newer than package-lock.json.
if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json && -x node_modules/.bin/tslab ]]; then
  say "node_modules is in sync with package-lock.json (npm ci skipped)"
else
  say "npm ci (the optional GPU backend @tensorflow/tfjs-node-gpu is skipped where libtensorflow cannot be fetched)"
  npm ci --no-audit --no-fund
fi
say "npm run build (tsc → dist/)"
npm run build --silent
bash scripts/build-native.sh

# --- 3. tslab kernel, project-local --------------------------------------------------------------------------
export JUPYTER_PATH="$PWD/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
[[ -f jupyter/kernels/tslab/kernel.json ]] || { say "jupyter/kernels/tslab/kernel.json missing from the checkout"; exit 1; }
# capture first: `… | grep -q` closes the pipe on the first match, jupyter then dies of SIGPIPE and pipefail
# turns that race into a spurious failure
kernels=$(jupyter kernelspec list 2>/dev/null || true)
grep -q "$PWD/jupyter/kernels/tslab" <<<"$kernels" \
  || { say "Jupyter does not see the project's tslab kernel"; exit 1; }
node_modules/.bin/tslab --version >/dev/null
say "tslab kernel: jupyter/kernels/tslab (TypeScript $(node -p 'require("@tslab/typescript-for-tslab/package.json").version'))"
say "done. Lab: npm run lab    Tests: npm test"
