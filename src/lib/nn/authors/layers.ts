/**
 * Layers of the authors' architecture (samb-t/infty-diff `models/`), written for the lab: parameters carry the
 * PyTorch state_dict names exactly (`linear_in.weight`, `uno.downs.0.1.bias`, …) so a state_dict maps onto them
 * by name; only layouts differ (NHWC / x·W instead of NCHW / W·x), and `TORCH_LAYOUT` says how each kind converts.
 * Everything works on the lab's layouts: points [B, M, C], grids [B, H, W, C].
 */
import { tf } from "../../runtime/backend";
import { Params, fanInUniform } from "../params";
import { customOp, registerTypedKernel, runTypedKernel } from "../../runtime/typed-kernels";

/**
 * How a PyTorch tensor becomes the lab's, per parameter kind (the documented mapping of `infty import`):
 *   linear      weight [out, in]          → [in, out]           (x·W)
 *   conv        weight [out, in, kh, kw]  → [kh, kw, in, out]   (tfjs conv2d filter)
 *   depthwise   weight [C, 1, k, k]       → [k, k, C]           (the lab's sparse-conv kernel)
 *   convT       weight [in, out, kh, kw]  → [kh, kw, out, in]   (tfjs conv2dTranspose filter)
 *   channel     weight/bias [1, C, 1, 1]  → [C]                 (per-channel LayerNorm gains)
 *   plain       bias [C], nn.LayerNorm weight/bias [C]          (unchanged)
 *   tsKernel    torchsparse depthwise kernel [k·k, 1, C]  → [k, k, C]: flat tap index = column·k + row (their
 *               get_kernel_offsets puts the last spatial axis outermost; coords are (0, row, column, batch)), so it
 *               is read as [k(col), k(row), C] and transposed
 */
export type TorchKind = "linear" | "conv" | "depthwise" | "convT" | "channel" | "plain" | "tsKernel";
/** The axis permutation from each PyTorch weight layout to the lab's (null: same layout). */
export const TORCH_PERM: Record<TorchKind, number[] | null> = {
  linear: [1, 0],
  conv: [2, 3, 1, 0],
  depthwise: [1, 2, 0], // [C, k, k] after dropping the size-1 axis 1
  convT: [2, 3, 1, 0],
  channel: null,
  plain: null,
  tsKernel: [1, 0, 2], // [k(col), k(row), C] after splitting axis 0 and dropping axis 1
};

/** The PyTorch tensor viewed without its size-1 axes (what TORCH_PERM permutes): same values, row-major. */
export function torchView(kind: TorchKind, torchShape: number[]): number[] {
  if (kind === "channel") return [torchShape[1]];
  if (kind === "depthwise") return [torchShape[0], torchShape[2], torchShape[3]];
  if (kind === "tsKernel") {
    const k = Math.round(Math.sqrt(torchShape[0]));
    return [k, k, torchShape[2]];
  }
  return torchShape;
}

/** The lab's shape of a parameter of `kind` with PyTorch shape `torchShape`. */
export function labShape(kind: TorchKind, torchShape: number[]): number[] {
  const view = torchView(kind, torchShape), perm = TORCH_PERM[kind];
  return perm ? perm.map((i) => view[i]) : view;
}

/** Registry of every parameter's kind, filled as layers are built: what `infty import` uses to convert. */
export type KindTable = Map<string, { kind: TorchKind; torchShape: number[] }>;

/** A parameter created under its PyTorch name, with its kind and PyTorch shape recorded. */
export function torchParam(p: Params, kinds: KindTable, name: string, torchShape: number[], kind: TorchKind, init: Parameters<Params["create"]>[2]): tf.Variable {
  kinds.set(name, { kind, torchShape });
  return p.create(name, labShape(kind, torchShape), init);
}

/** nn.Linear: x [..., in] → [..., out]. PyTorch's default init U(±1/√in). */
export class TLinear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(p: Params, kinds: KindTable, name: string, readonly inF: number, readonly outF: number) {
    this.w = torchParam(p, kinds, `${name}.weight`, [outF, inF], "linear", fanInUniform(inF));
    this.b = torchParam(p, kinds, `${name}.bias`, [outF], "plain", fanInUniform(inF));
  }
  apply(x: tf.Tensor): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const y = tf.add(tf.matMul(x.reshape([-1, this.inF]) as tf.Tensor2D, this.w as tf.Tensor2D), this.b);
    return y.reshape([...lead, this.outF]);
  }
}

/** Their z MLP (`z_mlp…`: Linear(z, C) → GELU → Linear(C, C)): z [B, zDim] → the scale [B, C] of ·(1 + scale). */
export class ZMlp {
  private readonly a: TLinear;
  private readonly b: TLinear;
  constructor(p: Params, kinds: KindTable, name: string, zDim: number, C: number) {
    this.a = new TLinear(p, kinds, `${name}.0`, zDim, C);
    this.b = new TLinear(p, kinds, `${name}.2`, C, C);
  }
  apply(z: tf.Tensor2D): tf.Tensor2D {
    return this.b.apply(geluErf(this.a.apply(z))) as tf.Tensor2D;
  }
}

/** nn.Conv2d with PyTorch padding semantics: symmetric `pad` on both sides, then stride. x [B,H,W,in] → [B,H',W',out] */
export class TConv2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(p: Params, kinds: KindTable, name: string, readonly cin: number, readonly cout: number, readonly k: number,
    readonly stride = 1, readonly pad = (k - 1) / 2) {
    this.w = torchParam(p, kinds, `${name}.weight`, [cout, cin, k, k], "conv", fanInUniform(cin * k * k));
    this.b = torchParam(p, kinds, `${name}.bias`, [cout], "plain", fanInUniform(cin * k * k));
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    if (this.k === 1 && this.stride === 1) {
      const [B, H, W] = x.shape;
      const y = tf.matMul(x.reshape([-1, this.cin]) as tf.Tensor2D, this.w.reshape([this.cin, this.cout]) as tf.Tensor2D);
      return tf.add(y, this.b).reshape([B, H, W, this.cout]) as tf.Tensor4D;
    }
    // explicit padding: tfjs "same" pads stride-2 convs only at the bottom/right, PyTorch on both sides
    const P = this.pad;
    const xp = P ? tf.pad(x, [[0, 0], [P, P], [P, P], [0, 0]]) : x;
    return tf.add(tf.conv2d(xp as tf.Tensor4D, this.w as tf.Tensor4D, this.stride, "valid"), this.b) as tf.Tensor4D;
  }
}

/**
 * nn.ConvTranspose2d(in, out, 4, stride 2, padding 1): doubles H and W. Computed as a plain correlation over the
 * input with zeros inserted between pixels, padded by k−1−p, with the spatially flipped kernel, so it needs only
 * conv2d's gradients (present on wasm). x [B,H,W,in] → [B,2H,2W,out]
 */
export class TConvTranspose2d {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly k = 4;
  constructor(p: Params, kinds: KindTable, name: string, readonly cin: number, readonly cout: number) {
    // PyTorch computes fan-in of a transposed conv from weight.size(1)·k² = out·k²
    const fan = cout * this.k * this.k;
    this.w = torchParam(p, kinds, `${name}.weight`, [cin, cout, this.k, this.k], "convT", fanInUniform(fan));
    this.b = torchParam(p, kinds, `${name}.bias`, [cout], "plain", fanInUniform(fan));
  }
  /** Applies the layer to x [B, H, W, C]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [B, H, W, C] = x.shape;
    // zeros between pixels (and one trailing row/column): value (i, j) lands at (2i, 2j). Rank 4 on purpose:
    // tfjs-backend-webgpu 4.22's PadV2 emits invalid WGSL for rank 5 and 6 (it indexes a `vec6` struct), and dawn
    // then drops the whole command buffer with only a console warning, so a rank-6 pad here silently corrupted the
    // UNO's output on webgpu. Padding [B·H, 1, W, C] to [B·H, 2, W, 2C] interleaves the same zeros.
    const dil = tf.pad(x.reshape([B * H, 1, W, C]), [[0, 0], [0, 1], [0, 0], [0, C]]).reshape([B, 2 * H, 2 * W, C]);
    // k − 1 − p = 2 before; 1 after (the trailing zero row supplies the other)
    const padded = tf.pad(dil, [[0, 0], [2, 1], [2, 1], [0, 0]]) as tf.Tensor4D;
    // filter [k,k,out,in] → flipped in space, as [k,k,in,out]
    const f = tf.transpose(tf.reverse(this.w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.add(tf.conv2d(padded, f, 1, "valid"), this.b) as tf.Tensor4D;
  }
}

/**
 * LayerNorm over channels (the last axis), biased variance, eps 1e-5: the UNO's `LayerNorm((1, C, 1, 1))` (weight and
 * bias), the sparse blocks' `ImageLayerNorm` (gain `g` only) and `nn.LayerNorm(C)` of attention (kind "plain").
 */
export class TChannelNorm {
  readonly w: tf.Variable;
  readonly b: tf.Variable | null;
  constructor(p: Params, kinds: KindTable, names: { weight: string; bias?: string }, C: number, kind: "channel" | "plain") {
    const shape = kind === "channel" ? [1, C, 1, 1] : [C];
    this.w = torchParam(p, kinds, names.weight, shape, kind, { kind: "ones" });
    this.b = names.bias ? torchParam(p, kinds, names.bias, shape, kind, { kind: "zeros" }) : null;
  }
  apply(x: tf.Tensor): tf.Tensor {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), axis, true);
    const y = tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-5))), this.w);
    return this.b ? tf.add(y, this.b) : y;
  }
}

// ---- exact GELU (nn.GELU's default, erf form) ----------------------------------------------------------------------

/**
 * erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e−7, below float32's resolution at GELU's output scale): one exp,
 * for the hot loop; data/procedural.ts has the float64-exact series, ~10× slower here.
 */
function erfFast(x: number): number {
  const s = x < 0 ? -1 : 1, a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

const SQRT1_2 = Math.SQRT1_2, INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

registerTypedKernel<Record<string, never>>({
  name: "InftyGeluErf",
  inputNames: ["x"],
  outputs: ([xs]) => [xs],
  run: ([x], [y]) => {
    for (let i = 0; i < x.length; i++) y[i] = 0.5 * x[i] * (1 + erfFast(x[i] * SQRT1_2));
  },
});

registerTypedKernel<Record<string, never>>({
  name: "InftyGeluErfGrad",
  inputNames: ["dy", "x"],
  outputs: ([, xs]) => [xs],
  run: ([dy, x], [dx]) => {
    // d/dx ½x(1 + erf(x/√2)) = ½(1 + erf(x/√2)) + x·φ(x)
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      dx[i] = dy[i] * (0.5 * (1 + erfFast(v * SQRT1_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
    }
  },
});

const geluErfFused = customOp((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: runTypedKernel("InftyGeluErf", { x }, {}) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runTypedKernel("InftyGeluErfGrad", { dy, x: saved[0] }, {}) as tf.Tensor,
  };
});

/** GELU in its exact form ½x(1 + erf(x/√2)) (PyTorch's nn.GELU default; the lab's own network uses the tanh form). */
export function geluErf(x: tf.Tensor): tf.Tensor {
  if (x.dtype === "float32" && tf.getKernel("InftyGeluErf", tf.getBackend()) != null) return geluErfFused(x);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1));
}

/**
 * The authors' sinusoidal time embedding: frequencies exp(−i·ln(10⁴)/(half−1)), i < half, and [sin, cos] (the lab's
 * own `sinusoidalEmbedding` divides by half and puts cos first). t [B] (float timesteps) → [B, dim]
 */
export function authorsTimeEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) / (half - 1)) * i);
  const args = tf.mul(tf.cast(t, "float32").reshape([-1, 1]), tf.tensor2d(freqs, [1, half]));
  return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
}

/**
 * Multi-head self-attention over the grid cells (the UNO's attention block: LayerNorm, one qkv linear laid out as
 * (three, heads, 32), softmax(q·kᵀ/√32)·v, output linear, residual). heads = max(C/32, 4). x [B,H,W,C]
 */
export class TAttention {
  readonly heads: number;
  readonly dh = 32;
  private readonly norm: TChannelNorm;
  private readonly qkv: TLinear;
  private readonly out: TLinear;
  constructor(p: Params, kinds: KindTable, name: string, readonly C: number) {
    this.heads = Math.max(Math.floor(C / this.dh), 4);
    this.norm = new TChannelNorm(p, kinds, { weight: `${name}.norm.weight`, bias: `${name}.norm.bias` }, C, "plain");
    this.qkv = new TLinear(p, kinds, `${name}.qkv`, C, 3 * this.heads * this.dh);
    this.out = new TLinear(p, kinds, `${name}.attn_linear`, this.heads * this.dh, C);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [B, H, W, C] = x.shape;
    const L = H * W, nh = this.heads, d = this.dh;
    const qkv = this.qkv.apply(this.norm.apply(x.reshape([B, L, C]))).reshape([B, L, 3, nh, d]);
    const part = (i: number) => tf.transpose(qkv.slice([0, 0, i, 0, 0], [B, L, 1, nh, d]).reshape([B, L, nh, d]), [0, 2, 1, 3]).reshape([B * nh, L, d]) as tf.Tensor3D;
    const att = tf.softmax(tf.mul(tf.matMul(part(0), part(1), false, true), 1 / Math.sqrt(d)));
    const h = tf.transpose(tf.matMul(att as tf.Tensor3D, part(2)).reshape([B, nh, L, d]), [0, 2, 1, 3]).reshape([B, L, nh * d]);
    return tf.add(x, this.out.apply(h).reshape([B, H, W, C])) as tf.Tensor4D;
  }
}
