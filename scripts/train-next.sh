#!/usr/bin/env bash
# Trains, or resumes, the next shipped Fashion-MNIST model (issue 20) in its committed run folder.
# The folder is committed (config, checkpoint with EMA and Adam state, loss log, commands; not the snapshots) because
# every session of this project starts on a fresh machine: a run folder outside the repository is lost with it.
# Snapshots every 2,500 steps (RUN/snapshots, git-ignored) feed scripts/quality-curve.sh before the session ends.
# Usage: bash scripts/train-next.sh            (WORKERS=1 for one core; STEPS to change the target)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=data/checkpoints/fashion-mnist-next.run
exec node dist/src/cli/infty.js train --config configs/fashion-mnist.json --run "$RUN" --steps "${STEPS:-30000}" \
  --workers "${WORKERS:-2}" --keep-every 2500 --quiet "$@"
