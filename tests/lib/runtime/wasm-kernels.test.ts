/**
 * The lab's wasm kernels against tfjs-backend-cpu (an independent implementation) on seeded random inputs:
 * forward values and gradients through tf.grads, odd and even sizes, strides 1 and 2, same/valid/explicit pads,
 * channel counts that exercise the f32x4×4, f32x4 and scalar tails of the SIMD loop.
 * Error measure: max |wasm − cpu| / max |cpu| ≤ 1e-4.
 */
import { strict as assert } from "assert";
import { initBackend, withBackend, tf, Rng, LAB_WASM_KERNELS, maxRelDiff, setWasmConvGradFast } from "infty-diff-lab";

type Shape = number[];
interface Inputs { [name: string]: { shape: Shape; values: Float32Array | Int32Array; dtype?: "int32" } }

function randn(rng: Rng, shape: Shape): Float32Array {
  return rng.normals(shape.reduce((a, b) => a * b, 1));
}

/** Runs `f` on fresh tensors made from `inputs`, on `backend`; returns the outputs' values. */
async function runOn(backend: "cpu" | "wasm", inputs: Inputs, f: (t: Record<string, tf.Tensor>) => tf.Tensor[]): Promise<Float32Array[]> {
  return withBackend(backend, () => {
    const outs = tf.tidy(() => {
      const t: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) t[k] = tf.tensor(v.values, v.shape, v.dtype ?? "float32");
      return f(t);
    });
    const vals = outs.map((o) => o.dataSync() as Float32Array);
    tf.dispose(outs);
    return vals;
  });
}

const relErr = maxRelDiff;

async function expectMatch(inputs: Inputs, f: (t: Record<string, tf.Tensor>) => tf.Tensor[], what: string): Promise<void> {
  const ref = await runOn("cpu", inputs, f);
  const got = await runOn("wasm", inputs, f);
  for (let k = 0; k < ref.length; k++) {
    const e = relErr(got[k], ref[k]);
    assert.ok(e <= 1e-4, `${what} output ${k}: relative error ${e.toExponential(2)}`);
    assert.ok(ref[k].some((v) => v !== 0), `${what} output ${k}: reference is all zeros (test would be vacuous)`);
  }
}

/** [y, d(Σ y⊙R)/dx, d(Σ y⊙R)/dw]: the forward output and both gradients for a random upstream gradient R. */
function withGrads(op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D) {
  return (t: Record<string, tf.Tensor>) => {
    const x = t.x as tf.Tensor4D, w = t.w as tf.Tensor4D;
    const y = op(x, w);
    const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(op(xx as tf.Tensor4D, ww as tf.Tensor4D), t.r)));
    const [dx, dw] = g([x, w]);
    return [y, dx, dw];
  };
}

/** Output shape of `op` for inputs of these shapes (computed on cpu with zeros). */
async function shapeOf(op: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor, as: number[], bs: number[]): Promise<Shape> {
  return withBackend("cpu", () => {
    const a: tf.Tensor = tf.zeros(as), b: tf.Tensor = tf.zeros(bs);
    const y = op(a as tf.Tensor4D, b as tf.Tensor4D);
    const shape = y.shape.slice();
    tf.dispose([a, b, y]);
    return shape;
  });
}

type Pad = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];

describe("wasm kernels (vs tfjs-backend-cpu)", () => {
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("registers the lab's kernels for wasm", () => {
    for (const name of LAB_WASM_KERNELS) assert.ok(tf.getKernel(name, "wasm"), `${name} is registered`);
  });

  describe("conv2d forward, input gradient and filter gradient", () => {
    const cases: Array<[Shape, number, number, number, Pad]> = [
      // [x shape B,H,W,Cin], k, Cout, stride, pad
      [[2, 8, 8, 4], 3, 8, 1, "same"],
      [[1, 7, 9, 3], 3, 5, 1, "same"],
      [[2, 9, 7, 5], 3, 6, 2, "same"],
      [[2, 8, 8, 4], 3, 4, 2, "same"],
      [[1, 9, 8, 3], 3, 2, 1, "valid"],
      [[1, 9, 10, 2], 3, 3, 2, "valid"],
      [[2, 6, 6, 1], 5, 1, 1, "same"], // the mask-count conv: 1 channel in and out
      [[1, 8, 7, 3], 4, 5, 2, "same"], // even kernel: asymmetric SAME padding
      [[1, 6, 6, 6], 1, 7, 1, "same"], // 1×1
      [[1, 7, 6, 3], 3, 4, 1, [[0, 0], [2, 0], [1, 1], [0, 0]]],
      [[3, 16, 16, 5], 3, 6, 1, "same"], // 16-wide rows: the filter gradient's im2col takes its f32x4×4 copy
      [[2, 16, 15, 4], 3, 5, 2, "same"],
      [[1, 6, 7, 2], 3, 3, 1, [[0, 0], [3, 1], [0, 2], [0, 0]]], // padding beyond k−1: input gradient's padded-copy path
    ];
    // the current conv gradients (default) and the previous ones (kept for the benches): setWasmConvGradFast
    for (const [[xs, k, cout, s, pad], exact] of [...cases.map((c) => [c, true] as const), ...cases.slice(0, 6).map((c) => [c, false] as const)]) {
      it(`x ${xs.join("×")}, ${k}×${k}→${cout}, stride ${s}, pad ${JSON.stringify(pad)}${exact ? "" : ", previous gradient paths"}`, async () => {
        setWasmConvGradFast(exact);
        const rng = new Rng(1000 + xs[1] * 31 + k * 7 + s);
        const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, s, pad);
        const yShape = await shapeOf(op, xs, [k, k, xs[3], cout]);
        const inputs: Inputs = {
          x: { shape: xs, values: randn(rng, xs) },
          w: { shape: [k, k, xs[3], cout], values: randn(rng, [k, k, xs[3], cout]) },
          r: { shape: yShape, values: randn(rng, yShape) },
        };
        try {
          await expectMatch(inputs, withGrads(op), "conv2d");
        } finally {
          setWasmConvGradFast(true);
        }
      });
    }

    it("conv2dTranspose (Conv2DBackpropInput as a forward op), stride 2", async () => {
      const rng = new Rng(7);
      const inputs: Inputs = { y: { shape: [2, 4, 5, 6], values: randn(rng, [2, 4, 5, 6]) }, w: { shape: [3, 3, 3, 6], values: randn(rng, [3, 3, 3, 6]) } };
      await expectMatch(inputs, (t) => [tf.conv2dTranspose(t.y as tf.Tensor4D, t.w as tf.Tensor4D, [2, 8, 9, 3], 2, "same")], "conv2dTranspose");
    });
  });

  describe("depthwise conv forward, input gradient and filter gradient", () => {
    const cases: Array<[Shape, number, number, number, Pad]> = [
      // [x shape], k, channel multiplier, stride, pad
      [[2, 8, 8, 16], 7, 1, 1, "same"],
      [[1, 9, 7, 21], 7, 1, 1, "same"], // 21 = 16 + 4 + 1 channels: every SIMD tail
      [[2, 8, 9, 5], 3, 1, 1, "same"],
      [[1, 9, 9, 8], 5, 1, 2, "same"],
      [[2, 10, 7, 3], 3, 1, 2, "valid"],
      [[1, 8, 8, 4], 4, 1, 1, "same"],
      [[1, 7, 8, 3], 3, 2, 1, "same"], // channel multiplier 2
      [[1, 9, 8, 3], 5, 3, 2, "valid"],
    ];
    for (const [xs, k, m, s, pad] of cases) {
      it(`x ${xs.join("×")}, ${k}×${k}, multiplier ${m}, stride ${s}, pad ${pad}`, async () => {
        const rng = new Rng(2000 + xs[3] * 13 + k * 5 + s);
        const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, s, pad);
        const wShape = [k, k, xs[3], m];
        const yShape = await shapeOf(op, xs, wShape);
        const inputs: Inputs = {
          x: { shape: xs, values: randn(rng, xs) },
          w: { shape: wShape, values: randn(rng, wShape) },
          r: { shape: yShape, values: randn(rng, yShape) },
        };
        await expectMatch(inputs, withGrads(op), "depthwiseConv2d");
      });
    }

    it("dilated depthwise forward (dilation 2)", async () => {
      const rng = new Rng(3);
      const inputs: Inputs = { x: { shape: [1, 11, 10, 6], values: randn(rng, [1, 11, 10, 6]) }, w: { shape: [3, 3, 6, 1], values: randn(rng, [3, 3, 6, 1]) } };
      await expectMatch(inputs, (t) => [tf.depthwiseConv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 1, "same", "NHWC", 2)], "dilated depthwise");
    });
  });

  describe("matMul on XNNPACK's untransposed path", () => {
    // tfjs-core's BatchMatMul gradient cannot reduce a broadcast batch (on any backend): forward only there.
    const cases: Array<[Shape, Shape, boolean, boolean]> = [
      [[7, 5], [5, 3], false, false],
      [[5, 7], [5, 3], true, false],
      [[7, 5], [3, 5], false, true],
      [[5, 7], [3, 5], true, true],
      [[3, 6, 4], [3, 4, 5], false, false],
      [[3, 4, 6], [3, 5, 4], true, true],
      [[2, 3, 6, 4], [4, 5], false, false], // broadcast b (forward only)
      [[1, 4, 6], [3, 4, 5], true, false], // broadcast a (forward only)
    ];
    for (const [as, bs, ta, tb] of cases) {
      const broadcast = as.slice(0, -2).join() !== bs.slice(0, -2).join();
      it(`a ${as.join("×")}${ta ? "ᵀ" : ""} · b ${bs.join("×")}${tb ? "ᵀ" : ""}${broadcast ? "" : " and its gradients"}`, async () => {
        const rng = new Rng(as.length * 100 + (ta ? 10 : 0) + (tb ? 1 : 0));
        const op = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
        const yShape = await shapeOf(op, as, bs);
        const inputs: Inputs = { a: { shape: as, values: randn(rng, as) }, b: { shape: bs, values: randn(rng, bs) }, r: { shape: yShape, values: randn(rng, yShape) } };
        await expectMatch(inputs, (t) => {
          if (broadcast) return [op(t.a, t.b)];
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), t.r)));
          return [op(t.a, t.b), ...g([t.a, t.b])];
        }, "matMul");
      });
    }
  });

  describe("gather and its gradient (UnsortedSegmentSum)", () => {
    for (const axis of [0, 1]) {
      it(`gather rows along axis ${axis} with repeated 2-D indices`, async () => {
        const rng = new Rng(50 + axis);
        const xs = [9, 6, 5];
        const idx = new Int32Array(12);
        for (let i = 0; i < idx.length; i++) idx[i] = rng.int(xs[axis]);
        idx[1] = idx[0]; // a repeat: its gradient rows must add up
        const yShape = [...xs.slice(0, axis), 3, 4, ...xs.slice(axis + 1)];
        const inputs: Inputs = { x: { shape: xs, values: randn(rng, xs) }, i: { shape: [3, 4], values: idx, dtype: "int32" }, r: { shape: yShape, values: randn(rng, yShape) } };
        await expectMatch(inputs, (t) => {
          const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, t.i, axis), t.r)));
          return [tf.gather(t.x, t.i, axis), g(t.x)];
        }, "gather");
      });
    }
    it("unsortedSegmentSum with empty segments", async () => {
      const rng = new Rng(9);
      const ids = Int32Array.from([3, 0, 3, 5, 0, 0, 2]);
      const inputs: Inputs = { x: { shape: [7, 5], values: randn(rng, [7, 5]) }, s: { shape: [7], values: ids, dtype: "int32" } };
      await expectMatch(inputs, (t) => [tf.unsortedSegmentSum(t.x, t.s as tf.Tensor1D, 7)], "unsortedSegmentSum");
    });
    it("rejects an out-of-range gather index", async () => {
      await withBackend("wasm", () => {
        const x = tf.zeros([4, 2]), i = tf.tensor1d([1, 4], "int32");
        assert.throws(() => tf.gather(x, i), /index value 4 is not in \[0, 3\]/);
        tf.dispose([x, i]);
      });
    });
  });

  describe("slice (and concat's gradient)", () => {
    const cases: Array<[Shape, number[], number[]]> = [
      [[3, 5, 6, 8], [0, 0, 0, 3], [3, 5, 6, 4]], // channel slice
      [[3, 5, 6, 8], [1, 1, 2, 0], [2, 3, -1, 8]], // spatial, size −1
      [[4, 7], [1, 0], [2, 7]], // leading axis: one run
      [[2, 3, 4], [0, 1, 1], [2, 1, 1]], // runs of one element
    ];
    for (const [xs, begin, size] of cases) {
      it(`x ${xs.join("×")} begin ${begin} size ${size}`, async () => {
        const inputs: Inputs = { x: { shape: xs, values: randn(new Rng(xs.length + begin[1]), xs) } };
        await expectMatch(inputs, (t) => [tf.slice(t.x, begin, size)], "slice");
      });
    }
    it("int32 slice", async () => {
      const inputs: Inputs = { x: { shape: [3, 4], values: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), dtype: "int32" } };
      await expectMatch(inputs, (t) => [tf.cast(tf.slice(t.x, [1, 1], [2, 2]), "float32")], "int32 slice");
    });
    it("gradient of a channel concat", async () => {
      const rng = new Rng(77);
      const inputs: Inputs = {
        a: { shape: [2, 3, 4, 5], values: randn(rng, [2, 3, 4, 5]) },
        b: { shape: [2, 3, 4, 3], values: randn(rng, [2, 3, 4, 3]) },
        r: { shape: [2, 3, 4, 8], values: randn(rng, [2, 3, 4, 8]) },
      };
      await expectMatch(inputs, (t) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, b], 3), t.r)))([t.a, t.b]), "concat grad");
    });
  });

  describe("concat (memory.copy rows)", () => {
    // exact: a copy equals tfjs-backend-cpu's bit for bit; odd inner sizes, an empty part, axes 0 / middle / last / −1
    const cases: Array<[Shape[], number]> = [
      [[[2, 3, 4, 5], [2, 3, 4, 3]], 3],
      [[[2, 3, 4, 5], [2, 3, 4, 3], [2, 3, 4, 1]], -1],
      [[[2, 1, 7], [2, 4, 7]], 1],
      [[[3, 5], [1, 5], [0, 5]], 0],
      [[[2, 0, 3], [2, 2, 3], [2, 1, 3]], 1],
    ];
    for (const [shapes, axis] of cases) {
      it(`${shapes.map((s) => s.join("×")).join(" ‖ ")} along axis ${axis}: equal to cpu`, async () => {
        const rng = new Rng(shapes.length + axis + 9);
        const inputs: Inputs = Object.fromEntries(shapes.map((sh, i) => [`p${i}`, { shape: sh, values: randn(rng, sh) }]));
        const f = (t: Record<string, tf.Tensor>) => [tf.concat(shapes.map((_, i) => t[`p${i}`]), axis)];
        const [ref] = await runOn("cpu", inputs, f), [got] = await runOn("wasm", inputs, f);
        assert.deepEqual(Array.from(got), Array.from(ref));
      });
    }
    it("int32 parts, and a single non-empty part (the original kernel's identity)", async () => {
      await withBackend("wasm", () => {
        const a = tf.tensor2d([[1, 2], [3, 4]], undefined, "int32"), b = tf.tensor2d([[5], [6]], undefined, "int32");
        assert.deepEqual(tf.concat([a, b], 1).arraySync(), [[1, 2, 5], [3, 4, 6]]);
        assert.deepEqual(tf.concat([a, tf.zeros([0, 2], "int32")], 0).arraySync(), [[1, 2], [3, 4]]);
        tf.dispose([a, b]);
      });
    });
  });

  it("leaks neither tensors nor wasm heap buffers", async () => {
    await withBackend("wasm", () => {
      const rng = new Rng(11);
      const x = tf.tensor(randn(rng, [2, 9, 9, 5]), [2, 9, 9, 5]) as tf.Tensor4D;
      const w = tf.tensor(randn(rng, [3, 3, 5, 4]), [3, 3, 5, 4]) as tf.Tensor4D;
      const d = tf.tensor(randn(rng, [5, 5, 4, 1]), [5, 5, 4, 1]) as tf.Tensor4D;
      const step = () => tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const y = tf.depthwiseConv2d(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"), c as tf.Tensor4D, 1, "same");
          const flat = tf.reshape(y, [2, -1]);
          const s = tf.slice(y, [0, 1, 0, 1], [2, 2, 3, 2]);
          return tf.add(tf.sum(tf.gather(tf.matMul(flat, flat, false, true), tf.tensor1d([1, 0, 1], "int32"))), tf.sum(s));
        });
        return g([x, w, d]);
      });
      tf.dispose(step()); // burn-in
      const be = tf.backend() as unknown as { numDataIds(): number };
      const tensors = tf.memory().numTensors, ids = be.numDataIds();
      for (let k = 0; k < 3; k++) tf.dispose(step());
      assert.equal(tf.memory().numTensors, tensors);
      assert.equal(be.numDataIds(), ids);
      tf.dispose([x, w, d]);
    });
  });
});
