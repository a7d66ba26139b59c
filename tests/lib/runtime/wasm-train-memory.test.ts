/**
 * 200 training steps of a small conv net on wasm — strided conv, depthwise 5×5, 1×1 conv, a gather of points,
 * a transposed matMul — through the lab's wasm gradient kernels: no tensor and no wasm heap buffer is leaked,
 * and the loss falls (the gradients are real).
 */
import { strict as assert } from "assert";
import { initBackend, tf, Rng } from "infty-diff-lab";

describe("wasm training memory", () => {
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("200 SGD steps leave numTensors and the wasm heap's buffer count unchanged, and the loss falls", () => {
    const rng = new Rng(42);
    const v = (shape: number[], scale: number) =>
      tf.variable(tf.mul(tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape), scale));
    const w1 = v([3, 3, 2, 8], 0.3), dw = v([5, 5, 8, 1], 0.2), w2 = v([1, 1, 8, 4], 0.3), wo = v([3, 4], 0.3);
    // x [4, 16, 16, 2]; target [4·20, 3] at 20 fixed points of the 8×8 feature grid
    const x = tf.tensor(rng.normals(4 * 16 * 16 * 2), [4, 16, 16, 2]) as tf.Tensor4D;
    const target = tf.tensor(rng.normals(4 * 20 * 3), [80, 3]);
    const points = tf.tensor1d(Array.from({ length: 80 }, (_, i) => (i % 4) * 64 + rng.int(64)), "int32");
    const opt = tf.train.sgd(0.05);
    const loss = () => {
      let h = tf.relu(tf.conv2d(x, w1 as tf.Variable<tf.Rank.R4>, 2, "same")); // [4, 8, 8, 8]
      h = tf.relu(tf.depthwiseConv2d(h as tf.Tensor4D, dw as tf.Variable<tf.Rank.R4>, 1, "same"));
      h = tf.conv2d(h as tf.Tensor4D, w2 as tf.Variable<tf.Rank.R4>, 1, "same"); // [4, 8, 8, 4]
      const feats = tf.gather(tf.reshape(h, [256, 4]), points); // [80, 4]
      const y = tf.matMul(feats, wo, false, true); // [80, 3]
      return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
    };
    const step = () => {
      const l = opt.minimize(loss, true) as tf.Scalar;
      const value = l.dataSync()[0];
      l.dispose();
      return value;
    };
    const first = step(); // burn-in
    const be = tf.backend() as unknown as { numDataIds(): number };
    const tensors = tf.memory().numTensors, buffers = be.numDataIds();
    let last = first;
    for (let i = 0; i < 200; i++) last = step();
    assert.equal(tf.memory().numTensors, tensors, "numTensors after 200 steps");
    assert.equal(be.numDataIds(), buffers, "wasm heap buffers after 200 steps");
    assert.ok(Number.isFinite(last) && last < 0.8 * first, `loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
    tf.dispose([w1, dw, w2, wo, x, target, points]);
    opt.dispose();
  });
});
