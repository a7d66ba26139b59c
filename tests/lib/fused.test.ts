/**
 * Fast paths held to their straightforward references (STYLE.md §7): every fused kernel that replaced a chain of
 * tfjs ops on the training path must match that chain, values and gradients, within float32 rounding.
 */
import { strict as assert } from "assert";
import { initBackend, withBackend, tf, Rng, gelu, geluReference } from "infty-diff-lab";

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
});
