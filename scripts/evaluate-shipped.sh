#!/usr/bin/env bash
# Evaluates the shipped Fashion-MNIST checkpoint and writes the figures quoted in the README:
#   data/checkpoints/fashion-mnist.eval/*.json  (FID/KID at 28, 56, 112 + the quality bar's baselines at the same n)
#   docs/img/samples-resolutions.png            (the same samples at 14, 28, 56, 112: `infty grid`)
# Two lanes run side by side (one per core). Sample counts and DDIM steps are arguments because sampling at 112×112
# on a 2-core CPU is slow; the README states which were used.
# Usage: bash scripts/evaluate-shipped.sh [N28] [STEPS28] [NHI] [N112] [STEPSHI]
#   CK=checkpoint OUT=dir IMG=png override what is evaluated and where (e.g. a candidate before it replaces the shipped one)
set -euo pipefail
cd "$(dirname "$0")/.."
N28=${1:-1000}; STEPS28=${2:-100}; NHI=${3:-300}; N112=${4:-64}; STEPSHI=${5:-25}
CK=${CK:-data/checkpoints/fashion-mnist.ckpt}
OUT=${OUT:-data/checkpoints/fashion-mnist.eval}
IMG=${IMG:-docs/img/samples-resolutions.png}
mkdir -p "$OUT" "$(dirname "$IMG")"
infty() { node dist/src/cli/infty.js "$@"; }
# lane 1: the quality bar at 28×28
( infty eval --checkpoint "$CK" --resolution 28 --n "$N28" --steps "$STEPS28" --batch 50 --baselines --quiet --force --json "$OUT/r28-n$N28-s$STEPS28.json" ) &
# lane 2: resolution generalisation at a matched (smaller) n and steps, then the picture
(
  infty eval --checkpoint "$CK" --resolution 28 --n "$NHI" --steps "$STEPSHI" --batch 50 --baselines --quiet --force --json "$OUT/r28-n$NHI-s$STEPSHI.json"
  infty eval --checkpoint "$CK" --resolution 56 --n "$NHI" --steps "$STEPSHI" --batch 25 --baselines --quiet --force --json "$OUT/r56-n$NHI-s$STEPSHI.json"
  infty eval --checkpoint "$CK" --resolution 28 --n "$N112" --steps "$STEPSHI" --batch 48 --baselines --quiet --force --json "$OUT/r28-n$N112-s$STEPSHI.json"
  infty eval --checkpoint "$CK" --resolution 112 --n "$N112" --steps "$STEPSHI" --batch 8 --baselines --quiet --force --json "$OUT/r112-n$N112-s$STEPSHI.json"
  infty grid --checkpoint "$CK" --resolutions 14,28,56,112 --n 6 --steps "$STEPSHI" --quiet --force --out "$IMG"
) &
wait
