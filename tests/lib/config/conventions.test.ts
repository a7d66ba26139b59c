/**
 * The four conventions that once differed from the authors' code (issue 16): each is a config field, each has a
 * default that a test here pins (so it cannot change silently), and stored configs without the field keep the value
 * they were made with (the 2,500-step checkpoint behaves exactly as before).
 */
import { strict as assert } from "assert";
import {
  initBackend, tf, DEFAULT_CONFIG, LEGACY_CONVENTIONS, resolveConfig, resolveStoredConfig, loadModel, dataPath,
  Rng, uniformSubset, positions, gridPositions, KnnToGrid, InftyDiffNetwork, PointContext,
  spacedTimesteps, strideTimesteps, ddimTimesteps, cosineSchedule, Mollifier, ddim, ddpm, Denoiser,
  resampledKernelSize, kernelResampleMatrix, roundHalfEven, expandRuns, loadSpec, hashableConfig,
} from "infty-diff-lab";

/** Python's len(range(0, T, i)), counted literally. */
function pyRangeLen(T: number, i: number): number {
  let n = 0;
  for (let t = 0; t < T; t += i) n++;
  return n;
}

describe("conventions (authors' code vs the lab): defaults pinned, stored configs keep theirs", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("old configs (no convention fields) resolve to what they were made with; new ones to today's defaults", () => {
    const old = resolveStoredConfig({ model: { resolution: 28 } });
    assert.equal(old.model.knnWeights, "inverse-distance");
    assert.equal(old.model.kernelResampling, "extent");
    assert.equal(old.diffusion.ddimGrid, "even");
    assert.equal(old.diffusion.clipTx0, true);
    const explicit = resolveStoredConfig({ model: { knnWeights: "inverse-squared-distance" }, diffusion: { ddimGrid: "ddim-stride" } });
    assert.equal(explicit.model.knnWeights, "inverse-squared-distance");
    assert.equal(explicit.diffusion.ddimGrid, "ddim-stride");
    assert.throws(() => resolveConfig({ diffusion: { clipTx0: "yes" } }), /clipTx0: must be true or false/);
    assert.throws(() => resolveConfig({ model: { knnWeights: "gaussian" } }), /knnWeights: must be one of/);
  });

  it("the 2,500-step model (kept for comparison) loads with its trained setting (inverse-distance kNN, even DDIM grid)", () => {
    const m = loadModel(dataPath("checkpoints", "fashion-mnist-2500.ckpt"));
    try {
      assert.equal(m.cfg.model.knnWeights, LEGACY_CONVENTIONS.model.knnWeights);
      assert.equal(m.cfg.model.kernelResampling, "extent");
      assert.equal(m.cfg.diffusion.ddimGrid, "even");
      assert.equal(m.cfg.diffusion.clipTx0, true);
    } finally {
      m.net.dispose();
    }
  });

  it("the shipped checkpoint was trained with the authors' conventions (today's defaults)", () => {
    const m = loadModel(dataPath("checkpoints", "fashion-mnist.ckpt"));
    try {
      assert.equal(m.cfg.model.knnWeights, "inverse-squared-distance");
      assert.equal(m.cfg.diffusion.ddimGrid, "ddim-stride");
      assert.equal(m.cfg.model.kernelResampling, DEFAULT_CONFIG.model.kernelResampling);
      assert.equal(m.cfg.diffusion.clipTx0, DEFAULT_CONFIG.diffusion.clipTx0);
      assert.equal(m.cfg.train.coordRatio, 0.25);
    } finally {
      m.net.dispose();
    }
  });

  it("experiment keys are unchanged for configs at the legacy values (results computed before keep their keys)", () => {
    const cfg = resolveConfig({ model: { knnWeights: "inverse-distance" }, diffusion: { ddimGrid: "even" } });
    const h = hashableConfig(cfg) as { model: Record<string, unknown>; diffusion: Record<string, unknown> };
    for (const k of ["knnWeights", "kernelResampling"]) assert.ok(!(k in h.model), k);
    for (const k of ["ddimGrid", "clipTx0"]) assert.ok(!(k in h.diffusion), k);
    const now = hashableConfig(resolveConfig({})) as { model: Record<string, unknown>; diffusion: Record<string, unknown> };
    assert.equal(now.model.knnWeights, "inverse-squared-distance", "a changed convention changes the key");
    assert.equal(now.diffusion.ddimGrid, "ddim-stride");
    // Table 2's ∞-Diff seed 0 at the full budget: the key its committed result file carries
    const run = expandRuns(loadSpec("table2"), "full").find((r) => r.variant === "∞-Diff (Ours)" && r.seed === 0)!;
    assert.equal(run.hash, "0ab9a1e6a818cee3");
    // the longer-budget QMC comparison: Table 2's ∞-Diff, QMC and regular-conv rows at 4× the steps, 3 seeds
    const long = expandRuns(loadSpec("qmc-long"), "full");
    assert.equal(long.length, 9);
    assert.ok(long.every((r) => r.train.config.train.steps === 1200 && r.train.config.model.knnWeights === "inverse-distance"));
  });

  it("(a) kNN weights: default is the authors' inverse squared distance, in the network too", () => {
    assert.equal(DEFAULT_CONFIG.model.knnWeights, "inverse-squared-distance");
    const set = uniformSubset(new Rng(3), 1, 12, 12, { ratio: 0.3 });
    const check = (w: { idx: Int32Array; w: Float32Array }, power: number) => {
      const pos = positions(set), gp = gridPositions(1, 8, 8);
      for (let g = 0; g < 64; g++) {
        const d = [0, 1, 2].map((q) => Math.hypot(pos[2 * w.idx[g * 3 + q]] - gp[2 * g], pos[2 * w.idx[g * 3 + q] + 1] - gp[2 * g + 1]));
        const s = d.reduce((a, v) => a + v ** -power, 0);
        for (let q = 0; q < 3; q++) assert.ok(Math.abs(w.w[g * 3 + q] - d[q] ** -power / s) < 1e-6);
      }
    };
    const knn = KnnToGrid.build(set, 8, 8);
    check(knn.weights, 2);
    knn.dispose();
    // the network's context follows model.knnWeights
    for (const [knnWeights, power] of [[undefined, 2], ["inverse-distance", 1]] as const) {
      const cfg = resolveConfig({ model: { resolution: 12, unet: { res: 8, baseChannels: 4, mults: [1, 2], blocksPerLevel: 1, attnRes: [], dropoutRes: 0, groups: 2 }, nf: 4, timeEmbDim: 8, sparseBlocks: 1, kernelSize: 3, ...(knnWeights ? { knnWeights } : {}) } });
      const net = new InftyDiffNetwork(cfg.model, new Rng(0));
      const ctx = net.context(set) as PointContext;
      check(ctx.toGrid.weights, power);
      ctx.dispose();
      net.dispose();
    }
  });

  it("(b) DDIM grid: 'ddim-stride' is the authors' space_timesteps(T, 'ddimN'); the default is pinned", () => {
    // the example: ddim50 walks 980, 960, …, 0
    assert.deepEqual(strideTimesteps(1000, 50), Array.from({ length: 50 }, (_, i) => 980 - 20 * i));
    for (const n of [10, 20, 25, 50, 100, 250, 1000]) {
      let stride = 0;
      for (let i = 1; i < 1000 && !stride; i++) if (pyRangeLen(1000, i) === n) stride = i;
      const want = Array.from({ length: n }, (_, j) => (n - 1 - j) * stride);
      assert.deepEqual(strideTimesteps(1000, n), want, `ddim${n}`);
    }
    assert.throws(() => strideTimesteps(1000, 600), /no integer stride/);
    assert.equal(spacedTimesteps(1000, 50)[0], 999);
    assert.deepEqual(ddimTimesteps("even", 1000, 25), spacedTimesteps(1000, 25));
    assert.deepEqual(ddimTimesteps("ddim-stride", 1000, 25), strideTimesteps(1000, 25));
    // chosen by the FID comparison on the shipped model (docs/divergences.md); change it only with a new comparison
    assert.equal(DEFAULT_CONFIG.diffusion.ddimGrid, "ddim-stride");
  });

  it("(c) samplers clip Tx₀ by default, as the authors' clip_denoised=True", async () => {
    const sch = cosineSchedule(1000);
    const moll = new Mollifier({ stdRef: 1, resRef: 6 });
    const wild: Denoiser = (x) => tf.mul(x, -5) as tf.Tensor4D; // Tx̂₀ far outside [−1, 1]
    const xT = tf.fill([1, 6, 6, 1], 0.2) as tf.Tensor4D;
    const ts = spacedTimesteps(1000, 5);
    const run = async (f: typeof ddim, clipTx0?: boolean) => {
      const r = await f(wild, xT, ts, { schedule: sch, mollifier: moll, rng: new Rng(4), ...(clipTx0 === undefined ? {} : { clipTx0 }) });
      const v = Array.from(await r.Tx0.data());
      tf.dispose([r.Tx0, r.x0]);
      return v;
    };
    for (const f of [ddim, ddpm]) {
      const dflt = await run(f), on = await run(f, true), off = await run(f, false);
      assert.deepEqual(dflt, on);
      assert.ok(Math.max(...off.map(Math.abs)) > 2, "unclipped differs (the check can fail)");
    }
    assert.equal(DEFAULT_CONFIG.diffusion.clipTx0, true);
    xT.dispose();
    moll.dispose();
  });

  it("(d) kernel resampling: 'extent' stays default; 'authors' gives 13 taps at 2× (banker's rounding), bilinear align_corners=False", () => {
    assert.equal(DEFAULT_CONFIG.model.kernelResampling, "extent");
    assert.equal(resampledKernelSize(7, 28, 56), 15);
    assert.equal(roundHalfEven(6.5), 6);
    assert.equal(roundHalfEven(13.5), 14);
    assert.equal(roundHalfEven(-0.5), 0);
    assert.equal(resampledKernelSize(7, 28, 56, "authors"), 13);
    assert.equal(resampledKernelSize(7, 28, 112, "authors"), 29); // round(13.5) = 14
    assert.equal(resampledKernelSize(7, 28, 14, "authors"), 3); // round(1.25) = 1, at least 3
    assert.equal(resampledKernelSize(5, 14, 14, "authors"), 5);
    // independent: evaluate the piecewise-linear function through the taps (ends held) at each output's source point
    const v = [0.3, -1.2, 2.0, 0.5, 0.9, -0.4, 1.1];
    const interp = (x: number) => {
      if (x <= 0) return v[0];
      if (x >= v.length - 1) return v[v.length - 1];
      const i = Math.floor(x);
      return v[i] + (x - i) * (v[i + 1] - v[i]);
    };
    for (const to of [56, 112, 14, 42]) {
      const k2 = resampledKernelSize(7, 28, to, "authors"), A = kernelResampleMatrix(7, 28, to, "authors");
      for (let i = 0; i < k2; i++) {
        let got = 0;
        for (let j = 0; j < 7; j++) got += A[i * 7 + j] * v[j];
        assert.ok(Math.abs(got - interp(((i + 0.5) * 7) / k2 - 0.5)) < 1e-12, `to ${to}, tap ${i}`);
      }
    }
  });
});
