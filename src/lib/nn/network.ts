/**
 * The ∞-Diff network (Fig. 4, §4.2, Appendix A): a denoiser that maps a function sampled at any set of coordinates
 * to a function on the same coordinates.
 *
 *   pointwise lift → sparse residual blocks on the raw coordinates (sparse depthwise conv, Eq. 20, normalised by the
 *   local count; time-modulated LayerNorm; MLP C → mult·C → C) → kNN (k = 3) interpolation to a fixed grid →
 *   grid U-Net → bilinear interpolation back to the coordinates → sparse blocks with skips → pointwise output.
 *
 * The same weights run at any resolution r: the sparse kernels are bilinearly resampled to cover the same physical
 * extent (kernel-resample.ts) and the U-Net always sees its fixed grid.
 */
import { tf } from "../backend";
import { Rng } from "../rng";
import { ModelConfig } from "../config";
import { CoordSet, fullGrid } from "../coordinates";
import { KernelMap } from "../kernel-map";
import { sparseDepthwiseConv, sparseConv, nonlinearKernelOp } from "../sparse-conv";
import { resampleKernel, resampledKernelSize } from "../kernel-resample";
import { KnnToGrid, GridToPoints } from "../interpolation";
import { Params, fanInUniform } from "./params";
import { LayerNorm, Linear, gelu, sinusoidalEmbedding } from "./layers";
import { UNet } from "./unet";

/**
 * Everything the network needs about one coordinate set at one resolution: the kernel map for the resampled kernel
 * size and the interpolation tables to and from the U-Net grid. Built once per set (per training step; once per
 * resolution when sampling) and disposed by its owner.
 */
export class PointContext {
  readonly kmap: KernelMap;
  readonly toGrid: KnnToGrid;
  readonly fromGrid: GridToPoints;
  constructor(readonly set: CoordSet, readonly kernelSize: number, gridRes: number, knn: number) {
    this.kmap = KernelMap.build(set, kernelSize);
    this.toGrid = KnnToGrid.build(set, gridRes, gridRes, knn);
    this.fromGrid = GridToPoints.build(set, gridRes, gridRes);
  }
  /** resolution of the set's grid (the side that sets the kernel scale; H for non-square grids) */
  get resolution(): number {
    return this.set.H;
  }
  dispose(): void {
    this.kmap.dispose();
    this.toGrid.dispose();
    this.fromGrid.dispose();
  }
}

/** The spatial operator of a sparse block: depthwise (ours), regular, or nonlinear (Table 2 ablations). */
class SparseOperatorLayer {
  private readonly kernels: tf.Variable[];
  private readonly biases: tf.Variable[];
  constructor(p: Params, name: string, readonly kind: ModelConfig["operator"], readonly C: number, readonly k: number) {
    const fanIn = kind === "regular" ? k * k * C : k * k;
    const shape = kind === "regular" ? [k, k, C, C] : [k, k, C];
    const n = kind === "nonlinear" ? 2 : 1;
    this.kernels = Array.from({ length: n }, (_, i) => p.create(`${name}.kernel${i}`, shape, fanInUniform(fanIn)));
    this.biases = Array.from({ length: n }, (_, i) => p.create(`${name}.bias${i}`, [C], { kind: "zeros" }));
  }
  /** feats [B,M,C] on ctx's set; kernels resampled from r₀ to the set's resolution when they differ */
  apply(feats: tf.Tensor3D, ctx: PointContext, r0: number): tf.Tensor3D {
    const r = ctx.resolution;
    const kernel = (v: tf.Variable): tf.Tensor => {
      if (r === r0) return v;
      if (this.kind === "regular") {
        // resample each input channel's [k,k,Cout] slice: fold Cin into the channel axis
        const [k, , ci, co] = v.shape;
        const k2 = resampledKernelSize(k, r0, r);
        return resampleKernel(v.reshape([k, k, ci * co]) as tf.Tensor3D, r0, r).reshape([k2, k2, ci, co]);
      }
      return resampleKernel(v as unknown as tf.Tensor3D, r0, r);
    };
    switch (this.kind) {
      case "depthwise":
        return sparseDepthwiseConv(feats, ctx.kmap, kernel(this.kernels[0]) as tf.Tensor3D, this.biases[0] as tf.Tensor1D);
      case "regular":
        return sparseConv(feats, ctx.kmap, kernel(this.kernels[0]) as tf.Tensor4D, this.biases[0] as tf.Tensor1D);
      case "nonlinear":
        return nonlinearKernelOp(feats, ctx.kmap, {
          kernel1: kernel(this.kernels[0]) as tf.Tensor3D, bias1: this.biases[0] as tf.Tensor1D,
          kernel2: kernel(this.kernels[1]) as tf.Tensor3D, bias2: this.biases[1] as tf.Tensor1D,
        });
    }
  }
}

/**
 * Sparse residual block (Appendix A; ConvNeXt-like): x += Op(mod(LN(x), t)); x += MLP(mod(LN(x), t)), where
 * mod(h, t) = h·(1 + scale(t)) + shift(t). With a skip input, [x, skip] is first projected back to C channels.
 */
class SparseBlock {
  private readonly skip: Linear | null;
  private readonly norm1: LayerNorm;
  private readonly mod1: Linear;
  private readonly op: SparseOperatorLayer;
  private readonly norm2: LayerNorm;
  private readonly mod2: Linear;
  private readonly mlp1: Linear;
  private readonly mlp2: Linear;
  constructor(p: Params, name: string, private readonly cfg: ModelConfig, withSkip: boolean) {
    const C = cfg.nf;
    this.skip = withSkip ? new Linear(p, `${name}.skip`, 2 * C, C) : null;
    this.norm1 = new LayerNorm(p, `${name}.norm1`, C);
    this.mod1 = new Linear(p, `${name}.mod1`, cfg.timeEmbDim, 2 * C);
    this.op = new SparseOperatorLayer(p, `${name}.op`, cfg.operator, C, cfg.kernelSize);
    this.norm2 = new LayerNorm(p, `${name}.norm2`, C);
    this.mod2 = new Linear(p, `${name}.mod2`, cfg.timeEmbDim, 2 * C);
    this.mlp1 = new Linear(p, `${name}.mlp1`, C, cfg.mlpMult * C);
    // zero-initialised output layer: the block starts close to the identity
    this.mlp2 = new Linear(p, `${name}.mlp2`, cfg.mlpMult * C, C, { zeroInit: true });
  }
  private modulate(h: tf.Tensor3D, norm: LayerNorm, mod: Linear, temb: tf.Tensor2D): tf.Tensor3D {
    const C = this.cfg.nf;
    const ss = mod.apply(gelu(temb)).reshape([-1, 1, 2 * C]);
    const [scale, shift] = tf.split(ss, 2, 2);
    return tf.add(tf.mul(norm.apply(h), tf.add(scale, 1)), shift) as tf.Tensor3D;
  }
  // x [B,M,C], skip [B,M,C] | null, temb [B,E] → [B,M,C]
  apply(x: tf.Tensor3D, ctx: PointContext, temb: tf.Tensor2D, skip: tf.Tensor3D | null): tf.Tensor3D {
    if (this.skip) {
      if (!skip) throw new Error("SparseBlock: a skip input is required");
      x = this.skip.apply(tf.concat([x, skip], 2)) as tf.Tensor3D;
    }
    const h1 = this.op.apply(this.modulate(x, this.norm1, this.mod1, temb), ctx, this.cfg.resolution);
    x = tf.add(x, h1) as tf.Tensor3D;
    const h2 = this.mlp2.apply(gelu(this.mlp1.apply(this.modulate(x, this.norm2, this.mod2, temb))));
    return tf.add(x, h2) as tf.Tensor3D;
  }
}

export interface NetworkForwardOpts {
  /** an Rng enables dropout (training); null for evaluation */
  dropoutRng: Rng | null;
}

export class InftyDiffNetwork {
  readonly params: Params;
  private readonly timeMlp1: Linear;
  private readonly timeMlp2: Linear;
  private readonly liftIn: Linear;
  private readonly down: SparseBlock[] = [];
  private readonly toUnet: Linear;
  private readonly unet: UNet;
  private readonly fromUnet: Linear;
  private readonly up: SparseBlock[] = [];
  private readonly out: Linear;

  constructor(readonly cfg: ModelConfig, rng: Rng) {
    if (cfg.downsample !== "knn-grid") throw new Error(`downsample '${cfg.downsample}' is not implemented by this network`);
    const p = (this.params = new Params(rng));
    const E = cfg.timeEmbDim, C = cfg.nf, U = cfg.unet.baseChannels;
    this.timeMlp1 = new Linear(p, "time.1", E, E);
    this.timeMlp2 = new Linear(p, "time.2", E, E);
    this.liftIn = new Linear(p, "lift", cfg.channels, C);
    for (let i = 0; i < cfg.sparseBlocks; i++) this.down.push(new SparseBlock(p, `down${i}`, cfg, false));
    this.toUnet = new Linear(p, "toUnet", C, U);
    this.unet = new UNet(p, "unet", { ...cfg.unet, channels: U, embDim: E });
    this.fromUnet = new Linear(p, "fromUnet", U, C);
    for (let i = 0; i < cfg.sparseBlocks; i++) this.up.push(new SparseBlock(p, `up${i}`, cfg, true));
    this.out = new Linear(p, "out", C, cfg.channels);
  }

  /** The context for a coordinate set: kernel size resampled to the set's resolution (H). */
  context(set: CoordSet): PointContext {
    const k = resampledKernelSize(this.cfg.kernelSize, this.cfg.resolution, set.H);
    return new PointContext(set, k, this.cfg.unet.res, this.cfg.knnNeighbours);
  }

  // x [B,M,channels] values of x_t at ctx.set's points, t int32 [B] → [B,M,channels]
  apply(x: tf.Tensor3D, ctx: PointContext, t: tf.Tensor1D, opts: NetworkForwardOpts): tf.Tensor3D {
    return tf.tidy(() => {
      const temb = this.timeMlp2.apply(gelu(this.timeMlp1.apply(sinusoidalEmbedding(t, this.cfg.timeEmbDim)))) as tf.Tensor2D;
      let h = this.liftIn.apply(x) as tf.Tensor3D;
      const skips: tf.Tensor3D[] = [];
      for (const block of this.down) {
        h = block.apply(h, ctx, temb, null);
        skips.push(h);
      }
      const grid = ctx.toGrid.apply(this.toUnet.apply(h) as tf.Tensor3D);
      const g = this.unet.apply(grid, temb, opts);
      h = this.fromUnet.apply(ctx.fromGrid.apply(g)) as tf.Tensor3D;
      for (const block of this.up) h = block.apply(h, ctx, temb, skips.pop() as tf.Tensor3D);
      return this.out.apply(h) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * The network as a full-grid denoiser for the samplers: (x_t [B,H,W,C], t [B]) → [B,H,W,C] at any H×W. The full
 * grid's points are its cells in raster order, so gathering is a reshape. Contexts are cached per (B, H, W);
 * call `dispose()` when done.
 */
export class GridDenoiser {
  private readonly contexts = new Map<string, PointContext>();
  constructor(readonly net: InftyDiffNetwork) {}
  readonly denoise = (xt: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D => {
    const [B, H, W, C] = xt.shape;
    const key = `${B}x${H}x${W}`;
    let ctx = this.contexts.get(key);
    if (!ctx) {
      ctx = this.net.context(fullGrid(B, H, W));
      this.contexts.set(key, ctx);
    }
    const c = ctx;
    return tf.tidy(() => this.net.apply(xt.reshape([B, H * W, C]) as tf.Tensor3D, c, t, { dropoutRng: null }).reshape([B, H, W, C]) as tf.Tensor4D);
  };
  dispose(): void {
    for (const c of this.contexts.values()) c.dispose();
    this.contexts.clear();
  }
}
