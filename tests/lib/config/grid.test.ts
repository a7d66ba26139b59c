import { strict as assert } from "assert";
import {
  DEFAULT_CONFIG, InftyDiffNetwork, PointContext, Rng, derived, diffusionProcess, fullGrid, gridResolution, resampledKernelSize,
  resolveConfig, tf,
} from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

describe("grid-dependent quantities (grid.ts: one derivation, one meaning of resolution)", () => {
  const cfg = DEFAULT_CONFIG; // r₀ = 28, σ = 1 px at r₀, k = 7, coordRatio = 1/4

  it("pins the table for 14/28/56/112/224 (the paper's default config)", () => {
    // σ and c scale as r/r₀; points are round(HW/4); kernel sizes follow kernel-resample.ts's rule (pinned there)
    const table = [14, 28, 56, 112, 224].map((r) => {
      const d = derived(cfg, r);
      return [r, d.resolution, d.scale, d.mollifierStdPx[0], d.mollifierStdPx[1], d.noiseMultiplier, d.pointsPerImage];
    });
    assert.deepEqual(table, [
      [14, 14, 0.5, 0.5, 0.5, 0.5, 49],
      [28, 28, 1, 1, 1, 1, 196],
      [56, 56, 2, 2, 2, 2, 784],
      [112, 112, 4, 4, 4, 4, 3136],
      [224, 224, 8, 8, 8, 8, 12544],
    ]);
    for (const r of [14, 28, 56, 112, 224]) assert.equal(derived(cfg, r).kernelSize, resampledKernelSize(7, 28, r));
    assert.equal(derived(cfg).kernelSize, 7);
  });

  it("a non-square grid: σ per axis, c = √(HW)/r₀, kernel at r = √(HW), points round(ratio·HW); transposing swaps only σ", () => {
    const d = derived(cfg, [28, 56]);
    assert.equal(d.H, 28);
    assert.equal(d.W, 56);
    assert.ok(Math.abs(d.resolution - Math.sqrt(28 * 56)) < 1e-12);
    assert.deepEqual(d.mollifierStdPx, [1, 2]);
    assert.ok(Math.abs(d.noiseMultiplier - Math.SQRT2) < 1e-12);
    assert.equal(d.kernelSize, resampledKernelSize(7, 28, Math.sqrt(28 * 56)));
    assert.equal(d.pointsPerImage, 392);
    const t = derived(cfg, [56, 28]);
    assert.deepEqual(t.mollifierStdPx, [2, 1]);
    assert.deepEqual([t.resolution, t.noiseMultiplier, t.kernelSize, t.pointsPerImage], [d.resolution, d.noiseMultiplier, d.kernelSize, d.pointsPerImage]);
  });

  it("T = I has noise multiplier 1 at every grid; odd ratios round half up as coordinate subsets do", () => {
    const white = resolveConfig({ diffusion: { mollifierStd: 0 } });
    assert.deepEqual([14, 56, 224].map((r) => derived(white, r).noiseMultiplier), [1, 1, 1]);
    assert.deepEqual(derived(white, 56).mollifierStdPx, [0, 0]);
    const third = resolveConfig({ train: { coordRatio: 0.3 } });
    assert.equal(derived(third, 5).pointsPerImage, 8); // 7.5 → 8
    assert.equal(derived(third, [3, 5]).pointsPerImage, 5); // 4.5 → 5
  });

  it("what the pipelines use agrees with the table: the process's mollifier and the network's kernel size", () => {
    const tiny = tinyConfig();
    const before = tf.memory().numTensors;
    const { mollifier, schedule } = diffusionProcess(tiny);
    assert.equal(schedule.T, tiny.diffusion.timesteps);
    const net = new InftyDiffNetwork(tiny.model, new Rng(0));
    try {
      for (const [H, W] of [[12, 12], [24, 24], [6, 6], [12, 24], [24, 12]] as const) {
        const d = derived(tiny, [H, W]);
        assert.deepEqual(mollifier.stdAt(H, W), d.mollifierStdPx);
        assert.equal(mollifier.noiseMultiplier(H, W), d.noiseMultiplier);
        assert.equal(gridResolution(H, W), d.resolution);
        const ctx = net.context(fullGrid(1, H, W)) as PointContext;
        assert.equal(ctx.kernelSize, d.kernelSize, `${H}×${W}`);
        assert.equal(ctx.resolution, d.resolution);
        ctx.dispose();
      }
    } finally {
      net.dispose();
      mollifier.dispose();
    }
    assert.equal(tf.memory().numTensors, before, "contexts and the network leave no tensor behind");
  });

  it("rejects a grid side that is not a positive integer", () => {
    assert.throws(() => derived(cfg, 0), /resolution must be a positive integer, got 0/);
    assert.throws(() => derived(cfg, [28, 2.5]), /positive integer, got 2.5/);
  });
});
