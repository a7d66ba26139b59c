/**
 * Statistics for ablation tables over a few seeds: mean ± sample std, a percentile-bootstrap 95 % interval of the
 * mean, Spearman's ρ between our ranking and the paper's with its bootstrap distribution (seeds resampled within each
 * variant), and paired comparisons on shared seeds (each variant against the reference, i.e. ∞-Diff) with a paired
 * t-test. Pure functions of plain numbers; randomness comes from an injected Rng.
 *
 * With 4 seeds a percentile bootstrap of the mean is narrow-biased (it cannot see beyond the observed values), so the
 * paired t interval and p-value are given beside it; both say what 4 seeds can say, not more.
 */
import betainc from "@stdlib/math-base-special-betainc";
import tDistQuantile from "@stdlib/stats-base-dists-t-quantile";
import { Rng } from "../runtime/rng";

/** Arithmetic mean (NaN for an empty list). */
export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); null below 2 values. */
export function sampleStd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** The q-quantile of sorted values (linear interpolation between order statistics, as numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q, i = Math.floor(pos), f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** Percentile bootstrap interval of the mean: B resamples with replacement; null below 2 values. */
export function bootstrapMeanInterval(xs: readonly number[], rng: Rng, opts: { resamples?: number; level?: number } = {}): [number, number] | null {
  const n = xs.length, B = opts.resamples ?? 10000, level = opts.level ?? 0.95;
  if (n < 2) return null;
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[rng.int(n)];
    means[b] = s / n;
  }
  const sorted = Array.from(means).sort((a, c) => a - c);
  return [quantileSorted(sorted, (1 - level) / 2), quantileSorted(sorted, 1 - (1 - level) / 2)];
}

/** Ranks 1…n, ties get their average rank. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let q = i; q <= j; q++) r[order[q][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's ρ: Pearson correlation of the ranks (ties averaged). NaN when a side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) throw new Error("spearman: need two equal-length lists of ≥ 2 values");
  const ra = ranks(a), rb = ranks(b), ma = mean(ra), mb = mean(rb);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb); saa += (ra[i] - ma) ** 2; sbb += (rb[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman ρ between two rankings with its bootstrap interval and distribution over seeds. */
export interface RankAgreement {
  /** ρ between the per-variant means and the paper's values */
  rho: number;
  /** bootstrap: seeds resampled with replacement within each variant, ρ of the resampled means */
  interval: [number, number];
  /** the bootstrap distribution: each distinct ρ and the fraction of resamples giving it (ρ is discrete for few variants) */
  distribution: { rho: number; fraction: number }[];
  resamples: number;
}

/** Spearman ρ of our ranking (per-variant seed values) against the paper's numbers, with its bootstrap distribution. */
export function rankAgreement(perVariant: readonly (readonly number[])[], paper: readonly number[], rng: Rng, resamples = 10000): RankAgreement {
  if (perVariant.length !== paper.length) throw new Error("rankAgreement: one list of seed values per paper number");
  if (perVariant.some((v) => v.length === 0)) throw new Error("rankAgreement: every variant needs at least one value");
  const rho = spearman(perVariant.map((v) => mean(v)), paper);
  const draws = new Float64Array(resamples);
  const counts = new Map<string, number>();
  for (let b = 0; b < resamples; b++) {
    const means = perVariant.map((v) => {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[rng.int(v.length)];
      return s / v.length;
    });
    const r = spearman(means, paper);
    draws[b] = r;
    const key = r.toFixed(6);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const sorted = Array.from(draws).sort((a, c) => a - c);
  const distribution = [...counts.entries()].map(([k, c]) => ({ rho: Number(k), fraction: c / resamples })).sort((a, c) => a.rho - c.rho);
  return { rho, interval: [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)], distribution, resamples };
}

// ---- Student's t: @stdlib's regularised incomplete beta and t quantile (docs/DESIGN.md, "Libraries") ------------

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  return betainc(Math.min(1, Math.max(0, x)), a, b);
}

/** Two-sided p-value of Student's t with ν degrees of freedom: P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, ½). */
export function tTwoSidedP(t: number, nu: number): number {
  return incompleteBeta(nu / (nu + t * t), nu / 2, 0.5);
}

/** The (1 − α/2) quantile of Student's t for a two-sided `level` (0.95: the 97.5 % quantile). */
export function tQuantile(level: number, nu: number): number {
  return tDistQuantile(1 - (1 - level) / 2, nu);
}

/** A variant against the reference on shared seeds: mean difference, paired-t interval, p, bootstrap. */
export interface PairedComparison {
  /** seeds both sides have */
  seeds: number[];
  /** mean of (variant − reference) over the shared seeds */
  meanDiff: number;
  stdDiff: number | null;
  /** paired t: 95 % interval of the mean difference and the two-sided p-value (null below 2 pairs or zero spread) */
  tInterval: [number, number] | null;
  t: number | null;
  p: number | null;
  /** percentile bootstrap 95 % interval of the mean difference */
  bootstrapInterval: [number, number] | null;
}

/** Paired comparison on the seeds both sides share: differences variant − reference. */
export function pairedComparison(variant: ReadonlyMap<number, number>, reference: ReadonlyMap<number, number>, rng: Rng, resamples = 10000): PairedComparison | null {
  const seeds = [...variant.keys()].filter((s) => reference.has(s)).sort((a, b) => a - b);
  if (!seeds.length) return null;
  const d = seeds.map((s) => variant.get(s)! - reference.get(s)!);
  const m = mean(d), sd = sampleStd(d), n = d.length;
  let t: number | null = null, p: number | null = null, tInterval: [number, number] | null = null;
  if (sd !== null && sd > 0) {
    const se = sd / Math.sqrt(n);
    t = m / se;
    p = tTwoSidedP(t, n - 1);
    const q = tQuantile(0.95, n - 1);
    tInterval = [m - q * se, m + q * se];
  }
  return { seeds, meanDiff: m, stdDiff: sd, tInterval, t, p, bootstrapInterval: bootstrapMeanInterval(d, rng, { resamples }) };
}
