/**
 * The native backend (oneDNN through native/infty_dnnl.node, on the wasm heap) against tfjs-backend-cpu, an
 * independent implementation: forward values and gradients through tf.grads on seeded random inputs — odd shapes,
 * strides 1 and 2, same/valid/explicit pads, dilation, depthwise groups with channel multipliers, batch 1,
 * transposed and broadcast matMuls. Error measure: max |native − cpu| / max |cpu| ≤ 1e-4. Every case also checks
 * that oneDNN ran it (no silent fallback to the wasm kernel).
 * Then the backend as a whole: 20 training steps within float tolerance of wasm, a killed run resumes bit for bit,
 * 500 steps leak neither tensors, heap buffers nor native memory, and a missing addon falls back to wasm in one line.
 * scripts/setup.sh builds the addon (scripts/build-native.sh); without it these tests fail and say so.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  initBackend, withBackend, tf, Rng, maxRelDiff, Trainer, train, readLog, loadCheckpoint, CHECKPOINT_FILE,
  loadNative, nativeStats, NATIVE_KERNELS, nativeKernelsActive, currentBackend,
  uniformSubset, KernelMap, sparseDepthwiseConv, runTypedKernel, modulatedLayerNorm,
} from "infty-diff-lab";
import { tinyConfig, tinyData } from "../../helpers/tiny";

type Shape = number[];
interface Inputs { [name: string]: { shape: Shape; values: Float32Array } }
type Pad = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];

const randn = (rng: Rng, shape: Shape) => rng.normals(shape.reduce((a, b) => a * b, 1));

async function runOn(backend: "cpu" | "native" | "wasm", inputs: Inputs, f: (t: Record<string, tf.Tensor>) => tf.Tensor[]): Promise<Float32Array[]> {
  return withBackend(backend, () => {
    const outs = tf.tidy(() => {
      const t: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) t[k] = tf.tensor(v.values, v.shape);
      return f(t);
    });
    const vals = outs.map((o) => o.dataSync() as Float32Array);
    tf.dispose(outs);
    return vals;
  });
}

const calls = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

/** Runs `f` on cpu and native; asserts the match and that oneDNN ran `kernels` (no fallback). */
async function expectMatch(inputs: Inputs, f: (t: Record<string, tf.Tensor>) => tf.Tensor[], what: string, kernels: string[]): Promise<void> {
  const ref = await runOn("cpu", inputs, f);
  const before = { ...nativeStats.native }, fellBack = calls(nativeStats.fallback);
  const got = await runOn("native", inputs, f);
  for (const k of kernels) assert.ok((nativeStats.native[k] ?? 0) > (before[k] ?? 0), `${what}: ${k} did not run on oneDNN`);
  assert.equal(calls(nativeStats.fallback), fellBack, `${what}: a kernel fell back to wasm`);
  for (let k = 0; k < ref.length; k++) {
    const e = maxRelDiff(got[k], ref[k]);
    assert.ok(e <= 1e-4, `${what} output ${k}: relative error ${e.toExponential(2)}`);
    assert.ok(ref[k].some((v) => v !== 0), `${what} output ${k}: reference is all zeros (test would be vacuous)`);
  }
}

function withGrads(op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D) {
  return (t: Record<string, tf.Tensor>) => {
    const x = t.x as tf.Tensor4D, w = t.w as tf.Tensor4D;
    const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(op(xx as tf.Tensor4D, ww as tf.Tensor4D), t.r)));
    return [op(x, w), ...g([x, w])];
  };
}

async function shapeOf(op: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor, as: Shape, bs: Shape): Promise<Shape> {
  return withBackend("cpu", () => tf.tidy(() => {
    const a: tf.Tensor = tf.zeros(as), b: tf.Tensor = tf.zeros(bs);
    return op(a as tf.Tensor4D, b as tf.Tensor4D).shape.slice();
  }));
}

const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `infty-native-${tag}-`));

describe("native backend (oneDNN) vs tfjs-backend-cpu", function () {
  this.timeout(600000);
  before(async () => {
    const lib = loadNative();
    if ("reason" in lib) assert.fail(`${lib.reason} — scripts/setup.sh builds it (bash scripts/build-native.sh)`);
    await initBackend("native", { quiet: true });
  });
  after(async () => {
    await initBackend("wasm", { quiet: true }); // the next test file gets the wasm kernels back
  });

  it("is the wasm backend with oneDNN kernels swapped in, and names the oneDNN version", () => {
    const info = currentBackend()!;
    assert.equal(info.name, "native");
    assert.equal(tf.getBackend(), "wasm");
    assert.match(info.onednn!.version, /^\d+\.\d+\.\d+$/);
    assert.ok(nativeKernelsActive());
    for (const k of NATIVE_KERNELS) assert.ok(tf.getKernel(k, "wasm"), k);
  });

  describe("conv2d forward, input gradient and filter gradient", () => {
    const cases: Array<[Shape, number, number, number, Pad]> = [
      // [x shape B,H,W,Cin], k, Cout, stride, pad
      [[2, 8, 8, 4], 3, 8, 1, "same"],
      [[1, 7, 9, 3], 3, 5, 1, "same"], // batch 1, odd sizes
      [[2, 9, 7, 5], 3, 6, 2, "same"],
      [[1, 9, 8, 3], 3, 2, 1, "valid"],
      [[1, 9, 10, 2], 3, 3, 2, "valid"],
      [[2, 6, 6, 1], 5, 1, 1, "same"],
      [[1, 8, 7, 3], 4, 5, 2, "same"], // even kernel: asymmetric SAME padding
      [[1, 6, 6, 6], 1, 7, 1, "same"], // 1×1
      [[1, 7, 6, 3], 3, 4, 1, [[0, 0], [2, 0], [1, 1], [0, 0]]],
      [[1, 6, 7, 2], 3, 3, 1, [[0, 0], [3, 1], [0, 2], [0, 0]]], // padding beyond k−1
      [[3, 16, 16, 33], 3, 17, 1, "same"], // channel counts off the SIMD width
      [[2, 4, 4, 64], 3, 64, 1, "same"], // the U-Net's 4×4 level
    ];
    for (const [xs, k, cout, s, pad] of cases) {
      it(`x ${xs.join("×")}, ${k}×${k}→${cout}, stride ${s}, pad ${JSON.stringify(pad)}`, async () => {
        const rng = new Rng(1000 + xs[1] * 31 + k * 7 + s + xs[3]);
        const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, s, pad);
        const yShape = await shapeOf(op, xs, [k, k, xs[3], cout]);
        const inputs: Inputs = {
          x: { shape: xs, values: randn(rng, xs) },
          w: { shape: [k, k, xs[3], cout], values: randn(rng, [k, k, xs[3], cout]) },
          r: { shape: yShape, values: randn(rng, yShape) },
        };
        await expectMatch(inputs, withGrads(op), "conv2d", ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]);
      });
    }

    it("dilated conv2d forward (dilation 2)", async () => {
      const rng = new Rng(4);
      const inputs: Inputs = { x: { shape: [1, 11, 10, 3], values: randn(rng, [1, 11, 10, 3]) }, w: { shape: [3, 3, 3, 4], values: randn(rng, [3, 3, 3, 4]) } };
      await expectMatch(inputs, (t) => [tf.conv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 1, "same", "NHWC", 2)], "dilated conv2d", ["Conv2D"]);
    });

    it("conv2dTranspose (Conv2DBackpropInput as a forward op), stride 2", async () => {
      const rng = new Rng(7);
      const inputs: Inputs = { y: { shape: [2, 4, 5, 6], values: randn(rng, [2, 4, 5, 6]) }, w: { shape: [3, 3, 3, 6], values: randn(rng, [3, 3, 3, 6]) } };
      await expectMatch(inputs, (t) => [tf.conv2dTranspose(t.y as tf.Tensor4D, t.w as tf.Tensor4D, [2, 8, 9, 3], 2, "same")], "conv2dTranspose", ["Conv2DBackpropInput"]);
    });
  });

  describe("depthwise conv (oneDNN groups) forward, input gradient and filter gradient", () => {
    const cases: Array<[Shape, number, number, number, Pad]> = [
      // [x shape], k, channel multiplier, stride, pad
      [[2, 8, 8, 16], 7, 1, 1, "same"], // the sparse blocks' dense 7×7
      [[1, 9, 7, 21], 7, 1, 1, "same"],
      [[2, 8, 9, 5], 3, 1, 1, "same"],
      [[1, 9, 9, 8], 5, 1, 2, "same"],
      [[2, 10, 7, 3], 3, 1, 2, "valid"],
      [[1, 8, 8, 4], 4, 1, 1, "same"],
      [[1, 7, 8, 3], 3, 2, 1, "same"], // channel multiplier 2
      [[1, 9, 8, 3], 5, 3, 2, "valid"],
      [[1, 7, 9, 4], 7, 1, 1, [[0, 0], [3, 3], [0, 0], [0, 0]]], // a column tap (the separable resampled conv's)
    ];
    for (const [xs, k, m, s, pad] of cases) {
      it(`x ${xs.join("×")}, ${k}×${k}, multiplier ${m}, stride ${s}, pad ${JSON.stringify(pad)}`, async () => {
        const rng = new Rng(2000 + xs[3] * 13 + k * 5 + s);
        const kw = Array.isArray(pad) ? 1 : k;
        const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, s, pad);
        const wShape = [k, kw, xs[3], m];
        const yShape = await shapeOf(op, xs, wShape);
        const inputs: Inputs = {
          x: { shape: xs, values: randn(rng, xs) },
          w: { shape: wShape, values: randn(rng, wShape) },
          r: { shape: yShape, values: randn(rng, yShape) },
        };
        await expectMatch(inputs, withGrads(op), "depthwiseConv2d",
          ["DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"]);
      });
    }
  });

  describe("batched matMul", () => {
    const cases: Array<[Shape, Shape, boolean, boolean]> = [
      [[7, 5], [5, 3], false, false],
      [[5, 7], [5, 3], true, false],
      [[7, 5], [3, 5], false, true],
      [[5, 7], [3, 5], true, true],
      [[3, 6, 4], [3, 4, 5], false, false],
      [[3, 4, 6], [3, 5, 4], true, true],
      [[1, 33, 17], [1, 17, 65], false, false], // batch 1, odd sizes
      [[2, 3, 6, 4], [2, 3, 4, 5], false, true], // rank 4
      [[2, 3, 6, 4], [4, 5], false, false], // broadcast b (forward only: tfjs's gradient cannot reduce a broadcast batch)
      [[1, 4, 6], [3, 4, 5], true, false], // broadcast a (forward only)
    ];
    for (const [as, bs0, ta, tb] of cases) {
      const bs = tb && as.length === 4 && bs0.length === 4 ? [2, 3, 5, 4] : bs0;
      const broadcast = as.slice(0, -2).join() !== bs.slice(0, -2).join();
      it(`a ${as.join("×")}${ta ? "ᵀ" : ""} · b ${bs.join("×")}${tb ? "ᵀ" : ""}${broadcast ? "" : " and its gradients"}`, async () => {
        const rng = new Rng(as.length * 100 + (ta ? 10 : 0) + (tb ? 1 : 0) + as[as.length - 1]);
        const op = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
        const yShape = await shapeOf(op, as, bs);
        const inputs: Inputs = { a: { shape: as, values: randn(rng, as) }, b: { shape: bs, values: randn(rng, bs) }, r: { shape: yShape, values: randn(rng, yShape) } };
        await expectMatch(inputs, (t) => {
          if (broadcast) return [op(t.a, t.b)];
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), t.r)));
          return [op(t.a, t.b), ...g([t.a, t.b])];
        }, "matMul", ["BatchMatMul"]);
      });
    }
  });

  describe("the lab's typed kernels in C++: the same bits as their JS versions (the wasm path), for any thread count", () => {
    /**
     * Runs `f` on native (1 and 2 OpenMP threads) and wasm; outputs `exact` (default all) must agree bit for bit
     * between the three, the others (made by tfjs ops around the kernels, e.g. Sum) to 1e-5; returns wasm's.
     */
    async function sameBits(f: () => Float32Array[], kernels: string[], what: string, exact?: number[]): Promise<Float32Array[]> {
      const lib = loadNative();
      if ("reason" in lib) throw new Error(lib.reason);
      const before = { ...nativeStats.native };
      const prev = lib.addon.setThreads(1);
      let one: Float32Array[], two: Float32Array[];
      try {
        one = await withBackend("native", f);
        lib.addon.setThreads(2);
        two = await withBackend("native", f);
      } finally {
        lib.addon.setThreads(prev);
      }
      for (const k of kernels) assert.ok((nativeStats.native[k] ?? 0) >= (before[k] ?? 0) + 2, `${what}: ${k} did not run natively`);
      const ref = await withBackend("wasm", f);
      for (let k = 0; k < ref.length; k++) {
        if (exact && !exact.includes(k)) {
          assert.ok(maxRelDiff(one[k], ref[k]) <= 1e-5 && maxRelDiff(two[k], ref[k]) <= 1e-5, `${what} output ${k}`);
          continue;
        }
        assert.ok(ref[k].every((v, i) => Object.is(v, one[k][i])), `${what} output ${k}: native (1 thread) differs from the JS kernel`);
        assert.ok(ref[k].every((v, i) => Object.is(v, two[k][i])), `${what} output ${k}: native (2 threads) differs from the JS kernel`);
      }
      return ref;
    }

    for (const [k, ratio, C] of [[7, 0.25, 32], [5, 0.5, 12], [3, 0.75, 5]] as const) {
      it(`sparse depthwise conv ${k}×${k}, ratio ${ratio}, ${C} channels: values and gradients (and within 1e-4 of cpu)`, async () => {
        const rng = new Rng(30 + k);
        const set = uniformSubset(rng, 3, 13, 11, { ratio });
        const km = KernelMap.build(set, k);
        const xs = rng.normals(3 * set.M * C), ws = rng.normals(k * k * C), bs = rng.normals(C), rs = rng.normals(3 * set.M * C);
        const f = () => tf.tidy(() => {
          const x = tf.tensor3d(xs, [3, set.M, C]), w = tf.tensor3d(ws, [k, k, C]), b = tf.tensor1d(bs), r = tf.tensor3d(rs, [3, set.M, C]);
          const loss = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(tf.sin(sparseDepthwiseConv(a as tf.Tensor3D, km, c as tf.Tensor3D, d as tf.Tensor1D)), r));
          return [sparseDepthwiseConv(x, km, w, b), ...tf.grads(loss)([x, w, b])].map((t) => t.dataSync().slice() as Float32Array);
        });
        // y, ∂x, ∂kernel come from the typed kernels; ∂bias is a Sum (native: in double, wasm: in float)
        const ref = await sameBits(f, ["InftySparseDwConv", "InftySparseDwConvBackprop"], "sparse depthwise conv", [0, 1, 2]);
        const cpu = await withBackend("cpu", f);
        for (let i = 0; i < ref.length; i++) assert.ok(maxRelDiff(ref[i], cpu[i]) <= 1e-4, `output ${i} vs cpu`);
        km.dispose();
      });
    }

    it("modulated LayerNorm gradient (within 1e-5 of cpu)", async () => {
      const rng = new Rng(91);
      const [B, M, C] = [3, 37, 24];
      const ins = { x: rng.normals(B * M * C), g: rng.normals(C), b: rng.normals(C), s: rng.normals(B * C), h: rng.normals(B * C), r: rng.normals(B * M * C) };
      const f = () => tf.tidy(() => {
        const x = tf.tensor3d(ins.x, [B, M, C]), g = tf.tensor1d(ins.g), b = tf.tensor1d(ins.b);
        const s = tf.tensor3d(ins.s, [B, 1, C]), h = tf.tensor3d(ins.h, [B, 1, C]), r = tf.tensor3d(ins.r, [B, M, C]);
        const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(modulatedLayerNorm(a[0] as tf.Tensor3D, a[1], a[2], a[3], a[4], 1e-6), r));
        return tf.grads(loss)([x, g, b, s, h]).map((t) => t.dataSync().slice() as Float32Array);
      });
      // the forward is wasm's (float32 statistics) on both paths, so the JS and C++ gradients see the same inputs
      const ref = await sameBits(f, ["InftyModLayerNormGrad"], "modulated LayerNorm gradient");
      const cpu = await withBackend("cpu", f);
      ref.forEach((v, k) => assert.ok(maxRelDiff(v, cpu[k]) <= 1e-5, `gradient ${k} vs cpu: ${maxRelDiff(v, cpu[k])}`));
    });

    it("Adam and EMA updates", async () => {
      const rng = new Rng(77);
      const n = 70001; // above the size the C++ splits over threads, and odd
      const [p, m, g] = [rng.normals(n), rng.normals(n), rng.normals(n)];
      const v = Float32Array.from(rng.normals(n), (x) => x * x);
      const attrs = { scale: 0.37, lr: 1e-3, b1: 0.9, b2: 0.99, bc1: 1 - 0.9 ** 7, bc2: 1 - 0.99 ** 7, eps: 1e-8 };
      await sameBits(() => tf.tidy(() => {
        const t = (a: Float32Array) => tf.tensor1d(a);
        const outs = runTypedKernel("InftyAdam", { p: t(p), m: t(m), v: t(v), g: t(g) }, attrs) as tf.Tensor[];
        const ema = runTypedKernel("InftyEma", { e: t(p), s: t(g) }, { decay: 0.999 }) as tf.Tensor;
        return [...outs, ema].map((o) => o.dataSync().slice() as Float32Array);
      }), ["InftyAdam", "InftyEma"], "Adam/EMA");
    });
  });

  it("gives the same bits on 1 and 2 OpenMP threads (the thread count follows the load: resumes must not see it)", async () => {
    const lib = loadNative();
    if ("reason" in lib) throw new Error(lib.reason);
    // the U-Net's conv shapes at 16², 8², 4² and its largest matMuls (the sparse layers' pointwise ones)
    const convs: Array<[Shape, number]> = [[[32, 16, 16, 32], 32], [[32, 16, 16, 96], 32], [[32, 8, 8, 64], 64], [[32, 4, 4, 128], 64]];
    const runAll = () => tf.tidy(() => {
      const rng = new Rng(5); // the same inputs each time
      const outs: tf.Tensor[] = [];
      for (const [xs, cout] of convs) {
        const ws = [3, 3, xs[3], cout];
        const x = tf.tensor4d(randn(rng, xs), xs as [number, number, number, number]);
        const w = tf.tensor4d(randn(rng, ws), ws as [number, number, number, number]);
        const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, "same"))));
        outs.push(tf.conv2d(x, w, 1, "same"), ...g([x, w]));
      }
      const a = tf.tensor(randn(rng, [6272, 64]), [6272, 64]), b = tf.tensor(randn(rng, [6272, 32]), [6272, 32]);
      outs.push(tf.matMul(a, b, true, false), tf.matMul(a, tf.tensor(randn(rng, [32, 64]), [32, 64]), false, true));
      return outs.map((o) => o.dataSync().slice() as Float32Array);
    });
    const before = lib.addon.setThreads(1);
    try {
      const one = runAll();
      lib.addon.setThreads(2);
      const two = runAll();
      for (let k = 0; k < one.length; k++) assert.ok(one[k].every((v, i) => Object.is(v, two[k][i])), `output ${k} differs between 1 and 2 threads`);
    } finally {
      lib.addon.setThreads(before);
    }
  });

  describe("sum over a block of adjacent axes", () => {
    const cases: Array<[Shape, number | number[], boolean]> = [
      [[32, 4, 4, 64], [0, 1, 2], false], // a bias gradient
      [[6272, 33], 0, false],
      [[3, 5, 7], 1, true],
      [[3, 5, 7], [1, 2], false],
      [[2, 3, 4, 5], -1, true],
      [[1, 700, 1], [0, 1, 2], false], // everything
    ];
    for (const [xs, axis, keepDims] of cases) {
      it(`x ${xs.join("×")}, axis ${JSON.stringify(axis)}${keepDims ? ", keepDims" : ""}`, async () => {
        const rng = new Rng(xs.reduce((a, b) => a + b, 0));
        await expectMatch({ x: { shape: xs, values: randn(rng, xs) } }, (t) => [tf.sum(t.x, axis, keepDims)], "sum", ["Sum"]);
      });
    }
    it("axes that are not adjacent go to the wasm kernel", async () => {
      const rng = new Rng(8);
      const x = { shape: [4, 3, 5, 2], values: randn(rng, [4, 3, 5, 2]) };
      const before = nativeStats.fallback.Sum ?? 0;
      const [ref] = await runOn("cpu", { x }, (t) => [tf.sum(t.x, [0, 2])]);
      const [got] = await runOn("native", { x }, (t) => [tf.sum(t.x, [0, 2])]);
      assert.ok(maxRelDiff(got, ref) <= 1e-5);
      assert.equal(nativeStats.fallback.Sum, before + 1);
    });
  });

  it("hands what it does not take (batches broadcast both ways) to the wasm kernel, with the same values as cpu", async () => {
    const rng = new Rng(11);
    const a = { shape: [2, 1, 6, 4], values: randn(rng, [2, 1, 6, 4]) };
    const b = { shape: [1, 3, 4, 5], values: randn(rng, [1, 3, 4, 5]) };
    const f = (t: Record<string, tf.Tensor>) => [tf.matMul(t.a, t.b)];
    const before = nativeStats.fallback.BatchMatMul ?? 0;
    const [ref] = await runOn("cpu", { a, b }, f);
    const [got] = await runOn("native", { a, b }, f);
    assert.ok(maxRelDiff(got, ref) <= 1e-5, `relative error ${maxRelDiff(got, ref)}`);
    assert.equal(nativeStats.fallback.BatchMatMul, before + 1, "the int32 matMul went to the wasm kernel");
  });

  describe("training", () => {
    it("20 training steps: losses and weights within float tolerance of wasm", async () => {
      const run = async (backend: "native" | "wasm") => withBackend(backend, () => {
        const tr = new Trainer(tinyConfig({ steps: 20 }), tinyData(16));
        try {
          const losses: number[] = [];
          for (let i = 0; i < 20; i++) losses.push(tr.trainStep().loss);
          const weights = tr.net.params.variables().map((p) => p.dataSync().slice() as Float32Array);
          return { losses, weights };
        } finally {
          tr.dispose();
        }
      });
      const before = calls(nativeStats.native);
      const n = await run("native");
      assert.ok(calls(nativeStats.native) > before, "the native run used oneDNN");
      const mid = calls(nativeStats.native);
      const w = await run("wasm");
      assert.equal(calls(nativeStats.native), mid, "the wasm run did not");
      for (let i = 0; i < 20; i++) {
        assert.ok(Math.abs(n.losses[i] - w.losses[i]) <= 1e-3 * Math.abs(w.losses[i]), `step ${i + 1}: loss ${n.losses[i]} (native) vs ${w.losses[i]} (wasm)`);
      }
      let worst = 0;
      for (let k = 0; k < w.weights.length; k++) worst = Math.max(worst, maxRelDiff(n.weights[k], w.weights[k]));
      assert.ok(worst <= 1e-3, `weights after 20 steps: max relative difference ${worst.toExponential(2)}`);
    });

    it("a run killed after step 5 resumes with exactly the losses of an uninterrupted run", async () => {
      const cfg = tinyConfig({ steps: 8, checkpointEvery: 2 });
      const data = tinyData(16);
      const before = calls(nativeStats.native);
      const straight = await train({ runDir: tmpDir("straight"), config: cfg, data, progress: false });
      assert.ok(calls(nativeStats.native) > before, "trained on oneDNN");
      const dir = tmpDir("killed");
      const first = await train({ runDir: dir, config: cfg, data, progress: false, killAfter: 5 });
      assert.equal(first.step, 5);
      assert.equal(loadCheckpoint(path.join(dir, CHECKPOINT_FILE)).meta.step, 4);
      const resumed = await train({ runDir: dir, config: cfg, data, progress: false });
      assert.equal(resumed.resumedFrom, 4);
      assert.deepEqual(resumed.rows.map((r) => r.loss), straight.rows.slice(4).map((r) => r.loss));
      assert.deepEqual(readLog(dir).map((r) => [r.step, r.loss]), straight.rows.map((r) => [r.step, r.loss]));
    });

    it("500 SGD steps leak no tensor, no heap buffer, no cached primitive and no native memory; the loss falls", () => {
      const lib = loadNative();
      if ("reason" in lib) throw new Error(lib.reason);
      const rng = new Rng(42);
      const v = (shape: number[], scale: number) => tf.variable(tf.mul(tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape), scale));
      const w1 = v([3, 3, 2, 8], 0.3), dw = v([5, 5, 8, 1], 0.2), w2 = v([1, 1, 8, 4], 0.3), wo = v([3, 4], 0.3);
      // x [4, 16, 16, 2]; target [80, 3] at 80 fixed points of the 8×8 feature grid
      const x = tf.tensor(rng.normals(4 * 16 * 16 * 2), [4, 16, 16, 2]) as tf.Tensor4D;
      const target = tf.tensor(rng.normals(80 * 3), [80, 3]);
      const points = tf.tensor1d(Array.from({ length: 80 }, (_, i) => (i % 4) * 64 + rng.int(64)), "int32");
      const opt = tf.train.sgd(0.05);
      const loss = () => {
        let h = tf.relu(tf.conv2d(x, w1 as tf.Variable<tf.Rank.R4>, 2, "same")); // [4, 8, 8, 8]
        h = tf.relu(tf.depthwiseConv2d(h as tf.Tensor4D, dw as tf.Variable<tf.Rank.R4>, 1, "same"));
        h = tf.conv2d(h as tf.Tensor4D, w2 as tf.Variable<tf.Rank.R4>, 1, "same"); // [4, 8, 8, 4]
        const y = tf.matMul(tf.gather(tf.reshape(h, [256, 4]), points), wo, false, true); // [80, 3]
        return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
      };
      const step = () => {
        const l = opt.minimize(loss, true) as tf.Scalar;
        const value = l.dataSync()[0];
        l.dispose();
        return value;
      };
      const first = step();
      for (let i = 0; i < 20; i++) step(); // burn-in: primitives cached, heap and JIT settled
      const be = tf.backend() as unknown as { numDataIds(): number };
      const tensors = tf.memory().numTensors, buffers = be.numDataIds(), cached = lib.addon.info().cached;
      const nativeBefore = calls(nativeStats.native);
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      let last = first;
      for (let i = 0; i < 500; i++) last = step();
      global.gc?.();
      const grewMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
      assert.ok(calls(nativeStats.native) - nativeBefore >= 500 * 6, "the steps ran on oneDNN");
      assert.equal(tf.memory().numTensors, tensors, "numTensors after 500 steps");
      assert.equal(be.numDataIds(), buffers, "wasm heap buffers after 500 steps");
      assert.equal(lib.addon.info().cached, cached, "oneDNN primitives cached (one per shape, none per call)");
      // a leak of one small tensor's worth per call (6 oneDNN calls a step, ≥ 256 bytes each) would add > 0.7 MB
      assert.ok(grewMb < 24, `resident memory grew ${grewMb.toFixed(1)} MB over 500 steps`);
      assert.ok(Number.isFinite(last) && last < 0.8 * first, `loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
      tf.dispose([w1, dw, w2, wo, x, target, points]);
      opt.dispose();
    });
  });

  it("without the addon, the automatic choice is wasm and one line says why", () => {
    const cli = path.join(__dirname, "..", "..", "..", "src", "cli", "infty.js");
    const r = spawnSync(process.execPath, [cli, "backend", "--seconds", "0"], {
      encoding: "utf8", env: { ...process.env, INFTY_BACKEND: "", INFTY_NATIVE_ADDON: path.join(os.tmpdir(), "no-such-addon.node") },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^backend: wasm /m);
    const why = r.stdout.split("\n").filter((l) => /native/.test(l));
    assert.equal(why.length, 1, r.stdout);
    assert.match(why[0], /native addon not built .*no-such-addon\.node missing/);
    // and with it, the automatic choice is native
    const ok = spawnSync(process.execPath, [cli, "backend", "--seconds", "0"], { encoding: "utf8", env: { ...process.env, INFTY_BACKEND: "" } });
    assert.match(ok.stdout, /^backend: native \(oneDNN \d+\.\d+\.\d+/m);
    const forced = spawnSync(process.execPath, [cli, "backend", "--seconds", "0"], { encoding: "utf8", env: { ...process.env, INFTY_BACKEND: "wasm" } });
    assert.match(forced.stdout, /^backend: wasm /m);
  });
});
