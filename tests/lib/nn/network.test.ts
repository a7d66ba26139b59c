import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, InftyDiffNetwork, GridDenoiser, uniformSubset, fullGrid, resolveConfig,
} from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

describe("∞-Diff network", () => {
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("default Fashion-MNIST config builds with about 1.5–1.8 M parameters", () => {
    const net = new InftyDiffNetwork(resolveConfig({}).model, new Rng(0));
    try {
      const n = net.params.count();
      assert.ok(n > 1.4e6 && n < 1.9e6, `parameter count ${n}`);
    } finally {
      net.dispose();
    }
  });

  for (const [ratio, res] of [[1, 12], [0.5, 12], [0.25, 12], [1, 24], [0.5, 18]] as const) {
    it(`maps [B,M,C] → [B,M,C] on ${ratio === 1 ? "the full grid" : `a ${ratio} subset`} at ${res}×${res}`, () => {
      const cfg = tinyConfig();
      const net = new InftyDiffNetwork(cfg.model, new Rng(1));
      const rng = new Rng(2);
      const set = ratio === 1 ? fullGrid(3, res, res) : uniformSubset(rng, 3, res, res, { ratio });
      const ctx = net.context(set);
      try {
        const x = rng.normalTensor<tf.Rank.R3>([3, set.M, 1]);
        const y = net.apply(x, ctx, tf.tensor1d([0, 500, 999], "int32"), { dropoutRng: null });
        assert.deepEqual(y.shape, [3, set.M, 1]);
        const v = y.dataSync();
        assert.ok(v.every(Number.isFinite));
        tf.dispose([x, y]);
      } finally {
        ctx.dispose();
        net.dispose();
      }
    });
  }

  it("every parameter receives a non-zero gradient (after moving off the zero-initialised start)", () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(3));
    const rng = new Rng(4);
    // zero-initialised output layers block gradients upstream at init; perturb every weight first
    tf.tidy(() => net.params.variables().forEach((v) => v.assign(tf.add(v, rng.normalTensor(v.shape).mul(0.05)))));
    const set = uniformSubset(rng, 2, 12, 12, { ratio: 0.5 });
    const ctx = net.context(set);
    try {
      const x = rng.normalTensor<tf.Rank.R3>([2, set.M, 1]);
      const t = tf.tensor1d([10, 700], "int32");
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(net.apply(x, ctx, t, { dropoutRng: null }))), net.params.variables());
      const names = net.params.names();
      const vars = net.params.variables();
      const zero: string[] = [];
      vars.forEach((v, i) => {
        const g = grads[v.name];
        if (!g || tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0) zero.push(names[i]);
      });
      assert.deepEqual(zero, []);
      tf.dispose([x, t, value]);
      tf.dispose(Object.values(grads));
    } finally {
      ctx.dispose();
      net.dispose();
    }
  });

  it("its input gradient matches a central finite difference", () => {
    const cfg = tinyConfig({}, { unet: { res: 8, baseChannels: 8, mults: [1, 2], blocksPerLevel: 1, attnRes: [4], dropoutRes: 4, dropout: 0, groups: 4 } });
    const net = new InftyDiffNetwork(cfg.model, new Rng(5));
    const rng = new Rng(6);
    tf.tidy(() => net.params.variables().forEach((v) => v.assign(tf.add(v, rng.normalTensor(v.shape).mul(0.05)))));
    const set = uniformSubset(rng, 1, 12, 12, { ratio: 0.5 });
    const ctx = net.context(set);
    try {
      const x = rng.normalTensor<tf.Rank.R3>([1, set.M, 1]);
      const t = tf.tensor1d([300], "int32");
      const w = rng.normalTensor<tf.Rank.R3>([1, set.M, 1]);
      const f = (xx: tf.Tensor3D) => tf.sum(tf.mul(net.apply(xx, ctx, t, { dropoutRng: null }), w)) as tf.Scalar;
      const g = tf.grad((xx: tf.Tensor) => f(xx as tf.Tensor3D))(x);
      const gv = g.dataSync();
      const xv = x.dataSync().slice();
      const eps = 1e-2;
      for (const i of [0, 7, set.M - 1]) {
        const plus = xv.slice(); plus[i] += eps;
        const minus = xv.slice(); minus[i] -= eps;
        const fp = tf.tidy(() => f(tf.tensor3d(plus, [1, set.M, 1])).dataSync()[0]);
        const fm = tf.tidy(() => f(tf.tensor3d(minus, [1, set.M, 1])).dataSync()[0]);
        const fd = (fp - fm) / (2 * eps);
        assert.ok(Math.abs(fd - gv[i]) <= 2e-2 * Math.max(1, Math.abs(fd)), `point ${i}: autodiff ${gv[i]} vs finite difference ${fd}`);
      }
      tf.dispose([x, t, w, g]);
    } finally {
      ctx.dispose();
      net.dispose();
    }
  });

  it("the full-grid denoiser runs at several resolutions and leaks no tensors", () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(7));
    const den = new GridDenoiser(net);
    try {
      const rng = new Rng(8);
      for (const [h, w] of [[12, 12], [24, 24], [12, 20]]) {
        const x = rng.normalTensor<tf.Rank.R4>([2, h, w, 1]);
        const t = tf.tensor1d([5, 900], "int32");
        den.denoise(x, t).dispose(); // burn-in builds and caches the context
        const before = tf.memory().numTensors;
        const y = den.denoise(x, t);
        assert.deepEqual(y.shape, [2, h, w, 1]);
        y.dispose();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([x, t]);
      }
    } finally {
      den.dispose();
      net.dispose();
    }
  });
});
