import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, prepareSampling, priorOf, priorSample, runSampler, ddim, ddpm, inBatches, clipToDataRange, spacedTimesteps,
  drawBatchPoints, drawBatchNoise, batchTensors, diffusionProcess, gatherPoints, imageBatch, qSample, uniformSubset, maxAbsDiff,
} from "infty-diff-lab";
import { tinyConfig, tinyData } from "../../helpers/tiny";
import { assertNoLeak } from "../../helpers/leak";

describe("the sampling pipeline and the training-batch recipe (sampling.ts, training-batch.ts)", () => {
  before(async () => {
    await initBackend("cpu", { quiet: true });
  });

  it("prior: T(c·ξ) from the rng equals priorSample's draw; from given noise it is T applied to c·ξ by hand", () => {
    const run = prepareSampling(tinyConfig());
    const g = run.grid([12, 24]);
    const a = priorOf(run, g, 2, new Rng(4));
    const b = priorSample([2, 12, 24, 1], new Rng(4), run.mollifier);
    const noise = new Rng(5).normals(2 * 12 * 24);
    const c = priorOf(run, g, 2, new Rng(0), noise);
    const byHand = tf.tidy(() => run.mollifier.apply(tf.mul(tf.tensor4d(noise, [2, 12, 24, 1]), Math.sqrt(12 * 24) / 12) as tf.Tensor4D));
    assert.equal(maxAbsDiff(a, b), 0);
    assert.ok(maxAbsDiff(c, byHand) < 1e-6);
    tf.dispose([a, b, c, byHand]);
    run.dispose();
  });

  it("sampler: runSampler is ddim (η default 0) or ddpm with the config's options; ddpm ignores η", async () => {
    const cfg = tinyConfig();
    const run = prepareSampling(cfg);
    const ts = spacedTimesteps(run.schedule.T, 4);
    const denoise = (xt: tf.Tensor4D) => tf.mul(xt, 0.1) as tf.Tensor4D; // any fixed Denoiser
    const g = run.grid(6);
    const xT = priorOf(run, g, 1, new Rng(1));
    const opts = run.options(g, new Rng(2));
    assert.equal(opts.noiseMultiplier, 0.5);
    assert.equal(opts.parameterisation, cfg.diffusion.parameterisation);
    assert.equal(opts.invSnr, cfg.diffusion.wienerInvSnr);
    const viaRun = await runSampler("ddim", denoise, xT, ts, run.options(g));
    const direct = await ddim(denoise, xT, ts, { ...run.options(g), eta: 0 });
    const viaRunP = await runSampler("ddpm", denoise, xT, ts, { ...run.options(g, new Rng(3)), eta: 0.7 });
    const directP = await ddpm(denoise, xT, ts, run.options(g, new Rng(3)));
    assert.equal(maxAbsDiff(viaRun.x0, direct.x0), 0);
    assert.equal(maxAbsDiff(viaRunP.x0, directP.x0), 0);
    tf.dispose([xT, viaRun.x0, viaRun.Tx0, direct.x0, direct.Tx0, viaRunP.x0, viaRunP.Tx0, directP.x0, directP.Tx0]);
    run.dispose();
  });

  it("clip and batch: values land in [−1, 1]; batches fill [n, …] in order; wrong sizes and n are errors", async () => {
    assert.deepEqual(Array.from(clipToDataRange(Float32Array.from([-3, -0.5, 0, 2]))), [-1, -0.5, 0, 1]);
    const seen: Array<[number, number]> = [];
    const [x, y] = await inBatches(5, 2, 3, async (start, b) => {
      seen.push([start, b]);
      return [Float32Array.from({ length: b * 3 }, (_, i) => start * 3 + i), new Float32Array(b * 3).fill(start)];
    });
    assert.deepEqual(seen, [[0, 2], [2, 2], [4, 1]]);
    assert.deepEqual(Array.from(x), Array.from({ length: 15 }, (_, i) => i));
    assert.deepEqual(Array.from(y), [0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 4, 4, 4]);
    await assert.rejects(inBatches(2, 2, 3, async () => [new Float32Array(5)]), /a batch of 2 returned 5 values, expected 6/);
    await assert.rejects(inBatches(0, 2, 3, async () => []), /n must be a positive integer/);
  });

  it("training batch: the same seed draws the same batch; x_t and the target are Eq. 11 and Tξ gathered at the subset", () => {
    const cfg = tinyConfig(), data = tinyData(8);
    const proc = diffusionProcess(cfg);
    const a = drawBatchPoints(cfg, 8, proc.schedule.T, new Rng(9)), b = drawBatchPoints(cfg, 8, proc.schedule.T, new Rng(9));
    assert.deepEqual([a.idx, a.ts, Array.from(a.set.cells)], [b.idx, b.ts, Array.from(b.set.cells)]);
    assert.equal(a.set.M, Math.round(cfg.train.coordRatio * 12 * 12));
    const xi = drawBatchNoise(cfg, new Rng(10));
    assert.deepEqual(xi.shape, [cfg.train.batchSize, 12, 12, 1]);
    const enc = uniformSubset(new Rng(11), cfg.train.batchSize, 12, 12, { ratio: 0.5 });
    const got = batchTensors(cfg, data, a, xi, proc, enc);
    const want = tf.tidy(() => {
      const x0 = imageBatch(data, a.idx);
      return [gatherPoints(qSample(x0, xi, a.ts, proc.schedule, proc.mollifier), a.set), gatherPoints(proc.mollifier.apply(xi), a.set), gatherPoints(x0, enc)];
    });
    assert.ok(maxAbsDiff(got.xt, want[0]) < 1e-6);
    assert.ok(maxAbsDiff(got.target, want[1]) < 1e-6, "mollified-ε target is Tξ (Eq. 46)");
    assert.ok(maxAbsDiff(got.x0!, want[2]) < 1e-6);
    tf.dispose([got.xt, got.target, got.x0!, ...want]);
    assertNoLeak(() => {
      const r = batchTensors(cfg, data, a, xi, proc);
      tf.dispose([r.xt, r.target]);
    });
    xi.dispose();
    proc.mollifier.dispose();
  });
});
