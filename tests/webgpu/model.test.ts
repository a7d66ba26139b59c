/**
 * The whole model on webgpu (SwiftShader in CI): a 10-step training run of a tiny config whose losses match the cpu
 * backend's, with two GPU→CPU reads per step (the loss, the gradient norm) and no tensor growth; a 20-step DDIM run
 * that reads once (the result) and leaks nothing; the shipped Fashion-MNIST model's DDIM at 28 px as on wasm.
 */
import { strict as assert } from "assert";
import {
  initBackend, tf, Trainer, sampleModel, loadModel, dataPath, withBackend, loadFashionMnist, Rng, namedSchedule, Mollifier,
  GridDenoiser, qSample, toTensor, ddim,
} from "infty-diff-lab";
import { tinyConfig, tinyData } from "../helpers/tiny";
import { countReads, relErr, webgpuOrSkip } from "../helpers/webgpu";

describe("the model on webgpu (SwiftShader in CI)", function () {
  this.timeout(900000);
  before(async function () {
    await webgpuOrSkip(this);
  });
  after(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("10 training steps: losses match cpu within 1e-3 relative, 2 reads per step, no leak; 20 DDIM steps read once", async () => {
    const cfg = tinyConfig({ batchSize: 2, steps: 10 });
    const cpuLosses = await withBackend("cpu", async () => {
      const tr = new Trainer(cfg, tinyData(8));
      try {
        const out: number[] = [];
        for (let i = 0; i < 10; i++) out.push((await tr.trainStepAsync()).loss);
        return out;
      } finally {
        tr.dispose();
      }
    });
    const tr = new Trainer(cfg, tinyData(8));
    try {
      const losses: number[] = [], reads: number[] = [], tensors: number[] = [];
      for (let i = 0; i < 10; i++) {
        const { value, reads: n } = await countReads(() => tr.trainStepAsync());
        losses.push(value.loss);
        reads.push(n);
        tensors.push(tf.memory().numTensors);
      }
      for (let i = 0; i < 10; i++) {
        assert.ok(Math.abs(losses[i] - cpuLosses[i]) <= 1e-3 * Math.abs(cpuLosses[i]), `step ${i + 1}: loss ${losses[i]} vs cpu ${cpuLosses[i]}`);
      }
      assert.deepEqual(reads, new Array(10).fill(2), `GPU→CPU reads per step: ${reads}`);
      assert.deepEqual(tensors, new Array(10).fill(tensors[0]), `live tensors after each step: ${tensors}`);

      const before = tf.memory().numTensors;
      const { value: out, reads: sampleReads } = await countReads(() =>
        sampleModel(tr.ema, cfg, { resolution: 12, n: 1, steps: 20, seed: 1, progress: false }));
      assert.equal(sampleReads, 1, "a 20-step DDIM run reads only its result");
      assert.equal(tf.memory().numTensors, before, "DDIM steps leak no tensors");
      for (const v of out.x0.images) assert.ok(Number.isFinite(v));
    } finally {
      tr.dispose();
    }
  });

  // From t = T−1 the first x₀ prediction divides the denoiser's output by √ᾱ_T (≈ 0.006 for the cosine schedule), so
  // a sample started from pure noise turns float32 rounding differences between any two backends into visible pixel
  // differences within a few steps. The comparison starts where the problem is well conditioned: x_t of a test image
  // at t = 400, then DDIM (η = 0) 400 → 200 → 0.
  it("the shipped checkpoint: DDIM from t = 400 at 28 px (3 steps) matches wasm within 1e-3", async () => {
    const image = loadFashionMnist({ split: "test", offset: 7, limit: 1 });
    const noise = new Rng(7).normals(28 * 28);
    const sample = async () => {
      const model = loadModel(dataPath("checkpoints", "fashion-mnist.ckpt"));
      const { cfg } = model;
      const schedule = namedSchedule(cfg.diffusion.schedule, cfg.diffusion.timesteps);
      const mollifier = new Mollifier({ stdRef: cfg.diffusion.mollifierStd, resRef: cfg.model.resolution });
      const den = new GridDenoiser(model.net);
      const xt = tf.tidy(() => qSample(toTensor(image), tf.tensor4d(noise, [1, 28, 28, 1]), [400], schedule, mollifier));
      try {
        const { value: res, reads } = await countReads(() => ddim(den.denoise, xt, [400, 200, 0], {
          schedule, mollifier, rng: new Rng(1), parameterisation: cfg.diffusion.parameterisation,
          invSnr: cfg.diffusion.wienerInvSnr, clipTx0: true, eta: 0,
        }));
        const out = { Tx0: Float32Array.from(await res.Tx0.data()), x0: Float32Array.from(await res.x0.data()), reads };
        tf.dispose([res.Tx0, res.x0]);
        return out;
      } finally {
        tf.dispose(xt);
        den.dispose();
        mollifier.dispose();
        model.net.dispose();
      }
    };
    const ref = await withBackend("wasm", sample);
    const got = await sample();
    assert.equal(got.reads, 0, "DDIM steps read nothing back from the GPU");
    for (const k of ["Tx0", "x0"] as const) {
      const e = relErr(got[k], ref[k]);
      assert.ok(e <= 1e-3, `${k}: relative error ${e.toExponential(2)} against wasm`);
    }
  });
});
