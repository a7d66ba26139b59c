/**
 * Fast paths held to their straightforward references (STYLE.md §7): every fused kernel that replaced a chain of
 * tfjs ops on the training path must match that chain, values and gradients, within float32 rounding.
 */
import { strict as assert } from "assert";
import {
  initBackend, withBackend, tf, Rng, gelu, geluReference, fullGrid, KernelMap, sparseDepthwiseConv, sparseDepthwiseConvTyped,
  Params, Adam, fanInUniform,
} from "infty-diff-lab";

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe("fused kernels vs references", () => {
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  for (const backend of ["wasm", "cpu"] as const) {
    it(`GELU (tanh form): values and gradients match the op chain within 2e-6 (${backend})`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(3);
        // wide range: the tails (|x| > 5) are where tanh saturates and the cubic term dominates
        const x = tf.mul(rng.normalTensor([4, 50, 64]), 3);
        const w = rng.normalTensor([4, 50, 64]);
        const loss = (f: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(f(t), w));
        const [yRef, gRef] = tf.tidy(() => [geluReference(x), tf.grad(loss(geluReference))(x)]);
        const before = tf.memory().numTensors;
        const y = gelu(x), g = tf.grad(loss(gelu))(x);
        assert.equal(tf.memory().numTensors, before + 2, "the fused path leaves only its outputs");
        assert.ok(maxAbsDiff(y, yRef) < 2e-6, `values differ by ${maxAbsDiff(y, yRef)}`);
        assert.ok(maxAbsDiff(g, gRef) < 6e-6, `gradients differ by ${maxAbsDiff(g, gRef)}`);
        tf.dispose([y, yRef, g, gRef]);
        tf.dispose([x, w]);
      });
    });
  }
  for (const [backend, B, r, k] of [["wasm", 2, 12, 3], ["wasm", 3, 28, 7], ["cpu", 2, 14, 5]] as const) {
    it(`sparse depthwise conv on a full grid (dense depthwise path) matches the typed gather path: ${B}×${r}×${r}, k=${k} (${backend})`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(11);
        const C = 8;
        const kmap = KernelMap.build(fullGrid(B, r, r), k);
        const x = rng.normalTensor<tf.Rank.R3>([B, r * r, C]), w = rng.normalTensor<tf.Rank.R3>([k, k, C]);
        const b = rng.normalTensor<tf.Rank.R1>([C]), probe = rng.normalTensor([B, r * r, C]);
        const loss = (f: typeof sparseDepthwiseConv) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(f(xx as tf.Tensor3D, kmap, ww as tf.Tensor3D, bb as tf.Tensor1D), probe));
        const ref = tf.tidy(() => [sparseDepthwiseConvTyped(x, kmap, w, b), ...tf.grads(loss(sparseDepthwiseConvTyped))([x, w, b])]);
        const before = tf.memory().numTensors;
        const out = [sparseDepthwiseConv(x, kmap, w, b), ...tf.grads(loss(sparseDepthwiseConv))([x, w, b])];
        assert.equal(tf.memory().numTensors, before + 4, "only the outputs remain");
        ["value", "∂x", "∂kernel", "∂bias"].forEach((what, i) => {
          const scale = Math.max(1, ...Array.from(ref[i].dataSync()).map(Math.abs));
          const d = maxAbsDiff(out[i], ref[i]) / scale;
          assert.ok(d < 1e-5, `${what} differs by ${d} (relative to its largest value)`);
        });
        tf.dispose([...ref, ...out, x, w, b, probe]);
        kmap.dispose();
      });
    });
  }
  for (const backend of ["wasm", "cpu"] as const) {
    for (const clipNorm of [0.5, 0]) {
      it(`Adam + EMA: fused kernels match the op chain over 4 steps, clip ${clipNorm || "off"} (${backend})`, async () => {
        await withBackend(backend, () => {
          const make = () => {
            const p = new Params(new Rng(5));
            p.create("a.w", [7, 9], fanInUniform(7));
            p.create("a.b", [9], { kind: "zeros" });
            p.create("c.k", [3, 3, 4, 5], fanInUniform(36));
            const ema = new Params(new Rng(6));
            for (const n of p.names()) ema.create(n, p.get(n).shape, { kind: "zeros" });
            ema.copyFrom(p);
            return { p, ema };
          };
          const A = make(), R = make();
          const optA = new Adam(A.p, { beta1: 0.9, beta2: 0.99, clipNorm });
          const optR = new Adam(R.p, { beta1: 0.9, beta2: 0.99, clipNorm, fused: false });
          const rng = new Rng(8);
          const n0 = tf.memory().numTensors;
          for (let step = 0; step < 4; step++) {
            const grads: Record<string, tf.Tensor> = {};
            // gradients from tiny to large, so clipping engages (norm ≫ 0.5) and eps matters for the small ones
            for (const n of A.p.names()) grads[n] = tf.tidy(() => tf.mul(rng.normalTensor(A.p.get(n).shape), 10 ** (step - 2)));
            const na = optA.apply(grads, 1e-2), nr = optR.apply(grads, 1e-2);
            const [a, r] = [na.dataSync()[0], nr.dataSync()[0]];
            assert.ok(Math.abs(a - r) <= 1e-6 * r, `grad norm ${a} vs ${r}`);
            tf.dispose([na, nr, ...Object.values(grads)]);
            A.ema.emaUpdate(A.p, 0.9);
            R.ema.emaUpdateReference(R.p, 0.9);
          }
          assert.equal(tf.memory().numTensors, n0, "no leak");
          for (const n of A.p.names()) {
            for (const [x, y, what] of [[A.p, R.p, "weights"], [A.ema, R.ema, "EMA"]] as const) {
              const d = maxAbsDiff(x.get(n), y.get(n));
              assert.ok(d <= 1e-6, `${what} ${n} differ by ${d}`);
            }
            const sa = optA.state(), sr = optR.state();
            assert.ok(maxAbsDiff(tf.tensor(sa.v[n].values), tf.tensor(sr.v[n].values)) <= 1e-9, `Adam v ${n}`);
          }
          for (const o of [optA, optR]) o.dispose();
          for (const s of [A, R]) { s.p.dispose(); s.ema.dispose(); }
        });
      });
    }
  }
});
