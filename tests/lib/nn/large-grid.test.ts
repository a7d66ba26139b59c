/**
 * Large-grid sampling (issue 14): the pieces that keep a full-grid forward's memory flat are the same function.
 * - KernelMap's closed-form full-grid counts equal the neighbour table's present taps (the walk), and Eq. 20 on the
 *   full grid (dense depthwise path) equals the typed gather path, at 28 (k = 7) and 56 (k = 15, the 7×7 kernel
 *   resampled from r₀ = 28).
 * - GridDenoiser split into image chunks equals one call on the whole batch, with and without conditioning, and
 *   leaks no tensors.
 */
import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, fullGrid, KernelMap, sparseDepthwiseConv, sparseDepthwiseConvTyped, resampledKernelSize,
  InftyDiffNetwork, GridDenoiser, maxRelDiff } from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

const relErr = maxRelDiff;

describe("large-grid sampling: full-grid counts, dense path, image chunks", function () {
  this.timeout(300000);
  before(async () => { await initBackend("wasm", { quiet: true }); });

  for (const [r, k] of [[28, 7], [56, resampledKernelSize(7, 28, 56)]]) {
    it(`${r}×${r}, k = ${k}: closed-form counts = present taps of the neighbour table; dense path = typed path`, () => {
      const set = fullGrid(2, r, r);
      const km = KernelMap.build(set, k);
      const nb = km.neighbours;
      for (let p = 0; p < set.B * set.M; p++) {
        let n = 0;
        for (let t = 0; t < km.K; t++) if (nb[p * km.K + t] >= 0) n++;
        if (km.counts[p] !== n) assert.fail(`point ${p}: count ${km.counts[p]} vs ${n} present taps`);
      }
      const rng = new Rng(r);
      const x = rng.normalTensor<tf.Rank.R3>([2, r * r, 6]), w = rng.normalTensor<tf.Rank.R3>([k, k, 6]);
      const b = rng.normalTensor<tf.Rank.R1>([6]);
      const dense = sparseDepthwiseConv(x, km, w, b), typed = sparseDepthwiseConvTyped(x, km, w, b);
      assert.ok(relErr(dense, typed) < 1e-5, `dense vs typed: ${relErr(dense, typed)}`);
      tf.dispose([x, w, b, dense, typed]);
      km.dispose();
    });
  }

  for (const withCond of [false, true]) {
    it(`GridDenoiser in image chunks equals one call${withCond ? " (with conditioning)" : ""}, no leaks`, () => {
      const cfg = tinyConfig();
      const net = new InftyDiffNetwork(cfg.model, new Rng(3));
      const rng = new Rng(4);
      const B = 5, R = 16;
      const cond = withCond ? rng.normalTensor<tf.Rank.R2>([B, cfg.model.timeEmbDim]) : null;
      const xt = rng.normalTensor<tf.Rank.R4>([B, R, R, cfg.model.channels]);
      const t = tf.tensor1d([10, 200, 400, 600, 900], "int32");
      const whole = new GridDenoiser(net, cond), chunked = new GridDenoiser(net, cond);
      const saved = GridDenoiser.maxPixelsPerCall;
      try {
        const ref = whole.denoise(xt, t);
        GridDenoiser.maxPixelsPerCall = 2 * R * R; // chunks of 2, 2, 1 images
        const got = chunked.denoise(xt, t);
        const n = tf.memory().numTensors;
        chunked.denoise(xt, t).dispose();
        assert.equal(tf.memory().numTensors, n, "chunked denoise leaked tensors");
        assert.deepEqual(got.shape, ref.shape);
        assert.ok(relErr(got, ref) < 1e-5, `chunked vs whole: ${relErr(got, ref)}`);
        tf.dispose([ref, got]);
      } finally {
        GridDenoiser.maxPixelsPerCall = saved;
        whole.dispose();
        chunked.dispose();
        tf.dispose([xt, t]);
        cond?.dispose();
        net.dispose();
      }
    });
  }
});
