#!/usr/bin/env bash
# Issue 20's last step: the run in data/checkpoints/fashion-mnist-next.run becomes the shipped model.
#   1. the 2,500-step model keeps its files as data/checkpoints/fashion-mnist-2500.{ckpt,eval,log.jsonl,commands.jsonl}
#   2. `infty export` writes the run's EMA weights and training record as data/checkpoints/fashion-mnist.ckpt; the loss
#      log (up to the exported step) and the commands go beside it
#   3. the quality curve's last point (scripts/quality-curve.sh), which is also the quality bar at 28×28 (same weights,
#      seed, n and steps), then in two lanes, one core each: scripts/evaluate-shipped.sh (resolution generalisation at
#      matched n and steps, the README's grid picture) | the inpainting and super-resolution measurements, and the
#      memorisation check (each sample's nearest training image against held-out images'; scripts/memorisation.js)
#   4. the model card, docs/model-card.md (scripts/model-card.js), and docs/results.md's marked tables (shipped-tables.js --write)
# Every stage keeps what is done, so a killed run is resumed by running it again. docs/results.md's tables come from the
# files (src/release/shipped-report.ts; a test fails when a marked table differs from its files).
# Usage: bash scripts/ship-next.sh [NHI=1000] [STEPSHI=25] [N112=NHI]     (MIN_STEP=30000: refuse a run that is not there yet;
#   CURVE_N=1000 CURVE_STEPS=100: the curve point and quality bar; MEASURE_N=100 MEASURE_STEPS=25: inpainting/super-res)
set -euo pipefail
cd "$(dirname "$0")/.."
C=data/checkpoints; RUN=$C/fashion-mnist-next.run; OLD=$C/fashion-mnist-2500; NEW=$C/fashion-mnist
NHI=${1:-1000}; STEPSHI=${2:-25}; N112=${3:-$NHI}   # 112×112 costs ≈ 3 s per sample on one thread: N112=500 saves ≈ 25 min
CURVE_N=${CURVE_N:-1000}; CURVE_STEPS=${CURVE_STEPS:-100}; MEASURE_N=${MEASURE_N:-100}; MEASURE_STEPS=${MEASURE_STEPS:-25}
infty() { node dist/src/cli/infty.js "$@"; }

step=$(node -e 'const L = require("infty-diff-lab"); console.log(L.loadCheckpoint(process.argv[1]).meta.step)' "$RUN/checkpoint.bin")
if [ "$step" -lt "${MIN_STEP:-30000}" ]; then
  echo "ship-next: the run is at step $step, below MIN_STEP=${MIN_STEP:-30000}: train on (bash scripts/train-next.sh)" >&2; exit 2
fi
echo "ship-next: shipping step $step" >&2

if [ ! -f "$OLD.ckpt" ]; then
  for ext in ckpt eval log.jsonl commands.jsonl; do git mv "$NEW.$ext" "$OLD.$ext"; done
fi
if [ ! -f "$NEW.ckpt" ]; then
  infty export --run "$RUN" --out "$NEW.ckpt"
  node -e 'const L = require("infty-diff-lab"); const fs = require("fs");
    const [log, step, out] = process.argv.slice(1);
    fs.writeFileSync(out, L.readLogFile(log, +step).map((r) => JSON.stringify(r) + "\n").join(""));' "$RUN/log.jsonl" "$step" "$NEW.log.jsonl"
  cp "$RUN/commands.jsonl" "$NEW.commands.jsonl"
fi

bash scripts/quality-curve.sh "$RUN" "$CURVE_N" "$CURVE_STEPS"
mkdir -p "$NEW.eval"
if [ ! -f "$NEW.eval/r28-n$CURVE_N-s$CURVE_STEPS.json" ]; then
  node -e 'const fs = require("fs"); const [from, ck, out] = process.argv.slice(1);
    const r = JSON.parse(fs.readFileSync(from, "utf8"));
    r.note = `the quality-curve point (${from}): ${r.checkpoint} holds the EMA weights exported as ${ck}`;
    fs.writeFileSync(out, JSON.stringify(r, null, 2) + "\n");' "data/checkpoints/fashion-mnist.curve/step-$step.json" "$NEW.ckpt" "$NEW.eval/r28-n$CURVE_N-s$CURVE_STEPS.json"
fi

( INFTY_WASM_THREADS=1 bash scripts/evaluate-shipped.sh "$CURVE_N" "$CURVE_STEPS" "$NHI" "$N112" "$STEPSHI" ) &
lane1=$!
(
  export INFTY_WASM_THREADS=1
  [ -f "$NEW.eval/inpaint-fid.json" ] || node scripts/measure-autoencoders.js inpaint "$NEW.ckpt" "$NEW.eval/inpaint-fid.json" "$MEASURE_N" "$MEASURE_STEPS"
  [ -f "$NEW.eval/superres.json" ] || node scripts/measure-autoencoders.js superres-fmnist "$NEW.ckpt" "$NEW.eval/superres.json" "$MEASURE_N" "$MEASURE_STEPS"
  [ -f "$NEW.eval/memorisation.json" ] || node scripts/memorisation.js "$NEW.ckpt" "$NEW.eval/memorisation.json" "$CURVE_N" "$STEPSHI"
) &
lane2=$!
rc=0; wait "$lane1" || rc=$?; wait "$lane2" || rc=$?
if [ "$rc" = 0 ]; then
  node scripts/model-card.js "$NEW.ckpt" docs/model-card.md
  node scripts/shipped-tables.js --write
  echo "ship-next: done; docs/results.md's marked tables are the new model's: now its prose" >&2
fi
exit "$rc"
