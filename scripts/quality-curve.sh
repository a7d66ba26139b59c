#!/usr/bin/env bash
# The shipped model's quality curve (issue 20): FID/KID of every checkpoint a run kept with `infty train --keep-every`,
# n samples at 28×28 with DDIM, against the test set, with the held-out and blurred-test baselines at the same n.
# One JSON per step in OUT (step-N.json); a step already evaluated is skipped, so the script is rerun as training goes
# and a killed evaluation simply redoes its one step. readQualityCurve (src/lib/eval/quality-curve.ts) reads OUT.
# Usage: bash scripts/quality-curve.sh RUN [N] [STEPS] [OUT]
#   e.g. nice -n 5 bash scripts/quality-curve.sh data/checkpoints/fashion-mnist-next.run 1000 100
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:?usage: quality-curve.sh RUN [N] [STEPS] [OUT]}
N=${2:-1000}; STEPS=${3:-100}; OUT=${4:-data/checkpoints/fashion-mnist.curve}
[ -d "$RUN/snapshots" ] || { echo "quality-curve: $RUN/snapshots does not exist (train with --keep-every N)" >&2; exit 2; }
mkdir -p "$OUT"
for snap in $(ls "$RUN/snapshots" | grep -E '^step-[0-9]+\.bin$' | sort -t- -k2 -n); do
  step=${snap#step-}; step=${step%.bin}
  out="$OUT/step-$step.json"
  [ -f "$out" ] && continue
  echo "quality-curve: step $step → $out" >&2
  node dist/src/cli/infty.js eval --checkpoint "$RUN/snapshots/$snap" --resolution 28 --n "$N" --steps "$STEPS" --batch 50 \
    --baselines --quiet --json "$out"
done
