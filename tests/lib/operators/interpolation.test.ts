import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, uniformSubset, fullGrid, positions, KnnToGrid, GridToPoints, sparseDownsample, gridPositions,
} from "infty-diff-lab";

/** feats [B, M, 1] of f at the set's positions */
function sample(pos: Float32Array, B: number, M: number, f: (y: number, x: number) => number): tf.Tensor3D {
  const v = new Float32Array(B * M);
  for (let i = 0; i < B * M; i++) v[i] = f(pos[2 * i], pos[2 * i + 1]);
  return tf.tensor3d(v, [B, M, 1]);
}

describe("interpolation between point sets and grids (Fig. 4 k-NN lerp)", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  for (const [weighting, power] of [["inverse-squared-distance", 2], ["inverse-distance", 1]] as const) {
    it(`k-NN weights are the 3 nearest points (brute force) with normalised ${weighting} weights`, () => {
      const set = uniformSubset(new Rng(1), 2, 20, 17, { ratio: 0.15 });
      const knn = KnnToGrid.build(set, 6, 5, 3, weighting);
      const pos = positions(set), gp = gridPositions(2, 6, 5), t = knn.weights;
      for (let b = 0; b < 2; b++) for (let g = 0; g < 30; g++) {
        const gy = gp[2 * (b * 30 + g)], gx = gp[2 * (b * 30 + g) + 1];
        const d = Array.from({ length: set.M }, (_, j) => Math.hypot(pos[2 * (b * set.M + j)] - gy, pos[2 * (b * set.M + j) + 1] - gx));
        const best = d.map((v, j) => [v, j]).sort((p, q) => p[0] - q[0]).slice(0, 3);
        const wsum = best.reduce((s, [v]) => s + v ** -power, 0);
        for (let q = 0; q < 3; q++) {
          assert.ok(Math.abs(d[t.idx[(b * 30 + g) * 3 + q]] - best[q][0]) < 1e-12);
          assert.ok(Math.abs(t.w[(b * 30 + g) * 3 + q] - best[q][0] ** -power / wsum) < 1e-6);
        }
      }
      knn.dispose();
    });
  }

  it("points → grid reproduces constants exactly and linear fields closely", () => {
    const set = uniformSubset(new Rng(2), 4, 28, 28, { ratio: 0.25 });
    const knn = KnnToGrid.build(set, 16, 16);
    const pos = positions(set);
    const c = knn.apply(sample(pos, 4, set.M, () => 0.7)).dataSync();
    for (const v of c) assert.ok(Math.abs(v - 0.7) < 1e-6);
    const lin = (y: number, x: number) => 0.3 + 1.5 * y - 0.8 * x;
    const out = knn.apply(sample(pos, 4, set.M, lin)).dataSync(), gp = gridPositions(4, 16, 16);
    // inverse-distance weighting is a convex combination, not linear-exact: per cell the error is at most
    // |∇f| × (distance to its farthest of the 3 neighbours); on average it is much smaller
    const t = knn.weights, slope = Math.hypot(1.5, 0.8);
    let e = 0, se = 0;
    for (let i = 0; i < out.length; i++) {
      const b = Math.floor(i / 256), err = Math.abs(out[i] - lin(gp[2 * i], gp[2 * i + 1]));
      let dmax = 0;
      for (let q = 0; q < 3; q++) {
        const j = b * set.M + t.idx[i * 3 + q];
        dmax = Math.max(dmax, Math.hypot(pos[2 * j] - gp[2 * i], pos[2 * j + 1] - gp[2 * i + 1]));
      }
      assert.ok(err <= slope * dmax + 1e-5, `cell ${i}: error ${err} above the convexity bound ${slope * dmax}`);
      e = Math.max(e, err); se += err * err;
    }
    const rms = Math.sqrt(se / out.length);
    console.log(`      k-NN on a linear field (range 2.3): max error ${e.toFixed(4)}, RMS ${rms.toFixed(4)}`);
    assert.ok(rms < 0.05, `linear field RMS error ${rms}`);
    knn.dispose();
  });

  it("grid → points is exact on bilinear functions (border-clamped)", () => {
    const set = uniformSubset(new Rng(3), 2, 40, 36, { ratio: 0.3 });
    const gh = 9, gw = 7;
    const f = (y: number, x: number) => 0.5 - y + 2 * x + 3 * x * y;
    const grid = new Float32Array(2 * gh * gw);
    for (let b = 0; b < 2; b++) for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) grid[(b * gh + i) * gw + j] = f((i + 0.5) / gh, (j + 0.5) / gw);
    const g2p = GridToPoints.build(set, gh, gw);
    const out = g2p.apply(tf.tensor4d(grid, [2, gh, gw, 1])).dataSync(), pos = positions(set);
    const clamp = (v: number, g: number) => Math.min(1 - 0.5 / g, Math.max(0.5 / g, v));
    for (let i = 0; i < out.length; i++) {
      assert.ok(Math.abs(out[i] - f(clamp(pos[2 * i], gh), clamp(pos[2 * i + 1], gw))) < 1e-5);
    }
    g2p.dispose();
  });

  it("gradients are the transposed tables (⟨Ax, y⟩ = ⟨x, Aᵀy⟩) and run on wasm", () => {
    const rng = new Rng(4);
    const set = uniformSubset(rng, 2, 12, 12, { ratio: 0.3 });
    const knn = KnnToGrid.build(set, 5, 5), g2p = GridToPoints.build(set, 5, 5);
    const x = rng.normalTensor<tf.Rank.R3>([2, set.M, 3]), y = rng.normalTensor<tf.Rank.R4>([2, 5, 5, 3]);
    const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(knn.apply(a as tf.Tensor3D), y)))(x);
    const gy = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(g2p.apply(a as tf.Tensor4D), x)))(y);
    // finite-dimensional adjoint check: ⟨knn(x), y⟩ = ⟨x, ∂⟩
    const lhs = tf.sum(tf.mul(knn.apply(x), y)).dataSync()[0], rhs = tf.sum(tf.mul(x, gx)).dataSync()[0];
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.max(1, Math.abs(lhs)));
    const lhs2 = tf.sum(tf.mul(g2p.apply(y), x)).dataSync()[0], rhs2 = tf.sum(tf.mul(y, gy)).dataSync()[0];
    assert.ok(Math.abs(lhs2 - rhs2) < 1e-4 * Math.max(1, Math.abs(lhs2)));
    // and an entry by central finite difference
    const xv = x.dataSync().slice(), i = 7, eps = 1e-2;
    const at = (d: number) => { const u = xv.slice(); u[i] += d; return tf.tidy(() => tf.sum(tf.mul(knn.apply(tf.tensor3d(u, x.shape)), y)).dataSync()[0]); };
    assert.ok(Math.abs((at(eps) - at(-eps)) / (2 * eps) - gx.dataSync()[i]) < 1e-3);
    tf.dispose([x, y, gx, gy]);
    knn.dispose(); g2p.dispose();
    assert.throws(() => knn.apply(x), /dispose/);
  });

  it("sparse downsample: a random subset of the points; up-sampling copies kept points and keeps constants", () => {
    const rng = new Rng(5);
    const set = uniformSubset(rng, 3, 16, 16, { ratio: 0.5 });
    const ds = sparseDownsample(set, rng, 0.25);
    assert.equal(ds.coarse.M, Math.round(0.25 * set.M));
    const x = rng.normalTensor<tf.Rank.R3>([3, set.M, 2]);
    const down = ds.down(x), back = ds.up(down);
    const xv = x.arraySync(), dv = down.arraySync(), bv = back.arraySync();
    for (let b = 0; b < 3; b++) for (let i = 0; i < ds.coarse.M; i++) {
      const j = ds.pick[b * ds.coarse.M + i];
      assert.equal(ds.coarse.cells[b * ds.coarse.M + i], set.cells[b * set.M + j]);
      assert.deepEqual(dv[b][i], xv[b][j]);
      assert.ok(Math.abs(bv[b][j][0] - xv[b][j][0]) < 1e-6);
    }
    const ones = ds.up(tf.ones([3, ds.coarse.M, 1]) as tf.Tensor3D).dataSync();
    for (const v of ones) assert.ok(Math.abs(v - 1) < 1e-6);
    const g = tf.grad((a: tf.Tensor) => tf.sum(ds.up(ds.down(a as tf.Tensor3D))))(x);
    assert.equal(g.shape.join(), x.shape.join());
    tf.dispose([x, down, back, g]);
    ds.dispose();
  });

  it("full-grid tables at sampling resolution build quickly enough to use, and apply without leaks", () => {
    const set = fullGrid(1, 96, 96);
    const knn = KnnToGrid.build(set, 16, 16), g2p = GridToPoints.build(set, 16, 16);
    const x = tf.ones([1, set.M, 4]) as tf.Tensor3D;
    const step = () => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(g2p.apply(knn.apply(a as tf.Tensor3D))))(x));
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, n);
    x.dispose(); knn.dispose(); g2p.dispose();
  });
});
