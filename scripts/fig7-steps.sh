#!/usr/bin/env bash
# Fig. 7 on the shipped model: FID against DDIM steps at 28×28 (the training resolution) and 56×56, with the x̂₀ clip
# and the DDIM step grid each switched. One `infty eval` per point (same seed, so every point starts from the same
# noise and the comparisons are paired); one JSON per point in OUT, named r<R>-<variant>-s<STEPS>-n<N>.json.
# A point whose file exists is skipped, so a killed run resumes where it stopped; points run in the order listed
# (the default variant first). `readStepsCurve` (src/lib/eval/steps-curve.ts) reads OUT; docs/results.md and
# notebook 06 show it.
# Usage: bash scripts/fig7-steps.sh [N] [POINTS...]
#   a point is R:VARIANT:STEPS, VARIANT ∈ default | noclip (clip off) | even (grid T−1…0 instead of the authors' stride)
#   CK=checkpoint OUT=dir override what is evaluated and where; INFTY the command that runs the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}; shift || true
CK=${CK:-data/checkpoints/fashion-mnist.ckpt}
OUT=${OUT:-results/fig7-shipped}
INFTY=${INFTY:-node dist/src/cli/infty.js}   # e.g. a copy of dist/, so a rebuild cannot change a running sweep
if [ $# -eq 0 ]; then
  set -- 28:default:10 28:default:25 28:default:100 56:default:10 56:default:25 \
    28:noclip:10 28:noclip:25 28:noclip:100 28:even:10 28:even:25 28:even:100 56:default:100
fi
mkdir -p "$OUT"
for point in "$@"; do
  IFS=: read -r R VARIANT STEPS <<< "$point"
  case "$VARIANT" in
    default) extra=() ;;
    noclip) extra=(--clip-tx0 off) ;;
    even) extra=(--ddim-grid even) ;;
    *) echo "fig7-steps: unknown variant '$VARIANT' in '$point' (default | noclip | even)" >&2; exit 2 ;;
  esac
  json="$OUT/r$R-$VARIANT-s$STEPS-n$N.json"
  if [ -f "$json" ]; then echo "fig7-steps: keeping $json" >&2; continue; fi
  batch=$(( R <= 28 ? 50 : 25 ))
  echo "fig7-steps: $R×$R $VARIANT, $STEPS steps, n = $N → $json" >&2
  $INFTY eval --checkpoint "$CK" --resolution "$R" --n "$N" --steps "$STEPS" --batch "$batch" \
    "${extra[@]}" --quiet --json "$json"
done
