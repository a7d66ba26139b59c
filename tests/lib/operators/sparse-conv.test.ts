import { strict as assert } from "assert";
import {
  initBackend, withBackend, tf, Rng, fullGrid, uniformSubset, KernelMap, sparseDepthwiseConv, sparseDepthwiseConvDense,
  sparseConv, nonlinearKernelOp, gatherPoints, scatterPoints, CoordSet,
} from "infty-diff-lab";

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const scale = (a: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]);

/** Dense regular-conv reference: scatter → conv2d 'same' → ÷ conv of the mask → gather (plain tfjs ops). */
function sparseConvDense(x: tf.Tensor3D, set: CoordSet, k: number, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const grid = scatterPoints(x, set);
    const mask = scatterPoints(tf.ones([set.B, set.M, 1]) as tf.Tensor3D, set);
    const sum = tf.conv2d(grid, w, 1, "same");
    // cells without points have count 0: clamp so 0/0 cannot put NaN into the gradient
    const count = tf.maximum(tf.conv2d(mask, tf.ones([k, k, 1, 1]) as tf.Tensor4D, 1, "same"), 1);
    return tf.add(gatherPoints(tf.div(sum, count) as tf.Tensor4D, set), b) as tf.Tensor3D;
  });
}

describe("sparse convolutions (∞-Diff Eq. 20, Appendix A)", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  for (const backend of ["wasm", "cpu"] as const) {
    it(`${backend}: on a full grid equals dense depthwise 'same' conv ÷ dense neighbour count`, async () => {
      await withBackend(backend, () => {
        const rng = new Rng(1);
        const set = fullGrid(2, 12, 10);
        const km = KernelMap.build(set, 7);
        const x = rng.normalTensor<tf.Rank.R3>([2, 120, 5]), w = rng.normalTensor<tf.Rank.R3>([7, 7, 5]);
        const b = rng.normalTensor<tf.Rank.R1>([5]);
        const y = sparseDepthwiseConv(x, km, w, b);
        // independent dense computation on the image
        const img = tf.reshape(x, [2, 12, 10, 5]) as tf.Tensor4D;
        const dense = tf.tidy(() => tf.add(tf.div(
          tf.depthwiseConv2d(img, tf.expandDims(w, 3) as tf.Tensor4D, 1, "same"),
          tf.conv2d(tf.ones([2, 12, 10, 1]) as tf.Tensor4D, tf.ones([7, 7, 1, 1]) as tf.Tensor4D, 1, "same")), b));
        assert.ok(maxAbs(y, tf.reshape(dense, [2, 120, 5])) < 1e-5 * Math.max(1, scale(y)));
        tf.dispose([x, w, b, y, img, dense]);
      });
    });
  }

  it("on random subsets equals the dense reference (scatter → conv → ÷ mask conv → gather), odd channel counts", async () => {
    await withBackend("cpu", () => {
      const rng = new Rng(2);
      for (const [C, ratio] of [[13, 0.25], [8, 0.6], [3, 0.1]] as const) {
        const set = uniformSubset(rng, 2, 15, 13, { ratio });
        const km = KernelMap.build(set, 5);
        const x = rng.normalTensor<tf.Rank.R3>([2, set.M, C]), w = rng.normalTensor<tf.Rank.R3>([5, 5, C]);
        const b = rng.normalTensor<tf.Rank.R1>([C]);
        assert.ok(maxAbs(sparseDepthwiseConv(x, km, w, b), sparseDepthwiseConvDense(x, km, w, b)) < 1e-5);
      }
    });
  });

  it("gradients wrt feats, kernel, bias match autodiff of the dense reference (cpu) and run on wasm", async () => {
    const rng = new Rng(3);
    const set = uniformSubset(rng, 2, 11, 9, { ratio: 0.5 });
    const km = KernelMap.build(set, 5);
    const xs = rng.normals(2 * set.M * 12), ws = rng.normals(25 * 12), bs = rng.normals(12), rs = rng.normals(2 * set.M * 12);
    const run = (op: typeof sparseDepthwiseConv) => {
      const x = tf.tensor3d(xs, [2, set.M, 12]), w = tf.tensor3d(ws, [5, 5, 12]), b = tf.tensor1d(bs), r = tf.tensor3d(rs, [2, set.M, 12]);
      // a nonlinear loss so the upstream gradient varies per point
      const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(tf.sin(op(a as tf.Tensor3D, km, c as tf.Tensor3D, d as tf.Tensor1D)), r));
      const g = tf.grads(f)([x, w, b]);
      const out = g.map((t) => t.dataSync().slice());
      tf.dispose([x, w, b, r, ...g]);
      return out;
    };
    const ref = await withBackend("cpu", () => run(sparseDepthwiseConvDense));
    for (const backend of ["cpu", "wasm"] as const) {
      const got = await withBackend(backend, () => run(sparseDepthwiseConv));
      got.forEach((g, i) => {
        let e = 0, s = 0;
        for (let j = 0; j < g.length; j++) { e = Math.max(e, Math.abs(g[j] - ref[i][j])); s = Math.max(s, Math.abs(ref[i][j])); }
        assert.ok(e < 1e-4 * Math.max(1, s), `${backend} grad ${["feats", "kernel", "bias"][i]}: error ${e} (scale ${s})`);
      });
    }
  });

  it("gradient matches central finite differences (wasm, float32 with a large step)", () => {
    const rng = new Rng(4);
    const set = uniformSubset(rng, 1, 7, 7, { ratio: 0.6 });
    const km = KernelMap.build(set, 3);
    const x = rng.normalTensor<tf.Rank.R3>([1, set.M, 2]), w = rng.normalTensor<tf.Rank.R3>([3, 3, 2]), b = tf.zeros([2]) as tf.Tensor1D;
    const loss = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(sparseDepthwiseConv(xx as tf.Tensor3D, km, ww as tf.Tensor3D, b)));
    const [gx, gw] = tf.grads(loss)([x, w]);
    const eps = 1e-2;
    for (const [t, g] of [[x, gx], [w, gw]] as const) {
      const v = t.dataSync().slice(), gv = g.dataSync();
      for (const i of [0, 3, Math.floor(v.length / 2), v.length - 1]) {
        const at = (d: number) => { const u = v.slice(); u[i] += d; return tf.tidy(() => loss(tf.tensor(u, t.shape), t === x ? w : x).dataSync()[0]); };
        const fd = t === x ? (at(eps) - at(-eps)) / (2 * eps)
          : (tf.tidy(() => loss(x, tf.tensor(Float32Array.from(v, (e, j) => j === i ? e + eps : e), w.shape)).dataSync()[0])
            - tf.tidy(() => loss(x, tf.tensor(Float32Array.from(v, (e, j) => j === i ? e - eps : e), w.shape)).dataSync()[0])) / (2 * eps);
        assert.ok(Math.abs(fd - gv[i]) < 2e-3 * Math.max(1, Math.abs(fd)), `fd ${fd} vs grad ${gv[i]}`);
      }
    }
    tf.dispose([x, w, b, gx, gw]);
  });

  it("regular sparse conv equals a dense conv2d reference; gradients match its autodiff (cpu); trains on wasm", async () => {
    const rng = new Rng(5);
    const set = uniformSubset(rng, 2, 9, 10, { ratio: 0.4 });
    const km = KernelMap.build(set, 3);
    const xs = rng.normals(2 * set.M * 4), ws = rng.normals(9 * 4 * 6), bs = rng.normals(6);
    const run = (dense: boolean) => {
      const x = tf.tensor3d(xs, [2, set.M, 4]), w = tf.tensor4d(ws, [3, 3, 4, 6]), b = tf.tensor1d(bs);
      const op = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => dense
        ? sparseConvDense(a as tf.Tensor3D, set, 3, c as tf.Tensor4D, d as tf.Tensor1D)
        : sparseConv(a as tf.Tensor3D, km, c as tf.Tensor4D, d as tf.Tensor1D);
      const y = op(x, w, b);
      const g = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.square(op(a, c, d))))([x, w, b]);
      const out = [y, ...g].map((t) => t.dataSync().slice());
      tf.dispose([x, w, b, y, ...g]);
      return out;
    };
    const ref = await withBackend("cpu", () => run(true));
    for (const backend of ["cpu", "wasm"] as const) {
      const got = await withBackend(backend, () => run(false));
      got.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - ref[i][j]) < 1e-4 * Math.max(1, Math.abs(ref[i][j])), `${backend} output ${i}[${j}]: ${v} vs ${ref[i][j]}`)));
    }
  });

  it("nonlinear kernel op = conv → activation → conv; its gradient matches the dense composition (cpu)", async () => {
    const rng = new Rng(6);
    const set = uniformSubset(rng, 1, 9, 9, { ratio: 0.5 });
    const km = KernelMap.build(set, 3);
    const vals = [rng.normals(set.M * 3), rng.normals(27), rng.normals(3), rng.normals(27), rng.normals(3)];
    const run = (dense: boolean) => {
      const [x, k1, b1, k2, b2] = [tf.tensor3d(vals[0], [1, set.M, 3]), tf.tensor3d(vals[1], [3, 3, 3]), tf.tensor1d(vals[2]),
        tf.tensor3d(vals[3], [3, 3, 3]), tf.tensor1d(vals[4])];
      const silu = (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t));
      const f = (a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(dense
        ? sparseDepthwiseConvDense(silu(sparseDepthwiseConvDense(a as tf.Tensor3D, km, c as tf.Tensor3D, b1)) as tf.Tensor3D, km, k2, b2)
        : nonlinearKernelOp(a as tf.Tensor3D, km, { kernel1: c as tf.Tensor3D, bias1: b1, kernel2: k2, bias2: b2 })));
      const g = tf.grads(f)([x, k1]);
      const out = g.map((t) => t.dataSync().slice());
      tf.dispose([x, k1, b1, k2, b2, ...g]);
      return out;
    };
    const ref = await withBackend("cpu", () => run(true));
    const got = await withBackend("wasm", () => run(false));
    got.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - ref[i][j]) < 1e-4 * Math.max(1, Math.abs(ref[i][j])))));
  });

  it("rejects mismatched shapes and disposed kernel maps", () => {
    const set = fullGrid(1, 4, 4);
    const km = KernelMap.build(set, 3);
    const x = tf.zeros([1, 16, 2]) as tf.Tensor3D;
    assert.throws(() => sparseDepthwiseConv(x, km, tf.zeros([5, 5, 2]) as tf.Tensor3D, tf.zeros([2]) as tf.Tensor1D), /kernel 5×5/);
    km.dispose();
    assert.throws(() => sparseDepthwiseConv(x, km, tf.zeros([3, 3, 2]) as tf.Tensor3D, tf.zeros([2]) as tf.Tensor1D), /dispose/);
    x.dispose();
  });

  it("training steps do not leak tensors (wasm)", () => {
    const rng = new Rng(7);
    const set = uniformSubset(rng, 2, 10, 10, { ratio: 0.3 });
    const km = KernelMap.build(set, 7);
    const x = rng.normalTensor<tf.Rank.R3>([2, set.M, 8]);
    const w = tf.variable(rng.normalTensor([7, 7, 8])), b = tf.variable(tf.zeros([8]));
    const w2 = tf.variable(rng.normalTensor([7, 7, 8, 8]));
    const opt = tf.train.sgd(0.01);
    const step = () => opt.minimize(() => tf.mean(tf.square(
      sparseConv(sparseDepthwiseConv(x, km, w as unknown as tf.Tensor3D, b as unknown as tf.Tensor1D), km, w2 as unknown as tf.Tensor4D, b as unknown as tf.Tensor1D))) as tf.Scalar);
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, n);
    tf.dispose([x, w, b, w2]);
  });
});
