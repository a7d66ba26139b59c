import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  initBackend, tf, Rng, InftyDiffNetwork, DiffusionAutoencoder, AutoencoderTrainer, resolveAutoencoderConfig, uniformSubset,
  gatherPoints, fullGrid, proceduralImages, superResolve, inpaint, makeMask, trainAutoencoder, loadAutoencoder, sampleAutoencoder,
  downsampleError, cosineSchedule, autoencoderConfigOf,
} from "infty-diff-lab";
import { tinyConfig, tinyData } from "../../helpers/tiny";

const AE = { zDim: 8, latentWidth: 16, latentDepth: 2, encoderRatio: 0.5 };

describe("diffusion autoencoder", function () {
  this.timeout(120000);
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("the encoder runs on any coordinate subset at any resolution and gives z [B, zDim]", () => {
    const cfg = tinyConfig();
    const ae = new DiffusionAutoencoder(cfg, resolveAutoencoderConfig({ ...AE, klWeight: 1e-3 }), new Rng(1));
    const rng = new Rng(2);
    try {
      for (const [r, ratio] of [[12, 0.5], [12, 1], [24, 0.25], [7, 0.6], [36, 0.1]] as const) {
        const x = proceduralImages({ n: 3, height: r, rng: new Rng(r) });
        const set = ratio === 1 ? fullGrid(3, r, r) : uniformSubset(rng, 3, r, r, { ratio });
        const ctx = ae.encoder.context(set);
        const pts = tf.tidy(() => gatherPoints(tf.tensor4d(x.images, x.shape), set));
        const { mu, logvar } = ae.encoder.apply(pts, ctx);
        assert.deepEqual(mu.shape, [3, 8], `z at ${r}, ratio ${ratio}`);
        assert.deepEqual(logvar!.shape, [3, 8]);
        assert.ok(mu.dataSync().every(Number.isFinite));
        tf.dispose([pts, mu, logvar!]);
        ctx.dispose();
      }
    } finally {
      ae.dispose();
    }
  });

  it("the decoder keeps the unconditional network's parameter names; z changes its output", () => {
    const cfg = tinyConfig();
    const ae = new DiffusionAutoencoder(cfg, resolveAutoencoderConfig(AE), new Rng(1));
    const plain = new InftyDiffNetwork(cfg.model, new Rng(1));
    try {
      assert.deepEqual(ae.net.params.names(), plain.params.names());
      const set = fullGrid(2, 12, 12);
      const ctx = ae.net.context(set);
      const x = new Rng(3).normalTensor<tf.Rank.R3>([2, 144, 1]);
      const t = tf.tensor1d([10, 500], "int32");
      const z = new Rng(4).normalTensor<tf.Rank.R2>([2, 8]);
      const cond = ae.condition(z);
      const a = ae.net.apply(x, ctx, t, { dropoutRng: null });
      const b = ae.net.apply(x, ctx, t, { dropoutRng: null, cond: tf.zerosLike(cond) as tf.Tensor2D });
      const c = ae.net.apply(x, ctx, t, { dropoutRng: null, cond });
      assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-6, "zero cond = unconditional");
      assert.ok(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0] > 1e-4, "z has no effect");
      tf.dispose([x, t, z, cond, a, b, c]);
      ctx.dispose();
      assert.throws(() => resolveAutoencoderConfig({ zdim: 3 }), /autoencoder: unknown key .zdim./);
      assert.throws(() => resolveAutoencoderConfig({ encoderRatio: 0 }), /encoderRatio/);
    } finally {
      ae.dispose();
      plain.dispose();
    }
  });

  it("a tiny autoencoder trains: decoder and latent losses fall, no leaks; a stopped run resumes exactly", async () => {
    const cfg = tinyConfig({ steps: 30, lr: 3e-3 });
    // the joint trainer's latent loss with ε (v's target moves with z while the encoder trains; fitLatent covers v)
    const aeCfg = resolveAutoencoderConfig({ ...AE, klWeight: 1e-4, latentTarget: "eps" });
    const trainer = new AutoencoderTrainer(cfg, aeCfg, tinyData(8));
    try {
      const before = trainer.evalLoss(99, 4);
      trainer.trainStep();
      const n = tf.memory().numTensors;
      for (let i = 1; i < 30; i++) trainer.trainStep();
      assert.equal(tf.memory().numTensors, n, "training leaked tensors");
      const after = trainer.evalLoss(99, 4);
      assert.ok(after.loss < 0.8 * before.loss, `decoder loss ${before.loss} → ${after.loss}`);
      assert.ok(after.latentLoss < before.latentLoss, `latent loss ${before.latentLoss} → ${after.latentLoss}`);
    } finally {
      trainer.dispose();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-ae-"));
    const full = await trainAutoencoder({ cfg: tinyConfig({ steps: 4, checkpointEvery: 2 }), ae: aeCfg, runDir: path.join(dir, "a"), data: tinyData(8) });
    const resumed = await trainAutoencoder({ cfg: tinyConfig({ steps: 4, checkpointEvery: 2 }), ae: aeCfg, runDir: path.join(dir, "a2"), data: tinyData(8) });
    const la = JSON.parse(fs.readFileSync(path.join(dir, "a", "log.jsonl"), "utf8").trim().split("\n")[3]).loss;
    const lb = JSON.parse(fs.readFileSync(path.join(dir, "a2", "log.jsonl"), "utf8").trim().split("\n")[3]).loss;
    assert.equal(la, lb, "same seed, same losses");
    full.trainer.dispose();
    resumed.trainer.dispose();
    // kill-and-resume: stop at 2 (checkpoint), then continue to 4 from the checkpoint
    const c = path.join(dir, "c");
    (await trainAutoencoder({ cfg: tinyConfig({ steps: 2, checkpointEvery: 2 }), ae: aeCfg, runDir: c, data: tinyData(8) })).trainer.dispose();
    const cont = await trainAutoencoder({ cfg: tinyConfig({ steps: 4, checkpointEvery: 2 }), ae: aeCfg, runDir: c, data: tinyData(8) });
    const lc = JSON.parse(fs.readFileSync(path.join(c, "log.jsonl"), "utf8").trim().split("\n")[3]).loss;
    assert.equal(lc, la, "resumed run continues exactly");
    cont.trainer.dispose();
    const loaded = loadAutoencoder(path.join(c, "autoencoder.ckpt"));
    assert.equal(loaded.step, 4);
    const samples = await sampleAutoencoder(loaded.model, { n: 2, resolution: 24, steps: 3 });
    assert.deepEqual(samples.shape, [2, 24, 24, 1]);
    samples.dispose();
    loaded.model.dispose();
  });

  it("super-resolution and inpainting accept the autoencoder's z", async () => {
    const cfg = tinyConfig();
    const ae = new DiffusionAutoencoder(cfg, resolveAutoencoderConfig(AE), new Rng(1));
    const low = proceduralImages({ n: 2, height: 6, rng: new Rng(3) });
    try {
      const z = ae.encode(tf.tensor4d(low.images, low.shape));
      const cond = ae.condition(z);
      const sr = await superResolve({ net: ae.net, cfg, cond }, low, { scale: 2, tEncode: 100, steps: 3 });
      assert.ok(downsampleError(sr.x0, low) < 1e-4);
      const img = proceduralImages({ n: 2, height: 12, rng: new Rng(4) });
      const ip = await inpaint({ net: ae.net, cfg, cond }, img, makeMask("centre", 2, 12), { steps: 3, ts: 200 });
      assert.deepEqual(ip.x0.shape, [2, 12, 12, 1]);
      tf.dispose([z, cond]);
    } finally {
      ae.dispose();
    }
  });

  it("fitLatent (DiffAE's second stage): a v-target latent model learns a known latent distribution", async () => {
    const cfg = tinyConfig({ steps: 2 });
    const trainer = new AutoencoderTrainer(cfg, resolveAutoencoderConfig({ ...AE, latentTarget: "eps" }), tinyData(8));
    try {
      // oracle: z ~ N(μ, diag σ²) with per-dimension μ, σ (zDim 8), 4000 latents
      const mu = [0.3, -0.5, 0, 1, 0.2, -0.2, 0.6, 0], sd = [0.5, 0.2, 1, 0.3, 0.7, 0.4, 0.5, 0.8];
      const rng = new Rng(3), N = 4000, Z = new Float32Array(N * 8);
      for (let i = 0; i < N; i++) for (let d = 0; d < 8; d++) Z[i * 8 + d] = mu[d] + sd[d] * rng.normal();
      const { losses } = trainer.fitLatent({ steps: 600, batchSize: 256, lr: 3e-3, target: "v", latents: Z, seed: 5 });
      assert.equal(trainer.ae.latentTarget, "v");
      assert.equal(trainer.model.latent.target, "v");
      const first = losses.slice(0, 20).reduce((a, b) => a + b) / 20, last = losses.slice(-50).reduce((a, b) => a + b) / 50;
      // a Gaussian's v-loss has a floor well above 0; the samples' statistics below are the real check
      assert.ok(last < 0.85 * first, `latent loss ${first} → ${last}`);
      const z = await trainer.model.latent.sample(1000, cosineSchedule(cfg.diffusion.timesteps), new Rng(9), 25);
      const m = tf.mean(z, 0).arraySync() as number[], v = tf.moments(z, 0).variance.arraySync() as number[];
      for (let d = 0; d < 8; d++) {
        assert.ok(Math.abs(m[d] - mu[d]) < 0.15, `dim ${d}: mean ${m[d]} vs ${mu[d]}`);
        assert.ok(Math.abs(Math.sqrt(v[d]) / sd[d] - 1) < 0.35, `dim ${d}: std ${Math.sqrt(v[d])} vs ${sd[d]}`);
      }
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "infty-fit-")), "ae.ckpt");
      trainer.save(file);
      const loaded = loadAutoencoder(file);
      assert.equal(loaded.ae.latentTarget, "v");
      loaded.model.dispose();
      const other = new AutoencoderTrainer(cfg, resolveAutoencoderConfig({ ...AE, latentTarget: "eps" }), tinyData(8));
      assert.throws(() => other.restore(file), /predicting v/);
      other.dispose();
      z.dispose();
    } finally {
      trainer.dispose();
    }
    // checkpoints from before latentTarget existed load as ε
    assert.equal(autoencoderConfigOf({ autoencoder: { zDim: 8 } }).latentTarget, "eps");
    assert.throws(() => resolveAutoencoderConfig({ latentTarget: "x0" }), /latentTarget: must be one of eps, v/);
  });
});
