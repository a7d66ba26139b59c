/** Ablation-table statistics (src/lib/experiments/statistics.ts) against independent computations. */
import { strict as assert } from "assert";
import {
  Rng, mean, sampleStd, ranks, spearman, bootstrapMeanInterval, rankAgreement, pairedComparison, tTwoSidedP, tQuantile,
  incompleteBeta, quantileSorted,
} from "infty-diff-lab";

const close = (a: number, b: number, tol: number, what = "") => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe("ablation statistics: bootstrap, Spearman ρ, paired t", () => {
  it("mean, sample std, quantiles (numpy's linear rule)", () => {
    close(mean([1, 2, 3, 10]), 4, 1e-15);
    close(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])!, Math.sqrt(32 / 7), 1e-12);
    assert.equal(sampleStd([3]), null);
    close(quantileSorted([1, 2, 3, 4], 0.25), 1.75, 1e-15); // numpy.quantile([1,2,3,4], 0.25) = 1.75
  });

  it("Spearman ρ: the no-ties formula 1 − 6Σd²/(n(n²−1)), and average ranks with ties", () => {
    const a = [118.7, 131.4, 115.5, 129.9, 250.4], b = [4.75, 5.63, 7.63, 24.49, 85.99];
    const ra = ranks(a), rb = ranks(b), n = a.length;
    const d2 = ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0);
    close(spearman(a, b), 1 - (6 * d2) / (n * (n * n - 1)), 1e-12, "formula");
    close(spearman(a, b), 0.5, 1e-12, "the issue's ρ for the 2-seed Table 2");
    assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
    // ties: Pearson of ranks [1, 2.5, 2.5, 4] and [1, 2, 3, 4] = 0.948683 (√0.9)
    close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), Math.sqrt(0.9), 1e-12, "ties");
    close(spearman([1, 2, 3], [3, 2, 1]), -1, 1e-15);
  });

  it("Student's t: exact cases (ν = 1 Cauchy, ν = 2 closed form) and table quantiles", () => {
    close(tTwoSidedP(1, 1), 0.5, 1e-12, "Cauchy P(|T|>1)");
    for (const t of [0.3, 1.7, 4.2]) close(tTwoSidedP(t, 2), 1 - t / Math.sqrt(2 + t * t), 1e-12, `ν=2, t=${t}`);
    close(tTwoSidedP(3.182446, 3), 0.05, 1e-6, "t(0.975, 3)");
    close(tTwoSidedP(2.776445, 4), 0.05, 1e-6, "t(0.975, 4)");
    close(tQuantile(0.95, 3), 3.182446, 1e-5);
    close(tQuantile(0.95, 1), 12.706205, 1e-4);
    close(incompleteBeta(0.3, 1, 1), 0.3, 1e-14);
    close(incompleteBeta(0.4, 2, 3), 0.5248, 1e-12); // I_x(2,3) = Σ_{j=2}^{4} C(4,j)xʲ(1−x)⁴⁻ʲ = 0.5248 at 0.4
  });

  it("bootstrap interval of the mean: exact for two values, ≈ normal theory for many", () => {
    // resampled means of {a, b}: a (¼), (a+b)/2 (½), b (¼) → the 2.5/97.5 % quantiles are a and b
    const iv = bootstrapMeanInterval([3, 7], new Rng(1))!;
    assert.deepEqual(iv, [3, 7]);
    assert.equal(bootstrapMeanInterval([3], new Rng(1)), null);
    const rng = new Rng(2), xs = Array.from({ length: 200 }, () => rng.normal());
    const [lo, hi] = bootstrapMeanInterval(xs, new Rng(3))!;
    const half = (1.96 * sampleStd(xs)!) / Math.sqrt(xs.length);
    close((hi - lo) / 2, half, 0.1 * half, "half-width");
    close((hi + lo) / 2, mean(xs), 0.1 * half, "centre");
  });

  it("ρ's bootstrap distribution: a point mass when seeds cannot reorder the means, spread when they can", () => {
    const paper = [1, 2, 3, 4];
    const apart = rankAgreement([[10, 11], [20, 21], [40, 41], [30, 31]], paper, new Rng(4), 2000);
    close(apart.rho, 0.8, 1e-12);
    assert.deepEqual(apart.interval, [0.8, 0.8]);
    assert.equal(apart.distribution.length, 1);
    const overlap = rankAgreement([[10, 30], [12, 28], [40, 41], [39, 42]], paper, new Rng(5), 4000);
    const total = overlap.distribution.reduce((s, d) => s + d.fraction, 0);
    close(total, 1, 1e-9, "fractions sum to 1");
    assert.ok(overlap.distribution.length > 1 && overlap.interval[0] < overlap.interval[1]);
  });

  it("paired comparison on shared seeds: hand-computed t, p, interval", () => {
    const ref = new Map([[0, 100], [1, 110], [2, 105], [3, 120]]);
    const v = new Map([[0, 101], [1, 112], [2, 108], [5, 999]]); // seed 5 has no pair, seed 3 is missing
    const c = pairedComparison(v, ref, new Rng(6))!;
    assert.deepEqual(c.seeds, [0, 1, 2]);
    // d = [1, 2, 3]: mean 2, sd 1, t = 2√3, ν = 2: p = 1 − t/√(2 + t²)
    close(c.meanDiff, 2, 1e-12);
    close(c.stdDiff!, 1, 1e-12);
    close(c.t!, 2 * Math.sqrt(3), 1e-12);
    close(c.p!, 1 - (2 * Math.sqrt(3)) / Math.sqrt(14), 1e-9);
    const q = tQuantile(0.95, 2); // 4.302653
    close(q, 4.302653, 1e-5);
    close(c.tInterval![0], 2 - q / Math.sqrt(3), 1e-9);
    assert.equal(pairedComparison(new Map([[9, 1]]), ref, new Rng(7)), null);
  });
});
