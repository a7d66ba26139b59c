/**
 * Layers as small classes over `Params`: each creates its variables at construction and exposes a pure `apply`.
 * Only ops with gradients on every backend the lab uses (wasm included) appear here: matMul, conv2d, reshape,
 * broadcasting arithmetic, reductions, exp/tanh/sigmoid.
 */
import { tf } from "../runtime/backend";
import { addBias } from "./lean-ops";
import { Params, fanInUniform } from "./params";
import { Rng, RngState } from "../runtime/rng";
import { customOp, registerTypedKernel, runTypedKernel } from "../runtime/typed-kernels";
import { memoryOf, ptr } from "../runtime/wasm-kernels/heap";
import { JOB } from "../runtime/wasm-kernels/jobs";
import { POINTWISE_SPLIT, splitJob } from "../runtime/wasm-kernels/parallel";
import { sizeOf, wasmPointwise } from "../runtime/wasm-kernels/pointwise";

/** x·W + b over the last axis. x [..., inF] → [..., outF] */
export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(p: Params, name: string, readonly inF: number, readonly outF: number, opts: { bias?: boolean; zeroInit?: boolean } = {}) {
    this.w = p.create(`${name}.w`, [inF, outF], opts.zeroInit ? { kind: "zeros" } : fanInUniform(inF));
    this.b = opts.bias === false ? null : p.create(`${name}.b`, [outF], opts.zeroInit ? { kind: "zeros" } : fanInUniform(inF));
  }
  /** x W + b over the last axis. */
  apply(x: tf.Tensor): tf.Tensor {
    const shape = x.shape;
    const x2 = shape.length === 2 ? (x as tf.Tensor2D) : x.reshape([-1, this.inF]) as tf.Tensor2D;
    let y: tf.Tensor = tf.matMul(x2, this.w as tf.Tensor2D);
    if (this.b) y = addBias(y, this.b); // saves nothing for the backward pass (lean-ops.ts)
    return shape.length === 2 ? y : y.reshape([...shape.slice(0, -1), this.outF]);
  }
}

/** 2-D convolution, NHWC, 'same' padding. x [B,H,W,Cin] → [B,H/s,W/s,Cout] */
export class Conv2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(p: Params, name: string, readonly cin: number, readonly cout: number, readonly k: number,
    opts: { stride?: number; zeroInit?: boolean } = {}) {
    this.stride = opts.stride ?? 1;
    const fanIn = cin * k * k;
    this.w = p.create(`${name}.w`, [k, k, cin, cout], opts.zeroInit ? { kind: "zeros" } : fanInUniform(fanIn));
    this.b = p.create(`${name}.b`, [cout], opts.zeroInit ? { kind: "zeros" } : fanInUniform(fanIn));
  }
  readonly stride: number;
  /** The convolution of x [B, H, W, Cin] → [B, H', W', Cout]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.k === 1
      ? (tf.matMul(x.reshape([-1, this.cin]), this.w.reshape([this.cin, this.cout])).reshape([...x.shape.slice(0, 3), this.cout]) as tf.Tensor4D)
      : tf.conv2d(x, this.w as tf.Tensor4D, this.stride, "same");
    return addBias(y, this.b);
  }
}

/** Normalises over the channel axis (the last), with optional learned affine. x [..., C] */
export class LayerNorm {
  readonly gamma: tf.Variable | null;
  readonly beta: tf.Variable | null;
  constructor(p: Params, name: string, readonly channels: number, opts: { affine?: boolean; eps?: number } = {}) {
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.gamma = affine ? p.create(`${name}.g`, [channels], { kind: "ones" }) : null;
    this.beta = affine ? p.create(`${name}.b`, [channels], { kind: "zeros" }) : null;
  }
  readonly eps: number;
  /** Normalises x over its last axis, then scales and shifts. */
  apply(x: tf.Tensor): tf.Tensor {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), axis, true);
    let y = tf.mul(centred, tf.rsqrt(tf.add(variance, this.eps)));
    if (this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma), this.beta);
    return y;
  }
}

/** GroupNorm over (H, W, C/G) per group, affine per channel. x [B,H,W,C] */
export class GroupNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  constructor(p: Params, name: string, readonly channels: number, readonly groups: number, readonly eps = 1e-5) {
    if (channels % groups !== 0) throw new Error(`GroupNorm: ${channels} channels not divisible by ${groups} groups`);
    this.gamma = p.create(`${name}.g`, [channels], { kind: "ones" });
    this.beta = p.create(`${name}.b`, [channels], { kind: "zeros" });
  }
  /** Normalises x [B, H, W, C] per group of channels, then scales and shifts. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [B, H, W, C] = x.shape;
    const g = x.reshape([B, H * W, this.groups, C / this.groups]);
    const mean = tf.mean(g, [1, 3], true);
    const centred = tf.sub(g, mean);
    const variance = tf.mean(tf.square(centred), [1, 3], true);
    const y = tf.mul(centred, tf.rsqrt(tf.add(variance, this.eps))).reshape([B, H, W, C]);
    return tf.add(tf.mul(y, this.gamma), this.beta) as tf.Tensor4D;
  }
}

/** GELU, tanh approximation (as in GPT-2 / PyTorch approximate='tanh'), as plain tfjs ops: the reference. */
export function geluReference(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;
/** tanh through one exp (V8's Math.tanh is ≈ 3× slower); exact to float64 rounding, saturates to ±1 without NaN. */
const tanhExp = (u: number): number => 1 - 2 / (Math.exp(2 * u) + 1);

// One pass over the array instead of 8 ops forward and ~15 backward (pow's gradient alone recomputes a pow): on the
// training path GELU ran 19 times per step over up to [B·M, 2C] values, each op a full read+write of the array.
// Computed in float64 and rounded once, so it differs from the op chain by float32 rounding only (tested).
registerTypedKernel<Record<string, never>>({
  name: "InftyGelu",
  inputNames: ["x"],
  outputs: ([xs]) => [xs],
  run: ([x], [y]) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = 0.5 * v * (1 + tanhExp(GELU_C * (v + GELU_A * v * v * v)));
    }
  },
  // wasm: an f32x4 kernel (σ(2u) form, a few ulp from this float64 loop; wasm-kernels/pointwise.ts)
  runWasm: (be, [x], [y]) => {
    const pw = wasmPointwise(be), n = sizeOf(x);
    if (pw == null || n < 4) return false;
    // split across the parallel pool's threads (by values: the same bits on any split), 8 values = one unrolled step
    splitJob(memoryOf(be), JOB.geluForward, [ptr(be, y), ptr(be, x), n], n, { ...POINTWISE_SPLIT, grain: 8 });
    return true;
  },
});

registerTypedKernel<Record<string, never>>({
  name: "InftyGeluGrad",
  inputNames: ["dy", "x"],
  outputs: ([, xs]) => [xs],
  run: ([dy, x], [dx]) => {
    // d/dx ½x(1 + tanh u), u = c(x + a x³):  ½(1 + tanh u) + ½x(1 − tanh² u)·c(1 + 3a x²)
    for (let i = 0; i < x.length; i++) {
      const v = x[i], th = tanhExp(GELU_C * (v + GELU_A * v * v * v));
      dx[i] = dy[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * GELU_C * (1 + 3 * GELU_A * v * v));
    }
  },
  runWasm: (be, [dy, x], [dx]) => {
    const pw = wasmPointwise(be), n = sizeOf(x);
    if (pw == null || n < 4) return false;
    splitJob(memoryOf(be), JOB.geluGrad, [ptr(be, dx), ptr(be, dy), ptr(be, x), n], n, { ...POINTWISE_SPLIT, grain: 8 });
    return true;
  },
});

const geluFused = customOp((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: runTypedKernel("InftyGelu", { x }, {}) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runTypedKernel("InftyGeluGrad", { dy, x: saved[0] }, {}) as tf.Tensor,
  };
});

/**
 * GELU, tanh approximation. A fused typed kernel where the backend has it (wasm, cpu); `geluReference` elsewhere
 * (e.g. the libtensorflow backend, whose own elementwise ops are already fused enough).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== "float32" || tf.getKernel("InftyGelu", tf.getBackend()) == null) return geluReference(x);
  return geluFused(x);
}

/** SiLU / swish: x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Sinusoidal embedding of (integer) timesteps. t [B] → [B, dim] */
export function sinusoidalEmbedding(t: tf.Tensor1D, dim: number, maxPeriod = 10000): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(maxPeriod) * i) / half);
  const args = tf.mul(tf.cast(t, "float32").reshape([-1, 1]), tf.tensor2d(freqs, [1, half]));
  const emb = tf.concat([tf.cos(args), tf.sin(args)], 1);
  return (dim % 2 === 1 ? tf.pad(emb, [[0, 0], [0, 1]]) : emb) as tf.Tensor2D;
}

/**
 * Inverted dropout with an injected Rng (masks drawn in JS so a seeded run is reproducible on every backend).
 * Identity when `train` is false or rate is 0.
 */
export function dropout(x: tf.Tensor, rate: number, rng: Rng | null): tf.Tensor {
  if (!rng || rate <= 0) return x;
  const keep = 1 - rate;
  // a batch slice draws the whole batch's mask (the single-worker stream) and keeps its own rows
  const rows = x.shape[0], perRow = x.size / rows;
  const start = rng instanceof BatchSliceRng ? rng.start : 0;
  const total = rng instanceof BatchSliceRng ? rng.total : rows;
  if (start + rows > total) throw new Error(`dropout: rows ${start}..${start + rows} outside a batch of ${total}`);
  const mask = new Float32Array(x.size);
  const from = start * perRow, to = from + x.size;
  for (let i = 0; i < total * perRow; i++) {
    const u = rng.next();
    if (i >= from && i < to) mask[i - from] = u < keep ? 1 / keep : 0;
  }
  return tf.mul(x, tf.tensor(mask, x.shape));
}

/**
 * The dropout stream of rows [start, start + B) of a batch of `total` (data-parallel training, parallel.ts): each
 * worker draws every mask of the full batch in the single-worker order and keeps its rows, so splitting the batch
 * does not change which units are dropped.
 */
export class BatchSliceRng extends Rng {
  constructor(state: RngState, readonly start: number, readonly total: number) {
    super(state);
  }
}

/** Average pooling by 2 in H and W (H, W even). x [B,H,W,C] → [B,H/2,W/2,C] */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.mean(x.reshape([B, H / 2, 2, W / 2, 2, C]), [2, 4]) as tf.Tensor4D;
}

/** Nearest-neighbour upsampling by 2 via broadcasting (its gradient is a sum, available on every backend). */
export function upsampleNearest2(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const y = tf.add(x.reshape([B, H, 1, W, 1, C]), tf.zeros([1, 1, 2, 1, 2, 1]));
  return y.reshape([B, 2 * H, 2 * W, C]) as tf.Tensor4D;
}
