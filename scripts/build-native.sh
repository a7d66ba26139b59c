#!/usr/bin/env bash
# Builds the lab's native CPU kernels (native/infty_dnnl.cc → native/build/infty_dnnl.node): an N-API addon on oneDNN.
# Offline: Node's headers from /usr/include/node (or NODE_INCLUDE), oneDNN from the system (Debian: libdnnl-dev;
# Homebrew: onednn, found through `brew --prefix onednn`; elsewhere DNNL_ROOT=<prefix with include/ and lib/>).
# Exit 0 with a note when it cannot build: the lab then runs on wasm and `npx infty backend` says why.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { printf '[native] %s\n' "$*"; }
out=native/build/infty_dnnl.node
src=native/infty_dnnl.cc
CXX=${CXX:-g++}
command -v "$CXX" >/dev/null || { say "no C++ compiler ($CXX): skipped (the lab runs on wasm)"; exit 0; }

node_inc=${NODE_INCLUDE:-}
if [[ -z "$node_inc" ]]; then
  for d in "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node /usr/local/include/node; do
    [[ -f "$d/node_api.h" ]] && { node_inc=$d; break; }
  done
fi
[[ -n "$node_inc" && -f "$node_inc/node_api.h" ]] || { say "Node's headers (node_api.h) not found (set NODE_INCLUDE): skipped"; exit 0; }

flags=()
if [[ -n "${DNNL_ROOT:-}" ]]; then
  flags+=(-I"$DNNL_ROOT/include" -L"$DNNL_ROOT/lib" -Wl,-rpath,"$DNNL_ROOT/lib")
elif command -v brew >/dev/null && brew --prefix onednn >/dev/null 2>&1; then
  p=$(brew --prefix onednn); flags+=(-I"$p/include" -L"$p/lib" -Wl,-rpath,"$p/lib")
fi
omp=(-fopenmp)
if [[ "$(uname)" == "Darwin" ]]; then
  # Apple clang has no -fopenmp driver flag; Homebrew's libomp supplies the runtime
  lp=$(brew --prefix libomp 2>/dev/null || true)
  omp=(-Xpreprocessor -fopenmp ${lp:+-I"$lp/include" -L"$lp/lib"} -lomp)
  flags+=(-undefined dynamic_lookup)
fi

# skip when up to date
if [[ -f "$out" && "$out" -nt "$src" && "$out" -nt "$0" ]]; then say "up to date: $out"; exit 0; fi
mkdir -p native/build
tmp="$out.$$.tmp"
if "$CXX" -O3 -std=c++17 -ffp-contract=off -shared -fPIC "${omp[@]}" -I"$node_inc" "${flags[@]}" "$src" -o "$tmp" -ldnnl 2>native/build/build.log; then
  mv "$tmp" "$out"
  say "built $out ($(node -e "const m=require('./$out');const i=m.info();console.log('oneDNN '+i.version+', '+i.cpuIsa)" 2>&1))"
else
  rm -f "$tmp"
  say "build failed (see native/build/build.log; is oneDNN installed? Debian: apt-get install libdnnl-dev): skipped, the lab runs on wasm"
  tail -3 native/build/build.log | sed 's/^/[native]   /'
fi
exit 0
