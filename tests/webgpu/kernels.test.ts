/**
 * Every WGSL kernel of the lab (src/lib/runtime/webgpu-kernels) against the cpu backend's typed kernels: forward values and
 * gradients, relative error ≤ 1e-4, on odd sizes, coordinate ratios 1 and 1/8, and at 2× resolution with a resampled
 * kernel. Runs on SwiftShader in CI (tiny sizes: it is a CPU emulating a GPU).
 */
import { strict as assert } from "assert";
import {
  tf, Rng, KernelMap, uniformSubset, fullGrid, sparseDepthwiseConv, sparseDepthwiseConvTyped, sparsePatches, sparseConv,
  nonlinearKernelOp, resampleKernel, applyPointTable, knnTable, bilinearTable, gridPositions, positions, gatherPoints,
  scatterPoints, gelu, Params, Adam, CoordSet, initBackend,
} from "infty-diff-lab";
import { onCpuAndWebgpu, relErr, webgpuOrSkip } from "../helpers/webgpu";

const TOL = 1e-4;

const normals = (seed: number, n: number) => Float32Array.from(new Rng(seed).normals(n));

function assertClose(cpu: Float32Array[], gpu: Float32Array[], what: string[]): void {
  assert.equal(gpu.length, cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    const e = relErr(gpu[i], cpu[i]);
    assert.ok(e <= TOL, `${what[i]}: relative error ${e.toExponential(2)} > ${TOL}`);
  }
}

/** Value and gradients of sum(f(x, w, b) · R) wrt (x, w, b), from plain arrays (R fixed random). */
function valueAndGrads(
  f: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  xs: [Float32Array, number[]], ws: [Float32Array, number[]], bs: [Float32Array, number[]],
): tf.Tensor[] {
  const x = tf.tensor(xs[0], xs[1]), w = tf.tensor(ws[0], ws[1]), b = tf.tensor(bs[0], bs[1]);
  const y = f(x, w, b);
  const R = tf.tensor(normals(99, y.size), y.shape);
  const g = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), R)))([x, w, b]);
  return [y, ...g];
}

describe("webgpu kernels vs cpu (SwiftShader in CI)", function () {
  this.timeout(600000);
  before(async function () {
    await webgpuOrSkip(this);
  });
  after(async () => {
    await initBackend("wasm", { quiet: true });
  });

  // odd sizes; ratio 1 (full grid: the dense path and the typed path) and 1/8
  const sets: Array<{ name: string; set: () => CoordSet }> = [
    { name: "9×11, ratio 1", set: () => fullGrid(2, 9, 11) },
    { name: "13×13, ratio 1/8", set: () => uniformSubset(new Rng(4), 2, 13, 13, { ratio: 1 / 8 }) },
  ];

  for (const { name, set: makeSet } of sets) {
    it(`sparse depthwise conv (Eq. 20), typed path and dispatcher, k=3 and 5, C=5: ${name}`, async () => {
      const set = makeSet();
      for (const k of [3, 5]) {
        const kmap = KernelMap.build(set, k), C = 5;
        const xs: [Float32Array, number[]] = [normals(1, set.B * set.M * C), [set.B, set.M, C]];
        const ws: [Float32Array, number[]] = [normals(2, k * k * C), [k, k, C]];
        const bs: [Float32Array, number[]] = [normals(3, C), [C]];
        for (const op of [sparseDepthwiseConvTyped, sparseDepthwiseConv]) {
          const { cpu, gpu } = await onCpuAndWebgpu(() =>
            valueAndGrads((x, w, b) => op(x as tf.Tensor3D, kmap, w as tf.Tensor3D, b as tf.Tensor1D), xs, ws, bs));
          assertClose(cpu, gpu, [`${op.name} k=${k} out`, "∂x", "∂κ", "∂bias"]);
        }
      }
    });

    it(`patches, regular sparse conv and the nonlinear kernel: ${name}`, async () => {
      const set = makeSet(), k = 3, kmap = KernelMap.build(set, k), C = 3, Co = 4;
      const xs: [Float32Array, number[]] = [normals(5, set.B * set.M * C), [set.B, set.M, C]];
      let r = await onCpuAndWebgpu(() => {
        const x = tf.tensor3d(xs[0], xs[1] as [number, number, number]);
        const R = tf.tensor(normals(6, set.B * set.M * k * k * C), [set.B, set.M, k * k * C]);
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(sparsePatches(a as tf.Tensor3D, kmap), R)))(x);
        return [sparsePatches(x, kmap), g];
      });
      assertClose(r.cpu, r.gpu, ["patches", "∂x"]);
      r = await onCpuAndWebgpu(() => valueAndGrads((x, w, b) => sparseConv(x as tf.Tensor3D, kmap, w as tf.Tensor4D, b as tf.Tensor1D),
        xs, [normals(7, k * k * C * Co), [k, k, C, Co]], [normals(8, Co), [Co]]));
      assertClose(r.cpu, r.gpu, ["sparseConv out", "∂x", "∂W", "∂bias"]);
      r = await onCpuAndWebgpu(() => valueAndGrads((x, w, b) => nonlinearKernelOp(x as tf.Tensor3D, kmap, {
        kernel1: w as tf.Tensor3D, bias1: b as tf.Tensor1D, kernel2: tf.mul(w, 0.5) as tf.Tensor3D, bias2: tf.neg(b) as tf.Tensor1D,
      }), xs, [normals(9, k * k * C), [k, k, C]], [normals(10, C), [C]]));
      assertClose(r.cpu, r.gpu, ["nonlinear kernel out", "∂x", "∂κ", "∂bias"]);
    });

    it(`point tables: gather/scatter of points, kNN points→grid, bilinear grid→points: ${name}`, async () => {
      const set = makeSet(), C = 3, { B, H, W, M } = set;
      const grid = normals(11, B * H * W * C), pts = normals(12, B * M * C);
      const knn = knnTable(set, gridPositions(B, H, W), H * W, 3);
      const bil = bilinearTable(B, M, positions(set), H, W);
      const cases: Array<[string, () => tf.Tensor, (x: tf.Tensor) => tf.Tensor]> = [
        ["gatherPoints", () => tf.tensor4d(grid, [B, H, W, C]), (x) => gatherPoints(x as tf.Tensor4D, set)],
        ["scatterPoints", () => tf.tensor3d(pts, [B, M, C]), (x) => scatterPoints(x as tf.Tensor3D, set)],
        ["kNN", () => tf.tensor3d(pts, [B, M, C]), (x) => applyPointTable(knn, x as tf.Tensor3D)],
        ["bilinear", () => tf.tensor3d(grid, [B, H * W, C]), (x) => applyPointTable(bil, x as tf.Tensor3D)],
      ];
      for (const [what, input, op] of cases) {
        const r = await onCpuAndWebgpu(() => {
          const x = input(), y = op(x);
          const R = tf.tensor(normals(13, y.size), y.shape);
          return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a), R)))(x)];
        });
        assertClose(r.cpu, r.gpu, [`${what} out`, `${what} ∂src`]);
      }
    });
  }

  it("2× resolution with a resampled kernel (7×7 grid, k=3 → 14×14), ratios 1 and 1/8", async () => {
    const k = 3, C = 3, kern = normals(14, k * k * C);
    for (const ratio of [1, 1 / 8]) {
      const set = ratio === 1 ? fullGrid(1, 14, 14) : uniformSubset(new Rng(15), 1, 14, 14, { ratio });
      const k2 = tf.tidy(() => resampleKernel(tf.tensor3d(kern, [k, k, C]), 7, 14)).shape[0];
      const kmap = KernelMap.build(set, k2);
      const xs = normals(16, set.B * set.M * C);
      const r = await onCpuAndWebgpu(() => {
        const x = tf.tensor3d(xs, [set.B, set.M, C]), w0 = tf.tensor3d(kern, [k, k, C]), b = tf.zeros([C]) as tf.Tensor1D;
        const f = (a: tf.Tensor, w: tf.Tensor) => sparseDepthwiseConv(a as tf.Tensor3D, kmap, resampleKernel(w as tf.Tensor3D, 7, 14), b);
        const R = tf.tensor(normals(17, set.B * set.M * C), [set.B, set.M, C]);
        return [f(x, w0), ...tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(f(a, w), R)))([x, w0])];
      });
      assertClose(r.cpu, r.gpu, [`ratio ${ratio} k=${k2} out`, "∂x", "∂κ (through the resampling)"]);
    }
  });

  it("a synchronous read of a GPU tensor is a one-line error saying to read asynchronously", async () => {
    const y = tf.tidy(() => gelu(tf.zeros([3]))); // a lab WGSL kernel: always computed on the GPU (no CPU forwarding)
    try {
      assert.throws(() => y.dataSync(), (e: Error) => e.name === "BackendError" && /await tensor\.data\(\)/.test(e.message) && !e.message.includes("\n"));
      assert.deepEqual(Array.from(await y.data()), [0, 0, 0]);
    } finally {
      y.dispose();
    }
  });

  it("GELU and its gradient (odd length, large |x| saturates without NaN)", async () => {
    const xs = normals(18, 1001).map((v, i) => (i % 97 === 0 ? v * 40 : v * 3));
    const r = await onCpuAndWebgpu(() => {
      const x = tf.tensor1d(xs), R = tf.tensor1d(normals(19, xs.length));
      return [gelu(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), R)))(x)];
    });
    for (const v of r.gpu[0]) assert.ok(Number.isFinite(v));
    assertClose(r.cpu, r.gpu, ["gelu", "gelu'"]);
  });

  it("Sin and Cos (replaced on webgpu: the time embedding's arguments reach ~1000 rad) to 1e-6 absolute, and their gradients", async () => {
    const xs = Float32Array.from({ length: 4001 }, (_, i) => -1000 + i * 0.5 + 0.0137);
    const r = await onCpuAndWebgpu(() => {
      const x = tf.tensor1d(xs);
      return [tf.sin(x), tf.cos(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.sin(a), tf.cos(a))))(x)];
    });
    r.cpu.forEach((ref, i) => {
      const e = relErr(r.gpu[i], ref);
      assert.ok(e <= 1e-6, `${["sin", "cos", "d(sin·cos)"][i]}: error ${e.toExponential(2)} (max |value| is 1)`);
    });
  });

  it("fused Adam (with clipping) and EMA: three updates of odd-shaped parameters", async () => {
    const shapes = [[3, 5], [7], [2, 3, 3]];
    const r = await onCpuAndWebgpu(() => {
      const params = new Params(new Rng(20)), ema = new Params(new Rng(21));
      shapes.forEach((s, i) => {
        params.create(`p${i}`, s, { kind: "normal", std: 1 });
        ema.create(`p${i}`, s, { kind: "normal", std: 1 });
      });
      const adam = new Adam(params, { beta1: 0.9, beta2: 0.99, clipNorm: 0.5 });
      const norms: tf.Tensor[] = [];
      for (let step = 0; step < 3; step++) {
        const grads: Record<string, tf.Tensor> = {};
        shapes.forEach((s, i) => { grads[`p${i}`] = tf.tensor(normals(30 + 10 * step + i, s.reduce((a, b) => a * b, 1)), s); });
        norms.push(adam.apply(grads, 0.01));
        ema.emaUpdate(params, 0.9);
      }
      const out = [...params.variables(), ...ema.variables()].map((v) => tf.clone(v));
      const all = [tf.stack(norms), ...out];
      adam.dispose();
      params.dispose();
      ema.dispose();
      return all;
    });
    assertClose(r.cpu, r.gpu, ["gradient norms", ...shapes.map((_, i) => `param ${i}`), ...shapes.map((_, i) => `ema ${i}`)]);
  });
});
