/**
 * The separable full-grid path for resampled kernels (resampled-depthwise.ts) is Eq. 20 with the resampled kernel:
 * it equals `sparseDepthwiseConv(feats, kmap, resampleKernel(κ, r₀, r), bias)` (the dense full-grid path, itself held
 * to the typed gather path) at 56, 84 and 112 px from r₀ = 28 with a 7×7 kernel, on wasm and cpu, and its gradient
 * wrt κ matches the dense path's.
 */
import { strict as assert } from "assert";
import {
  initBackend, withBackend, tf, Rng, fullGrid, KernelMap, sparseDepthwiseConv, resampleKernel, resampledKernelSize,
  resampledFullGridDepthwiseConv, resampledFullGridDepthwiseConvReference, setWasmPointwise, maxRelDiff,
  hatPlan, kernelResampleMatrix } from "infty-diff-lab";

const relErr = maxRelDiff;

describe("separable full-grid depthwise conv with a resampled kernel", function () {
  this.timeout(120000);
  before(async () => { await initBackend("wasm", { quiet: true }); });

  // C = 8: wasm's f32x4 kernel; C = 5: its float64 JS fallback (channels not a multiple of 4)
  for (const [backend, r, B, C] of [["wasm", 56, 2, 5], ["wasm", 112, 1, 5], ["wasm", 112, 1, 8], ["cpu", 84, 1, 5]] as const) {
    it(`${backend}: ${r}×${r} from r₀ = 28 (k' = ${resampledKernelSize(7, 28, r)}), C = ${C} equals the dense path`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(r);
        const k2 = resampledKernelSize(7, 28, r);
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

  // wasm: 84 (s = 3), 56 (s = 2, every column a hat) and 224 (s = 8) take the shifted-hat path, 60 / authors the direct taps
  for (const [backend, r, mode, C] of [["wasm", 84, "extent", 12], ["wasm", 56, "extent", 4], ["wasm", 224, "extent", 4],
    ["wasm", 60, "authors", 4], ["cpu", 56, "extent", 3]] as const) {
    it(`fused kernel vs the op chain: values (and gradients wrt x, κ, bias, taken through the chain); no leaks (${backend}, ${r}×${r}, ${mode}, C = ${C})`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(C);
        const B = 2, k2 = resampledKernelSize(7, 28, r, mode);
        const km = KernelMap.build(fullGrid(B, r, r), k2);
        const x = rng.normalTensor<tf.Rank.R3>([B, r * r, C]), w = rng.normalTensor<tf.Rank.R3>([7, 7, C]), b = rng.normalTensor<tf.Rank.R1>([C]);
        const probe = rng.normalTensor([B, r * r, C]);
        const loss = (f: typeof resampledFullGridDepthwiseConv) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(f(xx as tf.Tensor3D, km, ww as tf.Tensor3D, bb as tf.Tensor1D, 28, r, mode), probe));
        const ref = tf.tidy(() => [resampledFullGridDepthwiseConvReference(x, km, w, b, 28, r, mode), ...tf.grads(loss(resampledFullGridDepthwiseConvReference))([x, w, b])]);
        resampledFullGridDepthwiseConv(x, km, w, b, 28, r, mode).dispose(); // burn-in
        const n0 = tf.memory().numTensors;
        const got = [resampledFullGridDepthwiseConv(x, km, w, b, 28, r, mode), ...tf.grads(loss(resampledFullGridDepthwiseConv))([x, w, b])];
        assert.equal(tf.memory().numTensors, n0 + 4, "only the outputs remain");
        // the value comes from the fused kernel; under tf.grads the op chain runs (the gradients stay exact)
        ["value", "∂x", "∂κ", "∂bias"].forEach((what, i) => assert.ok(relErr(got[i], ref[i]) < 2e-6, `${what}: ${relErr(got[i], ref[i])}`));
        tf.dispose([...ref, ...got, x, w, b, probe]);
        km.dispose();
      });
    });
  }

  it("hatPlan finds A's shifted hats at integer scales and declines where they do not save taps", () => {
    const plan = (r: number, mode: "extent" | "authors" = "extent") => {
      const k2 = resampledKernelSize(7, 28, r, mode), p = hatPlan(kernelResampleMatrix(7, 28, r, mode), 7, k2);
      return p && { i0: p.i0, i1: p.i1, s: p.s, L: p.h.length };
    };
    assert.deepEqual(plan(56), { i0: 0, i1: 6, s: 2, L: 3 });
    assert.deepEqual(plan(112), { i0: 1, i1: 5, s: 4, L: 7 });
    assert.deepEqual(plan(224), { i0: 1, i1: 5, s: 8, L: 15 });
    assert.deepEqual(plan(84), { i0: 1, i1: 5, s: 3, L: 5 });
    assert.equal(plan(112, "authors"), null);
    assert.equal(plan(60), null);
  });

  it("the wasm kernel does not depend on the pointwise switch (scale/shift runs in it)", async () => {
    await withBackend("wasm", () => {
      const rng = new Rng(1);
      const km = KernelMap.build(fullGrid(1, 56, 56), 15);
      const x = rng.normalTensor<tf.Rank.R3>([1, 56 * 56, 4]), w = rng.normalTensor<tf.Rank.R3>([7, 7, 4]), b = rng.normalTensor<tf.Rank.R1>([4]);
      const a = resampledFullGridDepthwiseConv(x, km, w, b, 28, 56);
      setWasmPointwise(false);
      const c = resampledFullGridDepthwiseConv(x, km, w, b, 28, 56);
      setWasmPointwise(true);
      assert.deepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
      tf.dispose([a, c, x, w, b]);
      km.dispose();
    });
  });

  it("rejects a kernel map of the wrong size or a set that is not a full grid", () => {
    tf.tidy(() => {
      const km = KernelMap.build(fullGrid(1, 56, 56), 13);
      assert.throws(() => resampledFullGridDepthwiseConv(tf.zeros([1, 56 * 56, 2]) as tf.Tensor3D, km, tf.zeros([7, 7, 2]) as tf.Tensor3D, tf.zeros([2]) as tf.Tensor1D, 28, 56), /kernel map k=13, resampled kernel 15/);
      km.dispose();
    });
  });
});
