#!/usr/bin/env bash
# Evaluates the shipped Fashion-MNIST checkpoint and writes the figures quoted in docs/results.md:
#   data/checkpoints/fashion-mnist.eval/*.json  (FID/KID at 28, 56, 112 + the quality bar's baselines at the same n)
#   docs/img/samples-resolutions.png            (the same samples at 14, 28, 56, 112: `infty grid`)
# Two lanes run side by side (one per core; 112×112 gets most of one). Sample counts and DDIM steps are arguments
# because sampling at 112×112 on a 2-core CPU is slow; docs/results.md states which were used.
# Usage: bash scripts/evaluate-shipped.sh [N28] [STEPS28] [NHI] [N112] [STEPSHI]
#   CK=checkpoint OUT=dir IMG=png override what is evaluated and where (e.g. a candidate before it replaces the shipped one)
# A result file already in OUT is kept, so a killed evaluation resumes where it stopped; FORCE=1 redoes them all.
set -euo pipefail
cd "$(dirname "$0")/.."
N28=${1:-1000}; STEPS28=${2:-100}; NHI=${3:-300}; N112=${4:-64}; STEPSHI=${5:-25}
CK=${CK:-data/checkpoints/fashion-mnist.ckpt}
OUT=${OUT:-data/checkpoints/fashion-mnist.eval}
IMG=${IMG:-docs/img/samples-resolutions.png}
mkdir -p "$OUT" "$(dirname "$IMG")"
infty() { node dist/src/cli/infty.js "$@"; }
# eval R N STEPS BATCH: one `infty eval` at resolution R unless its result file exists
ev() {
  local json="$OUT/r$1-n$2-s$3.json"
  if [ -f "$json" ] && [ "${FORCE:-0}" != 1 ]; then echo "evaluate-shipped: keeping $json" >&2; return 0; fi
  infty eval --checkpoint "$CK" --resolution "$1" --n "$2" --steps "$3" --batch "$4" --baselines --quiet --force --json "$json"
}
# lane 1: the quality bar at 28×28, then 112×112 (the slowest grid; with the bar already there it has the lane alone)
(
  ev 28 "$N28" "$STEPS28" 50
  ev 112 "$N112" "$STEPSHI" 8
) &
lane1=$!
# lane 2: the matched 28×28 and 56×56 evaluations for the resolution table, then the picture
(
  ev 28 "$NHI" "$STEPSHI" 50
  ev 56 "$NHI" "$STEPSHI" 25
  ev 28 "$N112" "$STEPSHI" 48
  infty grid --checkpoint "$CK" --resolutions 14,28,56,112 --n 6 --steps "$STEPSHI" --quiet --force --out "$IMG"
) &
lane2=$!
# a failed lane fails the script (after the other has finished)
rc=0; wait "$lane1" || rc=$?; wait "$lane2" || rc=$?; exit "$rc"
