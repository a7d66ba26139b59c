/**
 * Monte-Carlo integration over coordinate subsets (∞-Diff §3.1: a function is seen through m sampled points, so
 * every integral — the loss of Eq. 10 included — is a Monte-Carlo estimate). Plain float64 statistics over
 * typed arrays, no tensors: the estimate of a field's mean from each element's sampled cells, its error against
 * the full-grid mean, the closed form for uniform sampling without replacement, and a log-log slope.
 */
import type { CoordSet } from "./coordinates";

/** Mean of a one-channel field [H*W] (row-major) over each element's cells: [B] estimates of the field's mean. */
export function subsetMeans(set: CoordSet, field: ArrayLike<number>): Float64Array {
  const { B, H, W, M, cells } = set;
  if (field.length !== H * W) throw new Error(`subsetMeans: field has ${field.length} values for ${H}×${W}`);
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < M; i++) s += field[cells[b * M + i]];
    out[b] = s / M;
  }
  return out;
}

/** Error of a Monte-Carlo estimate of an image mean from m sampled pixels, over many subsets. */
export interface IntegrationError {
  /** the full-grid mean (the integral of the piecewise-constant field over [0,1]²) */
  truth: number;
  /** [B] subset estimates */
  estimates: Float64Array;
  /** root-mean-square error of the estimates over the B elements */
  rmse: number;
  /** mean of the estimates minus the truth */
  bias: number;
}

/** Error of the subset means of `field` against its full-grid mean, over the set's B independent elements. */
export function integrationError(set: CoordSet, field: ArrayLike<number>): IntegrationError {
  let truth = 0;
  for (let i = 0; i < field.length; i++) truth += field[i];
  truth /= field.length;
  const estimates = subsetMeans(set, field);
  let se = 0, sb = 0;
  for (const e of estimates) { se += (e - truth) ** 2; sb += e - truth; }
  return { truth, estimates, rmse: Math.sqrt(se / estimates.length), bias: sb / estimates.length };
}

/**
 * Standard deviation of the mean of m cells drawn uniformly WITHOUT replacement from a field of G values
 * (simple random sampling): √(S²/m · (G − m)/G), S² the field's variance with divisor G − 1. Zero at m = G.
 */
export function uniformSubsetMeanStd(field: ArrayLike<number>, m: number): number {
  const G = field.length;
  if (!(Number.isInteger(m) && m >= 1 && m <= G)) throw new Error(`m = ${m} not in 1..${G}`);
  let mu = 0;
  for (let i = 0; i < G; i++) mu += field[i];
  mu /= G;
  let ss = 0;
  for (let i = 0; i < G; i++) ss += (field[i] - mu) ** 2;
  return G === 1 ? 0 : Math.sqrt(((ss / (G - 1)) / m) * ((G - m) / G));
}

/** Least-squares slope of log y against log x (the convergence order of an error curve); positive values only. */
export function logLogSlope(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  if (xs.length !== ys.length || xs.length < 2) throw new Error("logLogSlope needs two equally long series (≥ 2 points)");
  const n = xs.length;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    if (!(xs[i] > 0 && ys[i] > 0)) throw new Error(`logLogSlope: non-positive value at ${i}`);
    const u = Math.log(xs[i]), v = Math.log(ys[i]);
    sx += u; sy += v; sxx += u * u; sxy += u * v;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}
