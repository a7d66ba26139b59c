/**
 * The separable full-grid path for resampled kernels (resampled-depthwise.ts) is Eq. 20 with the resampled kernel:
 * it equals `sparseDepthwiseConv(feats, kmap, resampleKernel(κ, r₀, r), bias)` (the dense full-grid path, itself held
 * to the typed gather path) at 56, 84 and 112 px from r₀ = 28 with a 7×7 kernel, on wasm and cpu, and its gradient
 * wrt κ matches the dense path's.
 */
import { strict as assert } from "assert";
import {
  initBackend, withBackend, tf, Rng, fullGrid, KernelMap, sparseDepthwiseConv, resampleKernel, resampledKernelSize,
  resampledFullGridDepthwiseConv, maxRelDiff } from "infty-diff-lab";

const relErr = maxRelDiff;

describe("separable full-grid depthwise conv with a resampled kernel", function () {
  this.timeout(120000);
  before(async () => { await initBackend("wasm", { quiet: true }); });

  for (const [backend, r, B] of [["wasm", 56, 2], ["wasm", 112, 1], ["cpu", 84, 1]] as const) {
    it(`${backend}: ${r}×${r} from r₀ = 28 (k' = ${resampledKernelSize(7, 28, r)}) equals the dense path`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(r);
        const C = 5, k2 = resampledKernelSize(7, 28, r);
        const km = KernelMap.build(fullGrid(B, r, r), k2);
        const x = rng.normalTensor<tf.Rank.R3>([B, r * r, C]), w = rng.normalTensor<tf.Rank.R3>([7, 7, C]), b = rng.normalTensor<tf.Rank.R1>([C]);
        const ref = tf.tidy(() => sparseDepthwiseConv(x, km, resampleKernel(w, 28, r), b));
        const got = resampledFullGridDepthwiseConv(x, km, w, b, 28, r);
        assert.ok(relErr(got, ref) < 1e-5, `relative error ${relErr(got, ref)}`);
        if (backend === "cpu") {
          const probe = rng.normalTensor([B, r * r, C]);
          const gRef = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(sparseDepthwiseConv(x, km, resampleKernel(k as tf.Tensor3D, 28, r), b), probe)))(w);
          const gGot = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(resampledFullGridDepthwiseConv(x, km, k as tf.Tensor3D, b, 28, r), probe)))(w);
          assert.ok(relErr(gGot, gRef) < 1e-4, `kernel gradient: ${relErr(gGot, gRef)}`);
          tf.dispose([probe, gRef, gGot]);
        }
        tf.dispose([x, w, b, ref, got]);
        km.dispose();
      });
    });
  }

  it("rejects a kernel map of the wrong size or a set that is not a full grid", () => {
    tf.tidy(() => {
      const km = KernelMap.build(fullGrid(1, 56, 56), 13);
      assert.throws(() => resampledFullGridDepthwiseConv(tf.zeros([1, 56 * 56, 2]) as tf.Tensor3D, km, tf.zeros([7, 7, 2]) as tf.Tensor3D, tf.zeros([2]) as tf.Tensor1D, 28, 56), /kernel map k=13, resampled kernel 15/);
      km.dispose();
    });
  });
});
