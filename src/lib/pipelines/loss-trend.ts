/**
 * The trend of a training loss log. Each `log.jsonl` row is the mean loss over the `steps` optimisation steps since the
 * previous row; timesteps differ per batch, so single rows are noisy. A trailing mean over a fixed span of *training
 * steps* shows the trend without the lag and start-up bias of an exponential average seeded with the first (highest)
 * loss, which sits above every point for thousands of steps.
 */

/** One log row: the training step it ends at, the mean loss over its `steps` steps (default 1). */
export interface LossRow {
  step: number;
  loss: number;
  steps?: number;
}

/**
 * Trailing mean over the rows whose steps fall in (step − windowSteps, step], weighted by each row's step count.
 * Early points average what exists so far (no padding with the first value). Returns one value per row, in order.
 */
export function trailingMeanLoss(rows: LossRow[], windowSteps: number): number[] {
  if (!(windowSteps > 0)) throw new Error(`windowSteps must be positive, got ${windowSteps}`);
  const out: number[] = [];
  let lo = 0, sum = 0, weight = 0;
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && rows[i].step < rows[i - 1].step) throw new Error(`log rows out of order at row ${i} (step ${rows[i].step})`);
    const w = rows[i].steps ?? 1;
    sum += rows[i].loss * w;
    weight += w;
    while (rows[lo].step <= rows[i].step - windowSteps) {
      const wl = rows[lo].steps ?? 1;
      sum -= rows[lo].loss * wl;
      weight -= wl;
      lo++;
    }
    out.push(sum / weight);
  }
  return out;
}

/** What a log covers: rows, the last training step, and the wall hours its rows record (`sec`). */
export function logSpan(rows: (LossRow & { sec?: number })[]): { rows: number; steps: number; hours: number } {
  return {
    rows: rows.length,
    steps: rows.length ? rows[rows.length - 1].step : 0,
    hours: rows.reduce((a, r) => a + (r.sec ?? 0), 0) / 3600,
  };
}
