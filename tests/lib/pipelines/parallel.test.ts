import { strict as assert } from "assert";
import { initBackend, tf, Trainer, batchSlices, Rng, dropout, BatchSliceRng, sampleModel } from "infty-diff-lab";
import { tinyConfig, tinyData } from "../../helpers/tiny";

describe("data-parallel training over worker threads", function () {
  this.timeout(300000);
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("splits a batch into contiguous, nearly equal slices", () => {
    assert.deepEqual(batchSlices(32, 2), [[0, 16], [16, 32]]);
    assert.deepEqual(batchSlices(5, 2), [[0, 2], [2, 5]]);
    assert.deepEqual(batchSlices(2, 3), [[0, 1], [1, 2]]);
  });

  it("sliced dropout draws the whole batch's masks: slices stacked equal the unsliced mask", () => {
    const state = new Rng(7).state();
    const x = tf.ones([6, 3, 5]);
    const whole = dropout(x, 0.3, new Rng(state)).dataSync();
    const parts = [[0, 2], [2, 6]].map(([a, b]) => dropout(tf.ones([b - a, 3, 5]), 0.3, new BatchSliceRng(state, a, 6)).dataSync());
    assert.deepEqual(Array.from(whole), [...Array.from(parts[0]), ...Array.from(parts[1])]);
  });

  for (const workers of [2, 3]) {
    it(`${workers} workers: 3 steps match single-thread losses, weights and EMA to 1e-5 of the weight scale (dropout on)`, async () => {
      // batch 6 so that 3 workers get equal slices and 2 workers get 3 rows each; dropout at the 4×4 level is on
      const cfg = tinyConfig({ batchSize: 6, lr: 3e-3 });
      const one = new Trainer(cfg, tinyData(16));
      const par = new Trainer(cfg, tinyData(16), { workers });
      try {
        assert.equal(par.workers, workers);
        let n0 = 0;
        for (let s = 0; s < 3; s++) {
          if (s === 1) n0 = tf.memory().numTensors; // after a burn-in step (caches built)
          const a = one.trainStep();
          const b = await par.trainStepAsync();
          assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `step ${s + 1}: loss ${a.loss} vs ${b.loss}`);
          assert.ok(Math.abs(a.gradNorm - b.gradNorm) <= 1e-5 * a.gradNorm, `step ${s + 1}: grad norm ${a.gradNorm} vs ${b.gradNorm}`);
        }
        assert.equal(tf.memory().numTensors, n0, "a parallel step leaks no tensors on the main thread");
        const pa = one.net.params.snapshot(), pb = par.net.params.snapshot();
        const ea = one.ema.params.snapshot(), eb = par.ema.params.snapshot();
        // Adam normalises every gradient element, so one whose gradient is at float-noise level moves by a different
        // fraction of lr on each path: compare against the model's weight scale (the largest |w|), not per element
        let scale = 0, worst = 0, where = "";
        for (const name of Object.keys(pa)) for (const v of pa[name].values) scale = Math.max(scale, Math.abs(v));
        for (const name of Object.keys(pa)) {
          for (const [x, y] of [[pa[name].values, pb[name].values], [ea[name].values, eb[name].values]]) {
            for (let i = 0; i < x.length; i++) {
              const d = Math.abs(x[i] - y[i]) / scale;
              if (d > worst) { worst = d; where = name; }
            }
          }
        }
        assert.ok(worst < 1e-5, `weights differ by ${worst} of the largest weight ${scale} (at ${where})`);
        assert.equal(one.rng.state().join(","), par.rng.state().join(","), "the main RNG advanced identically");
      } finally {
        one.dispose();
        par.dispose();
      }
    });
  }
  it("sampling with 2 workers gives the single-thread DDIM samples (to 1e-4 of [−1, 1]) and leaks nothing", async () => {
    const cfg = tinyConfig();
    const tr = new Trainer(cfg, tinyData(8));
    try {
      for (let i = 0; i < 3; i++) tr.trainStep(); // move off the zero-initialised output layers
      const opts = { resolution: 12, n: 5, batchSize: 5, steps: 6, seed: 4, progress: false };
      const one = await sampleModel(tr.net, cfg, opts);
      const n0 = tf.memory().numTensors;
      const two = await sampleModel(tr.net, cfg, { ...opts, workers: 2 });
      assert.equal(tf.memory().numTensors, n0);
      let worst = 0;
      for (let i = 0; i < one.x0.images.length; i++) worst = Math.max(worst, Math.abs(one.x0.images[i] - two.x0.images[i]));
      assert.ok(worst < 1e-4, `samples differ by ${worst}`);
    } finally {
      tr.dispose();
    }
  });
  it("a Trainer, with or without workers, leaves no tensors after dispose (weights, EMA and Adam state included)", async () => {
    for (const workers of [1, 2]) {
      const n0 = tf.memory().numTensors;
      const tr = new Trainer(tinyConfig(), tinyData(8), { workers });
      await tr.trainStepAsync();
      tr.dispose();
      assert.equal(tf.memory().numTensors, n0, `workers ${workers}`);
    }
  });
});
