import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, fullGrid, KernelMap, sparseDepthwiseConv, resampleKernel, resampledKernelSize,
  fullGridResampledDepthwise, separableResampledDepthwise,
} from "infty-diff-lab";

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const scale = (a: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]);

describe("separable full-grid evaluation of the resampled sparse depthwise operator", () => {
  for (const backend of ["wasm", "cpu"] as const) {
    describe(backend, () => {
      before(async () => {
        await initBackend(backend, { quiet: true });
      });

      for (const [r0, H, W, k] of [[8, 16, 16, 7], [8, 24, 24, 7], [8, 32, 32, 5], [10, 20, 30, 3], [8, 12, 12, 7]] as const) {
        it(`equals sparseDepthwiseConv with resampleKernel: k=${k}, ${r0} → ${H}×${W}`, () => {
          const rng = new Rng(H * 31 + W);
          const C = 5, B = 2;
          const set = fullGrid(B, H, W);
          const kmap = KernelMap.build(set, resampledKernelSize(k, r0, H));
          const x = rng.normalTensor<tf.Rank.R3>([B, H * W, C]);
          const kernel = rng.normalTensor<tf.Rank.R3>([k, k, C]);
          const bias = rng.normalTensor<tf.Rank.R1>([C]);
          const ref = tf.tidy(() => sparseDepthwiseConv(x, kmap, resampleKernel(kernel, r0, H), bias));
          const fast = fullGridResampledDepthwise(x, kmap, kernel, bias, r0, H);
          assert.ok(maxAbs(ref, fast) <= 1e-5 * Math.max(1, scale(ref)), `max diff ${maxAbs(ref, fast)}`);
          // gradients wrt input and kernel against the sparse path's (itself tested against dense autodiff)
          const w = rng.normalTensor<tf.Rank.R3>([B, H * W, C]);
          const gRef = tf.grads((xx: tf.Tensor, kk: tf.Tensor) =>
            tf.sum(tf.mul(sparseDepthwiseConv(xx as tf.Tensor3D, kmap, resampleKernel(kk as tf.Tensor3D, r0, H), bias), w)))([x, kernel]);
          const gFast = tf.grads((xx: tf.Tensor, kk: tf.Tensor) =>
            tf.sum(tf.mul(fullGridResampledDepthwise(xx as tf.Tensor3D, kmap, kk as tf.Tensor3D, bias, r0, H), w)))([x, kernel]);
          for (let i = 0; i < 2; i++) {
            assert.ok(maxAbs(gRef[i], gFast[i]) <= 1e-4 * Math.max(1, scale(gRef[i])), `grad ${i}: max diff ${maxAbs(gRef[i], gFast[i])}`);
          }
          tf.dispose([x, kernel, bias, ref, fast, w, ...gRef, ...gFast]);
        });
      }

      it("leaves no tensors behind", () => {
        const rng = new Rng(5);
        const x = rng.normalTensor<tf.Rank.R4>([1, 16, 16, 3]);
        const kernel = rng.normalTensor<tf.Rank.R3>([7, 7, 3]);
        separableResampledDepthwise(x, kernel, 8, 16).dispose();
        const before = tf.memory().numTensors;
        separableResampledDepthwise(x, kernel, 8, 16).dispose();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([x, kernel]);
      });
    });
  }
});

describe("the network's separable path at 4× the training resolution", () => {
  it("gives the same denoiser output as the sparse tap loop", async () => {
    const { InftyDiffNetwork, GridDenoiser, setSeparableFullGrid, separablePaysOff } = await import("infty-diff-lab");
    const { tinyConfig } = await import("../helpers/tiny");
    await initBackend("wasm", { quiet: true });
    const cfg = tinyConfig({}, { kernelSize: 7 });
    assert.ok(separablePaysOff(7, resampledKernelSize(7, 12, 48)), "the separable path should be taken at 48");
    const net = new InftyDiffNetwork(cfg.model, new Rng(1));
    const rng = new Rng(2);
    tf.tidy(() => net.params.variables().forEach((v) => v.assign(tf.add(v, rng.normalTensor(v.shape).mul(0.05)))));
    const x = rng.normalTensor<tf.Rank.R4>([1, 48, 48, 1]);
    const t = tf.tensor1d([400], "int32");
    const den = new GridDenoiser(net);
    try {
      const fast = den.denoise(x, t);
      const old = setSeparableFullGrid(false);
      const ref = den.denoise(x, t);
      setSeparableFullGrid(old);
      assert.ok(maxAbs(fast, ref) <= 1e-4 * Math.max(1, scale(ref)), `max diff ${maxAbs(fast, ref)}`);
      tf.dispose([fast, ref]);
    } finally {
      tf.dispose([x, t]);
      den.dispose();
      net.dispose();
    }
  });
});
