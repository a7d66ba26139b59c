/**
 * The fused GroupNorm → modulation → SiLU of the U-Net's residual blocks (nn/fused-norm.ts) against the op chain it
 * replaces: values and gradients wrt x, γ, β, scale, shift, with and without modulation, on wasm and cpu.
 */
import { strict as assert } from "assert";
import { initBackend, withBackend, tf, Rng, groupNormSilu, groupNormSiluReference, maxRelDiff } from "infty-diff-lab";

const relErr = maxRelDiff;

describe("fused GroupNorm → modulation → SiLU vs the op chain", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  for (const [backend, B, H, C, G, mod] of [["wasm", 3, 8, 32, 8, true], ["wasm", 2, 4, 64, 8, false], ["cpu", 2, 5, 6, 3, true], ["cpu", 1, 3, 4, 4, false]] as const) {
    it(`values and gradients match (${backend}, [${B},${H},${H},${C}], ${G} groups, ${mod ? "" : "no "}modulation)`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(B * 10 + C);
        const x = tf.add(tf.mul(rng.normalTensor<tf.Rank.R4>([B, H, H, C]), 2), 0.3) as tf.Tensor4D;
        const g = tf.add(rng.normalTensor([C]), 1), b = rng.normalTensor([C]);
        const sc = tf.mul(rng.normalTensor([B, 1, 1, C]), 0.3), sh = rng.normalTensor([B, 1, 1, C]);
        const w = rng.normalTensor([B, H, H, C]);
        const ins = mod ? [x, g, b, sc, sh] : [x, g, b];
        const loss = (f: typeof groupNormSilu) => (...a: tf.Tensor[]) =>
          tf.sum(tf.mul(f(a[0] as tf.Tensor4D, a[1], a[2], G, 1e-5, mod ? a[3] : null, mod ? a[4] : null), w));
        const yRef = groupNormSiluReference(x, g, b, G, 1e-5, mod ? sc : null, mod ? sh : null);
        const gRef = tf.grads(loss(groupNormSiluReference))(ins);
        const n0 = tf.memory().numTensors;
        const y = groupNormSilu(x, g, b, G, 1e-5, mod ? sc : null, mod ? sh : null);
        assert.equal(tf.memory().numTensors, n0 + 1, "the fused forward leaves only its output");
        const gs = tf.grads(loss(groupNormSilu))(ins);
        assert.ok(relErr(y, yRef) < 2e-6, `values: ${relErr(y, yRef)}`);
        ["x", "γ", "β", "scale", "shift"].slice(0, ins.length).forEach((name, i) => {
          assert.deepEqual(gs[i].shape, ins[i].shape);
          assert.ok(relErr(gs[i], gRef[i]) < 2e-5, `∂${name}: ${relErr(gs[i], gRef[i])}`);
        });
        tf.dispose([x, g, b, sc, sh, w, y, yRef, ...gRef, ...gs]);
      });
    });
  }
});
