import { strict as assert } from "assert";
import { Rng, fullGrid, uniformSubset, qmcSubset, subsetMeans, integrationError, uniformSubsetMeanStd, logLogSlope } from "infty-diff-lab";

/** A smooth field on a 32×32 grid: cell-centre samples of a sum of a sine and a Gaussian bump. */
function smooth(H: number, W: number): Float64Array {
  const f = new Float64Array(H * W);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) {
    const y = (r + 0.5) / H, x = (c + 0.5) / W;
    f[r * W + c] = Math.sin(2 * Math.PI * (x + 0.5 * y)) + Math.exp(-((x - 0.3) ** 2 + (y - 0.6) ** 2) / 0.02);
  }
  return f;
}

describe("Monte-Carlo integration over coordinate subsets (§3.1)", () => {
  it("subset means: brute force per element; the full grid is exact", () => {
    const f = smooth(8, 8);
    const set = uniformSubset(new Rng(1), 3, 8, 8, { count: 5 });
    const means = subsetMeans(set, f);
    for (let b = 0; b < 3; b++) {
      let s = 0;
      for (let i = 0; i < 5; i++) s += f[set.cells[b * 5 + i]];
      assert.ok(Math.abs(means[b] - s / 5) < 1e-15);
    }
    const e = integrationError(fullGrid(2, 8, 8), f);
    assert.ok(e.rmse < 1e-15 && Math.abs(e.bias) < 1e-15);
    assert.throws(() => subsetMeans(set, new Float64Array(10)), /10 values/);
  });

  it("uniform subsets: unbiased, RMSE matches the without-replacement closed form; QMC is more accurate", () => {
    const H = 32, W = 32, f = smooth(H, W), S = 400, rng = new Rng(2);
    for (const m of [16, 64, 256]) {
      const u = integrationError(uniformSubset(rng, S, H, W, { count: m }), f);
      const sd = uniformSubsetMeanStd(f, m);
      assert.ok(Math.abs(u.rmse / sd - 1) < 0.15, `m=${m}: rmse ${u.rmse} vs closed form ${sd}`);
      assert.ok(Math.abs(u.bias) < 4 * sd / Math.sqrt(S), `m=${m}: bias ${u.bias}`);
      const q = integrationError(qmcSubset(rng, S, H, W, { count: m }), f);
      assert.ok(q.rmse < 0.7 * u.rmse, `m=${m}: QMC ${q.rmse} vs uniform ${u.rmse}`);
    }
    assert.equal(uniformSubsetMeanStd(f, H * W), 0);
  });

  it("log-log slope recovers a power law", () => {
    const xs = [1, 2, 4, 8, 16];
    assert.ok(Math.abs(logLogSlope(xs, xs.map((x) => 3 * x ** -0.5)) + 0.5) < 1e-12);
    assert.throws(() => logLogSlope([1, 2], [1, 0]), /non-positive/);
  });
});
