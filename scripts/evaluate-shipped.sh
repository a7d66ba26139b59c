#!/usr/bin/env bash
# Evaluates the shipped Fashion-MNIST checkpoint and writes the figures quoted in the README:
#   data/checkpoints/fashion-mnist.eval.json  (FID/KID at 28, 56, 112 + the quality bar's baselines)
#   docs/img/samples-resolutions.png          (the same samples at 14, 28, 56, 112: `infty grid`)
# Sample counts and DDIM steps are arguments because sampling at 112×112 on a 2-core CPU is slow; the README states
# which were used. Usage: bash scripts/evaluate-shipped.sh [N28] [STEPS28] [NHI] [STEPSHI] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
N28=${1:-1000}; STEPS28=${2:-100}; NHI=${3:-200}; STEPSHI=${4:-50}; WORKERS=${5:-2}
CK=data/checkpoints/fashion-mnist.ckpt
OUT=data/checkpoints/fashion-mnist.eval
mkdir -p "$OUT" docs/img
infty() { node dist/src/cli/infty.js "$@"; }
infty eval --checkpoint "$CK" --resolution 28 --n "$N28" --steps "$STEPS28" --batch 50 --workers "$WORKERS" --baselines --quiet --json "$OUT/r28-n$N28-s$STEPS28.json"
for r in 28 56 112; do
  infty eval --checkpoint "$CK" --resolution "$r" --n "$NHI" --steps "$STEPSHI" --batch 25 --workers "$WORKERS" --baselines --quiet --json "$OUT/r$r-n$NHI-s$STEPSHI.json"
done
infty grid --checkpoint "$CK" --resolutions 14,28,56,112 --n 6 --steps "$STEPSHI" --quiet --out docs/img/samples-resolutions.png
