import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, InftyDiffNetwork, makeMask, inpaint, inpaintMetrics, guidedDenoiser, stepGain, ConditionedGridDenoiser,
  cosineSchedule, Mollifier, ddim, proceduralImages, fillUnknown, guidedTimesteps, scoreInpainting, fidBetweenImages, psnr,
} from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

describe("inpainting with reconstruction guidance", function () {
  this.timeout(120000);
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("masks mean the same region at every resolution, strokes are seeded", () => {
    for (const r of [12, 24, 48]) {
      const frac = (m: Float32Array) => 1 - m.reduce((a, b) => a + b, 0) / m.length;
      assert.ok(Math.abs(frac(makeMask("centre", 1, r)) - 0.25) < 0.1, `centre at ${r}`);
      assert.equal(frac(makeMask("half", 2, r)), 0.5);
      const s = frac(makeMask("strokes", 2, r, r, 7));
      assert.ok(s > 0.05 && s < 0.6, `strokes hide ${s} at ${r}`);
    }
    assert.deepEqual(makeMask("strokes", 2, 16, 16, 3), makeMask("strokes", 2, 16, 16, 3));
    assert.notDeepEqual(makeMask("strokes", 1, 16, 16, 3), makeMask("strokes", 1, 16, 16, 4));
    // the hidden pixels are never read
    const img = proceduralImages({ n: 1, height: 8, rng: new Rng(1) });
    const m = makeMask("half", 1, 8);
    const a = fillUnknown(img, m);
    const poked = { ...img, images: img.images.slice() };
    for (let p = 0; p < 64; p++) if (m[p] === 0) poked.images[p] = 5;
    assert.deepEqual(fillUnknown(poked, m), a);
  });

  it("one guided DDIM step lands exactly λ·∇‖m⊙(μ̃₀ − Tx̄)‖² below the unguided step", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(3));
    const grid = new ConditionedGridDenoiser(net);
    const schedule = cosineSchedule(1000);
    const mollifier = new Mollifier({ stdRef: cfg.diffusion.mollifierStd, resRef: 12 });
    const timesteps = [600, 300];
    const rng = new Rng(5);
    const x = rng.normalTensor<tf.Rank.R4>([2, 12, 12, 1]);
    const target = rng.normalTensor<tf.Rank.R4>([2, 12, 12, 1]);
    const m = tf.tensor4d(makeMask("centre", 2, 12), [2, 12, 12, 1]);
    const residual = (Tx0: tf.Tensor4D) => tf.mul(m, tf.sub(Tx0, target));
    const lambda = 0.05;
    const first = async (denoise: (a: tf.Tensor4D, t: tf.Tensor1D) => tf.Tensor4D | Promise<tf.Tensor4D>) => {
      const r = await ddim(denoise, x, timesteps, { schedule, mollifier, returnIntermediates: true, clipTx0: false });
      const x1 = r.intermediates![0];
      tf.dispose([r.x0, r.Tx0, ...r.intermediates!.slice(1)]);
      return x1;
    };
    try {
      const plain = await first(grid.denoise);
      const guided = await first(guidedDenoiser(grid.denoise, residual, { schedule, timesteps, lambda, weighting: "constant" }));
      const a = Math.sqrt(schedule.alphasCumprod[600]), b = Math.sqrt(1 - schedule.alphasCumprod[600]);
      const g = tf.grad((xx: tf.Tensor) => {
        const Tx0 = tf.div(tf.sub(xx, tf.mul(b, grid.denoise(xx as tf.Tensor4D, tf.fill([2], 600, "int32") as tf.Tensor1D))), a) as tf.Tensor4D;
        return tf.sum(tf.square(residual(Tx0)));
      })(x);
      const expected = tf.sub(plain, tf.mul(lambda, g));
      const err = tf.max(tf.abs(tf.sub(guided, expected))).dataSync()[0];
      const size = tf.max(tf.abs(tf.mul(lambda, g))).dataSync()[0];
      assert.ok(size > 1e-3, `guidance step too small to test (${size})`);
      assert.ok(err < 1e-3 * Math.max(1, size), `guided step off by ${err} (step size ${size})`);
      assert.ok(stepGain(schedule, 600, 300, "ddim") > 0 && stepGain(schedule, 300, -1, "ddim") === 1);
      tf.dispose([plain, guided, g, expected]);
    } finally {
      tf.dispose([x, target, m]);
      grid.dispose();
      mollifier.dispose();
      net.dispose();
    }
  });

  it("guidance reduces the error on the known pixels versus unguided sampling (tiny untrained model), no leaks", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(11));
    const truth = proceduralImages({ n: 3, height: 12, rng: new Rng(2) });
    const mask = makeMask("strokes", 3, 12, 12, 1);
    try {
      const run = (lambda: number, ts: number | null) => inpaint({ net, cfg }, truth, mask, { lambda, ts, steps: 10, seed: 4 });
      await run(0.5, null); // burn-in (caches, kernels)
      const n = tf.memory().numTensors;
      const plain = inpaintMetrics(await run(0, null), truth, mask);
      const guided = inpaintMetrics(await run(0.5, null), truth, mask);
      assert.equal(tf.memory().numTensors, n, "inpaint leaked tensors");
      // in the mollified space, where guidance acts (an untrained model's x₀ = Wiener(Tx₀) is ringing noise)
      assert.ok(guided.mseKnownT < 0.01 * plain.mseKnownT, `known-pixel MSE of Tx₀: unguided ${plain.mseKnownT}, guided ${guided.mseKnownT}`);
      // unguided from the image noised to a small t_s keeps the known pixels closer than unguided from noise
      const fromTs = inpaintMetrics(await run(0, 100), truth, mask);
      assert.ok(fromTs.mseKnownT < plain.mseKnownT, `from t_s=100: ${fromTs.mseKnownT} vs from noise ${plain.mseKnownT}`);
      assert.ok(Number.isFinite(fromTs.psnrMissing));
    } finally {
      net.dispose();
    }
  });

  it("rejects bad inputs", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(1));
    const truth = proceduralImages({ n: 1, height: 12, rng: new Rng(2) });
    try {
      await assert.rejects(inpaint({ net, cfg }, truth, makeMask("half", 1, 8)), /mask has/);
      await assert.rejects(inpaint({ net, cfg }, truth, makeMask("half", 1, 12), { ts: 1000 }), /ts must be/);
      await assert.rejects(inpaint({ net, cfg }, truth, makeMask("half", 1, 12), { lambda: -1 }), /lambda/);
      assert.deepEqual(guidedTimesteps(1000, 4, 99), [99, 66, 33, 0]);
    } finally {
      net.dispose();
    }
  });

  it("scoreInpainting: per mask the mean-filled input, unguided and guided completions, scored against truth and a reference", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(5));
    const imgs = proceduralImages({ n: 6, height: 12, rng: new Rng(1) }), ref = proceduralImages({ n: 8, height: 12, rng: new Rng(2) });
    let batches = 0;
    try {
      const rows = await scoreInpainting({ net, cfg }, imgs, ref, { masks: ["centre"], steps: 2, ts: 200, batch: 4, onBatch: () => batches++ });
      assert.deepEqual(rows.map((r) => `${r.mask}/${r.method}/${r.lambda}`), ["centre/input/0", "centre/unguided/0", "centre/guided/0.5"]);
      assert.equal(batches, 4, "2 runs × 2 batches");
      const mask = makeMask("centre", 6, 12);
      const filled = { images: fillUnknown(imgs, mask), shape: imgs.shape };
      const hidden = mask.map((v) => 1 - v);
      assert.ok(Math.abs(rows[0].psnrMissing - psnr(filled.images, imgs.images, hidden)) < 1e-9);
      assert.ok(Math.abs(rows[0].fid - (await fidBetweenImages(filled, ref))) < 1e-6 * rows[0].fid);
      for (const r of rows.slice(1)) assert.ok(Number.isFinite(r.fid) && Number.isFinite(r.psnrKnown) && r.n === 6);
    } finally {
      net.dispose();
    }
  });
});
