/**
 * The fused time-modulated LayerNorm (nn/fused-norm.ts) against the op chain it replaces: values and the gradients
 * wrt all five inputs, on wasm and cpu, with per-image scale/shift (B > 1) and channel counts off the 8-lane blocks;
 * plus a finite-difference check of the input gradient and a leak check.
 */
import { strict as assert } from "assert";
import { initBackend, withBackend, tf, Rng, modulatedLayerNorm, modulatedLayerNormReference, addSame, addBias, maxRelDiff } from "infty-diff-lab";

const relErr = maxRelDiff;

describe("fused modulated LayerNorm vs the op chain", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  for (const [backend, B, M, C] of [["wasm", 3, 40, 32], ["cpu", 2, 17, 5], ["wasm", 1, 9, 13]] as const) {
    it(`values and gradients wrt x, γ, β, scale, shift match (${backend}, B=${B}, M=${M}, C=${C})`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(B * 100 + C);
        const x = tf.add(tf.mul(rng.normalTensor<tf.Rank.R3>([B, M, C]), 2), 0.5) as tf.Tensor3D;
        const g = tf.add(rng.normalTensor([C]), 1), b = rng.normalTensor([C]);
        const sc = tf.mul(rng.normalTensor([B, 1, C]), 0.3), sh = rng.normalTensor([B, 1, C]);
        const w = rng.normalTensor([B, M, C]);
        const loss = (f: typeof modulatedLayerNorm) => (...a: tf.Tensor[]) => tf.sum(tf.mul(f(a[0] as tf.Tensor3D, a[1], a[2], a[3], a[4], 1e-5), w));
        const ins = [x, g, b, sc, sh];
        const yRef = modulatedLayerNormReference(x, g, b, sc, sh, 1e-5), gRef = tf.grads(loss(modulatedLayerNormReference))(ins);
        const n0 = tf.memory().numTensors;
        const y = modulatedLayerNorm(x, g, b, sc, sh, 1e-5);
        assert.equal(tf.memory().numTensors, n0 + 1, "the fused forward leaves only its output");
        const gs = tf.grads(loss(modulatedLayerNorm))(ins);
        assert.ok(relErr(y, yRef) < 2e-6, `values: ${relErr(y, yRef)}`);
        ["x", "γ", "β", "scale", "shift"].forEach((name, i) => {
          assert.deepEqual(gs[i].shape, ins[i].shape);
          assert.ok(relErr(gs[i], gRef[i]) < 2e-5, `∂${name}: ${relErr(gs[i], gRef[i])}`);
        });
        tf.dispose([...ins, w, y, yRef, ...gRef, ...gs]);
      });
    });
  }

  it("the input gradient matches central finite differences (cpu, float64 check of a few entries)", async () => {
    await withBackend("cpu", () => {
      const rng = new Rng(9);
      const B = 2, M = 3, C = 6;
      const xv = rng.normals(B * M * C), w = rng.normalTensor([B, M, C]);
      const g = tf.add(rng.normalTensor([C]), 1), b = rng.normalTensor([C]), sc = rng.normalTensor([B, 1, C]), sh = rng.normalTensor([B, 1, C]);
      const f = (v: Float32Array) => tf.tidy(() => tf.sum(tf.mul(modulatedLayerNorm(tf.tensor3d(v, [B, M, C]), g, b, sc, sh, 1e-5), w)).dataSync()[0]);
      const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(modulatedLayerNorm(x as tf.Tensor3D, g, b, sc, sh, 1e-5), w)))(tf.tensor3d(xv, [B, M, C])).dataSync();
      const h = 1e-2;
      for (const i of [0, 7, 20, 35]) {
        const p = xv.slice(), m = xv.slice();
        p[i] += h; m[i] -= h;
        const fd = (f(p) - f(m)) / (2 * h);
        assert.ok(Math.abs(fd - dx[i]) < 2e-2 * Math.max(1, Math.abs(fd)), `entry ${i}: fd ${fd} vs ${dx[i]}`);
      }
      tf.dispose([w, g, b, sc, sh]);
    });
  });

  it("addSame / addBias: values and gradients equal tf.add's bit for bit; bad shapes rejected", () => {
    const rng = new Rng(2);
    const a = rng.normalTensor([3, 5, 4]), b = rng.normalTensor([3, 5, 4]), bias = rng.normalTensor([4]), w = rng.normalTensor([3, 5, 4]);
    const f = (add: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.square(add(x, y)), w));
    for (const [ours, y] of [[addSame, b], [addBias, bias]] as const) {
      const ref = tf.grads(f(tf.add))([a, y]), got = tf.grads(f(ours as (x: tf.Tensor, y: tf.Tensor) => tf.Tensor))([a, y]);
      const v0 = tf.add(a, y), v1 = (ours as (x: tf.Tensor, y: tf.Tensor) => tf.Tensor)(a, y);
      assert.deepEqual(Array.from(v1.dataSync()), Array.from(v0.dataSync()));
      for (let i = 0; i < 2; i++) assert.deepEqual(Array.from(got[i].dataSync()), Array.from(ref[i].dataSync()), `${ours.name} gradient ${i}`);
      tf.dispose([...ref, ...got, v0, v1]);
    }
    assert.throws(() => addSame(a, bias), /shapes \[3,5,4\] and \[4\] differ/);
    assert.throws(() => addBias(a, b), /bias \[3,5,4\]/);
    tf.dispose([a, b, bias, w]);
  });

  it("rejects mismatched shapes", () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 3, 4]) as tf.Tensor3D;
      assert.throws(() => modulatedLayerNorm(x, tf.ones([4]), tf.zeros([4]), tf.zeros([1, 1, 4]), tf.zeros([2, 1, 4]), 1e-5), /scale \[1,1,4\]/);
    });
  });
});
