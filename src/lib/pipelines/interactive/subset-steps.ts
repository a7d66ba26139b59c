/**
 * Coordinate subsets as plain arrays for a slider over the ratio (notebook 03): one uniform and one QMC subset per
 * ratio (their points in (0,1)²) and the Monte-Carlo error of estimating a field's mean from each kind of subset
 * (RMSE over seeds, with the closed form for uniform sampling without replacement).
 */
import { CoordSet, positions, qmcSubset, subsetCount, uniformSubset } from "../../coords/coordinates";
import { integrationError, uniformSubsetMeanStd } from "../../coords/mc-integration";
import { Rng } from "../../runtime/rng";

/** How a coordinate subset is drawn: uniformly or by QMC. */
export type SubsetSampler = "uniform" | "qmc";

/** One frame of the coordinate-subset slider: masks at one ratio for each sampler. */
export interface SubsetStep {
  ratio: number;
  /** points per subset */
  m: number;
  /** one subset per sampler: x and y of its points (cell centres in (0,1)², y down) */
  points: Record<SubsetSampler, { x: number[]; y: number[] }>;
  /** RMSE of the subset mean over the seeds, per sampler, and the closed form for uniform subsets */
  rmse: Record<SubsetSampler, number>;
  rmseUniformTheory: number;
}

const DRAW: Record<SubsetSampler, (rng: Rng, B: number, H: number, W: number, size: { ratio: number }) => CoordSet> = {
  uniform: uniformSubset, qmc: qmcSubset,
};

/** field: row-major [H·W] values whose mean is the integral being estimated. */
export function subsetSteps(opts: { H: number; W: number; ratios: number[]; seeds: number; field: ArrayLike<number>; seed?: number }): SubsetStep[] {
  const { H, W } = opts;
  if (opts.field.length !== H * W) throw new Error(`field has ${opts.field.length} values for ${H}×${W}`);
  const rng = new Rng(opts.seed ?? 0);
  return opts.ratios.map((ratio) => {
    const m = subsetCount(H, W, { ratio });
    const points = {} as SubsetStep["points"], rmse = {} as SubsetStep["rmse"];
    for (const s of ["uniform", "qmc"] as const) {
      const p = positions(DRAW[s](rng, 1, H, W, { ratio }));
      const x: number[] = [], y: number[] = [];
      for (let i = 0; i < p.length; i += 2) { y.push(p[i]); x.push(p[i + 1]); }
      points[s] = { x, y };
      rmse[s] = integrationError(DRAW[s](rng, opts.seeds, H, W, { ratio }), opts.field).rmse;
    }
    return { ratio, m, points, rmse, rmseUniformTheory: uniformSubsetMeanStd(opts.field, m) };
  });
}
