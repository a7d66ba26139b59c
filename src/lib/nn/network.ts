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
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { KnnWeights, ModelConfig } from "../config/config";
import { CoordSet, fullGrid } from "../coords/coordinates";
import { KernelMap } from "../operators/kernel-map";
import { sparseDepthwiseConv, sparseConv, nonlinearKernelOp } from "../operators/sparse-conv";
import { resampleKernel } from "../operators/kernel-resample";
import { ModelGrid, modelGridFor } from "../config/grid";
import { resampledFullGridDepthwiseConv, separableMinKernel } from "../operators/resampled-depthwise";
import { KnnToGrid, GridToPoints, SparseDownsample } from "../operators/interpolation";
import { Params, fanInUniform } from "./params";
import { LayerNorm, Linear, gelu, sinusoidalEmbedding } from "./layers";
import { UNet } from "./unet";
import { AuthorsContext, AuthorsSparseUNet } from "./authors/sparse-unet";
import { modulatedLayerNorm } from "./fused-norm";
import { addSame } from "./lean-ops";

/**
 * Everything the network needs about one coordinate set at one resolution: the grid value (kernel size, resolution,
 * resampling rule: config/grid.ts), the kernel map at that kernel size and the interpolation tables to and from the
 * U-Net grid. Built once per set (per training step; once per resolution when sampling) and disposed by its owner.
 */
export class PointContext implements OperatorContext {
  readonly kmap: KernelMap;
  readonly toGrid: KnnToGrid;
  readonly fromGrid: GridToPoints;
  constructor(
    readonly set: CoordSet, readonly grid: ModelGrid, unetRes: number, knn: number,
    knnWeights: KnnWeights = "inverse-squared-distance",
  ) {
    this.kmap = KernelMap.build(set, grid.kernelSize);
    this.toGrid = KnnToGrid.build(set, unetRes, unetRes, knn, knnWeights);
    this.fromGrid = GridToPoints.build(set, unetRes, unetRes);
  }
  /** Frees the context's tensors and tables. */
  dispose(): void {
    this.kmap.dispose();
    this.toGrid.dispose();
    this.fromGrid.dispose();
  }
}

/** What a sparse operator needs of its coordinate set: the kernel map and the grid value (r, r₀, resampling rule). */
export interface OperatorContext {
  readonly kmap: KernelMap;
  readonly grid: ModelGrid;
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
  apply(feats: tf.Tensor3D, ctx: OperatorContext): tf.Tensor3D {
    const { r0, resolution: r, kernelResampling: mode } = ctx.grid;
    const kernel = (v: tf.Variable): tf.Tensor => {
      if (r === r0) return v;
      if (this.kind === "regular") {
        // resample each input channel's [k,k,Cout] slice: fold Cin into the channel axis
        const [k, , ci, co] = v.shape;
        const k2 = ctx.grid.kernelSizeOf(k);
        return resampleKernel(v.reshape([k, k, ci * co]) as tf.Tensor3D, r0, r, mode).reshape([k2, k2, ci, co]);
      }
      return resampleKernel(v as unknown as tf.Tensor3D, r0, r, mode);
    };
    switch (this.kind) {
      case "depthwise":
        // a full grid at r ≠ r₀ with a large resampled kernel (sampling at 112² and up): the separable form
        if (r !== r0 && ctx.kmap.set.M === ctx.kmap.set.H * ctx.kmap.set.W && ctx.kmap.k >= separableMinKernel()) {
          return resampledFullGridDepthwiseConv(feats, ctx.kmap, this.kernels[0] as unknown as tf.Tensor3D, this.biases[0] as tf.Tensor1D, r0, r, mode);
        }
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
    if (norm.gamma && norm.beta) return modulatedLayerNorm(h, norm.gamma, norm.beta, scale, shift, norm.eps); // fused-norm.ts
    return tf.add(tf.mul(norm.apply(h), tf.add(scale, 1)), shift) as tf.Tensor3D;
  }
  // x [B,M,C], skip [B,M,C] | null, temb [B,E] → [B,M,C]
  apply(x: tf.Tensor3D, ctx: OperatorContext, temb: tf.Tensor2D, skip: tf.Tensor3D | null): tf.Tensor3D {
    if (this.skip) {
      if (!skip) throw new Error("SparseBlock: a skip input is required");
      x = this.skip.apply(tf.concat([x, skip], 2)) as tf.Tensor3D;
    }
    const h1 = this.op.apply(this.modulate(x, this.norm1, this.mod1, temb), ctx);
    x = addSame(x, h1); // residual adds that save nothing for the backward pass (lean-ops.ts)
    const h2 = this.mlp2.apply(gelu(this.mlp1.apply(this.modulate(x, this.norm2, this.mod2, temb)))) as tf.Tensor3D;
    return addSame(x, h2);
  }
}

/**
 * Context of the Table 2 "sparse downsample" network: the set's kernel map plus, per coarser level l = 1…L, a random
 * subset of the previous level's points (ratio ¼, the U-Net's 2×2 pooling in point count) with its own kernel map.
 * The subsets are drawn from an Rng seeded by the set's cells, so the same set always gets the same levels
 * (a full grid at sampling time keeps one hierarchy for every step; training sets differ every step).
 */
export class SparseContext implements OperatorContext {
  readonly kmap: KernelMap;
  /** per coarse level: the downsample from the level above and the kernel map on the coarse points */
  readonly levels: { ds: SparseDownsample; ctx: OperatorContext }[] = [];
  /** `kernelSizes`: each level's kernel size at r₀; the grid value gives their sizes on this grid */
  constructor(
    readonly set: CoordSet, readonly grid: ModelGrid, kernelSizes: number[], knn: number,
    knnWeights: KnnWeights = "inverse-squared-distance",
  ) {
    this.kmap = KernelMap.build(set, grid.kernelSizeOf(kernelSizes[0]));
    const rng = new Rng(cellsSeed(set));
    let fine = set;
    for (let l = 1; l < kernelSizes.length; l++) {
      const ds = SparseDownsample.build(fine, rng, 0.25, knn, knnWeights);
      this.levels.push({ ds, ctx: { kmap: KernelMap.build(ds.coarse, grid.kernelSizeOf(kernelSizes[l])), grid } });
      fine = ds.coarse;
    }
  }
  /** Frees every level's tensors and tables. */
  dispose(): void {
    this.kmap.dispose();
    for (const { ds, ctx } of this.levels) { ds.dispose(); ctx.kmap.dispose(); }
  }
}

/** FNV-1a over a set's shape and cells: the seed of its sparse-downsample hierarchy. */
function cellsSeed(set: CoordSet): number {
  let h = 2166136261;
  const mix = (v: number) => { h = Math.imul(h ^ (v & 0xffff), 16777619); h = Math.imul(h ^ (v >>> 16), 16777619); };
  mix(set.B); mix(set.H); mix(set.W); mix(set.M);
  for (let i = 0; i < set.cells.length; i++) mix(set.cells[i]);
  return h >>> 0;
}

/**
 * The Table 2 "sparse downsample" ablation (§5 Architecture Analysis): instead of kNN-interpolating to a grid and
 * running a U-Net, the middle of the network is a U-Net-shaped stack of sparse blocks on random coordinate subsets.
 * Level l has unet.baseChannels·mults[l] channels, unet.blocksPerLevel blocks (with skips on the way up) and a kernel
 * of (k−1)·2^l + 1 taps per side on the original lattice, so each level doubles the physical extent as the U-Net's
 * pooling does. Down = selection of the subset, up = kNN inverse-distance from the coarse points (interpolation.ts).
 * No attention or dropout (the grid U-Net's attnRes/dropoutRes have no meaning on point sets).
 */
class SparseLevels {
  private readonly inProj: Linear;
  private readonly outProj: Linear;
  private readonly down: SparseBlock[][] = [];
  private readonly up: SparseBlock[][] = [];
  private readonly widen: (Linear | null)[] = [];
  private readonly narrow: (Linear | null)[] = [];
  readonly kernelSizes: number[];
  constructor(p: Params, name: string, cfg: ModelConfig) {
    const U = cfg.unet.baseChannels, mults = cfg.unet.mults, nb = cfg.unet.blocksPerLevel;
    const Cl = mults.map((m) => U * m);
    this.kernelSizes = mults.map((_, l) => (cfg.kernelSize - 1) * 2 ** l + 1);
    this.inProj = new Linear(p, `${name}.in`, cfg.nf, Cl[0]);
    for (let l = 0; l < mults.length; l++) {
      const lcfg: ModelConfig = { ...cfg, nf: Cl[l], kernelSize: this.kernelSizes[l] };
      this.widen.push(l > 0 ? new Linear(p, `${name}.widen${l}`, Cl[l - 1], Cl[l]) : null);
      this.down.push(Array.from({ length: nb }, (_, b) => new SparseBlock(p, `${name}.down${l}.${b}`, lcfg, false)));
      this.up.push(Array.from({ length: nb }, (_, b) => new SparseBlock(p, `${name}.up${l}.${b}`, lcfg, true)));
      this.narrow.push(l > 0 ? new Linear(p, `${name}.narrow${l}`, Cl[l], Cl[l - 1]) : null);
    }
    this.outProj = new Linear(p, `${name}.out`, Cl[0], cfg.nf);
  }
  // h [B,M,nf] on ctx.set → [B,M,nf]
  apply(h: tf.Tensor3D, ctx: SparseContext, temb: tf.Tensor2D): tf.Tensor3D {
    const L = this.down.length;
    const lctx = (l: number): OperatorContext => (l === 0 ? ctx : ctx.levels[l - 1].ctx);
    let x = this.inProj.apply(h) as tf.Tensor3D;
    const skips: tf.Tensor3D[][] = [];
    for (let l = 0; l < L; l++) {
      if (l > 0) x = (this.widen[l] as Linear).apply(ctx.levels[l - 1].ds.down(x)) as tf.Tensor3D;
      skips.push([]);
      for (const block of this.down[l]) { x = block.apply(x, lctx(l), temb, null); skips[l].push(x); }
    }
    for (let l = L - 1; l >= 0; l--) {
      for (const block of this.up[l]) x = block.apply(x, lctx(l), temb, skips[l].pop() as tf.Tensor3D);
      if (l > 0) x = ctx.levels[l - 1].ds.up((this.narrow[l] as Linear).apply(x) as tf.Tensor3D);
    }
    return this.outProj.apply(x) as tf.Tensor3D;
  }
}

/** The context `InftyDiffNetwork.context` builds: kNN-grid (default) or sparse-downsample levels. */
export type NetworkContext = PointContext | SparseContext | AuthorsContext;

/** Per-call options of the network's forward pass. */
export interface NetworkForwardOpts {
  /** an Rng enables dropout (training); null for evaluation */
  dropoutRng: Rng | null;
  /**
   * A conditioning embedding [B, timeEmbDim] added to the time embedding, so it reaches every modulated norm (the
   * sparse blocks' and the U-Net's scale/shift): the diffusion autoencoder's projected z (autoencoder/). Absent for
   * the unconditional model, whose path and parameters it leaves unchanged.
   */
  cond?: tf.Tensor2D;
}

/** The ∞-Diff network (§4): lift, sparse neural-operator blocks on the points, kNN to a grid U-Net and back, projection; or the authors' SparseUNet. */
export class InftyDiffNetwork {
  readonly params: Params;
  /** the authors' SparseUNet when `cfg.arch` is "authors" (then the lab's layers below are not built) */
  readonly authors: AuthorsSparseUNet | null = null;
  private readonly timeMlp1!: Linear;
  private readonly timeMlp2!: Linear;
  private readonly liftIn!: Linear;
  private readonly down: SparseBlock[] = [];
  private readonly toUnet!: Linear;
  private readonly unet!: UNet;
  private readonly fromUnet!: Linear;
  /** the sparse-downsample middle (downsample "sparse"), instead of toUnet → U-Net → fromUnet */
  private readonly levels: SparseLevels | null = null;
  private readonly up: SparseBlock[] = [];
  private readonly out!: Linear;

  constructor(readonly cfg: ModelConfig, rng: Rng) {
    const p = (this.params = new Params(rng));
    if (cfg.arch === "authors") {
      this.authors = new AuthorsSparseUNet(p, cfg);
      return;
    }
    const E = cfg.timeEmbDim, C = cfg.nf, U = cfg.unet.baseChannels;
    this.timeMlp1 = new Linear(p, "time.1", E, E);
    this.timeMlp2 = new Linear(p, "time.2", E, E);
    this.liftIn = new Linear(p, "lift", cfg.channels, C);
    for (let i = 0; i < cfg.sparseBlocks; i++) this.down.push(new SparseBlock(p, `down${i}`, cfg, false));
    if (cfg.downsample === "sparse") this.levels = new SparseLevels(p, "sparse", cfg);
    else {
      this.toUnet = new Linear(p, "toUnet", C, U);
      this.unet = new UNet(p, "unet", { ...cfg.unet, channels: U, embDim: E });
      this.fromUnet = new Linear(p, "fromUnet", U, C);
    }
    for (let i = 0; i < cfg.sparseBlocks; i++) this.up.push(new SparseBlock(p, `up${i}`, cfg, true));
    this.out = new Linear(p, "out", C, cfg.channels);
  }

  /**
   * The context for a coordinate set on `grid` (the grid value, config/grid.ts; made from the model config when not
   * given): kernel sizes and resampling rule are the grid value's.
   */
  context(set: CoordSet, grid?: ModelGrid): NetworkContext {
    const g = modelGridFor(set, this.cfg, grid);
    if (this.authors) return this.authors.context(set, g);
    const { knnNeighbours, knnWeights } = this.cfg;
    if (this.levels) return new SparseContext(set, g, this.levels.kernelSizes, knnNeighbours, knnWeights);
    return new PointContext(set, g, this.cfg.unet.res, knnNeighbours, knnWeights);
  }

  // x [B,M,channels] values of x_t at ctx.set's points, t int32 [B] → [B,M,channels]
  /** The network's output [B, M, C] for values x [B, M, C] at the context's points and timesteps t [B]. */
  apply(x: tf.Tensor3D, ctx: NetworkContext, t: tf.Tensor1D, opts: NetworkForwardOpts): tf.Tensor3D {
    if (this.authors) {
      // their z-conditioned decoder takes z [B, authorsZDim] as `cond`; the unconditional one takes none
      const zDim = this.cfg.authorsZDim;
      if (!zDim && opts.cond) throw new Error("this model of the authors' architecture is unconditional (no z_dim): it takes no conditioning");
      if (zDim && (!opts.cond || opts.cond.shape[1] !== zDim)) throw new Error(`this decoder of the authors' is z-conditioned: it needs z [B, ${zDim}] from their encoder (the forward's cond), which the lab does not import${opts.cond ? `; got [${opts.cond.shape}]` : ""}`);
      return this.authors.apply(x, ctx as AuthorsContext, t, opts.dropoutRng, opts.cond ?? null);
    }
    return tf.tidy(() => {
      const tembT = this.timeMlp2.apply(gelu(this.timeMlp1.apply(sinusoidalEmbedding(t, this.cfg.timeEmbDim)))) as tf.Tensor2D;
      const temb = opts.cond ? (tf.add(tembT, opts.cond) as tf.Tensor2D) : tembT;
      let h = this.liftIn.apply(x) as tf.Tensor3D;
      const skips: tf.Tensor3D[] = [];
      // One tidy per stage: a block's intermediates ([B,M,C]-sized, a dozen of them) are freed as soon as it returns
      // instead of at the end of the forward, so the peak holds one block's working set plus the skips (the large-grid
      // full-grid forward depends on it). Gradients are unaffected: tfjs keeps what the backward pass saved.
      for (const block of this.down) {
        const hin = h;
        h = tf.tidy(() => block.apply(hin, ctx, temb, null));
        skips.push(h);
      }
      const hmid = h;
      if (this.levels) h = tf.tidy(() => (this.levels as SparseLevels).apply(hmid, ctx as SparseContext, temb));
      else {
        const pctx = ctx as PointContext;
        h = tf.tidy(() => {
          const grid = pctx.toGrid.apply(this.toUnet.apply(hmid) as tf.Tensor3D);
          const g = this.unet.apply(grid, temb, opts);
          return this.fromUnet.apply(pctx.fromGrid.apply(g)) as tf.Tensor3D;
        });
      }
      for (const block of this.up) {
        const hin = h, skip = skips.pop() as tf.Tensor3D;
        h = tf.tidy(() => block.apply(hin, ctx, temb, skip));
      }
      return this.out.apply(h) as tf.Tensor3D;
    });
  }

  /** Frees the network's parameters. */
  dispose(): void {
    this.params.dispose();
  }
}

/**
 * The network as a full-grid denoiser for the samplers: (x_t [B,H,W,C], t [B]) → [B,H,W,C] at any H×W. The full
 * grid's points are its cells in raster order, so gathering is a reshape. Optional `cond` [B, timeEmbDim] is passed
 * to every call (the diffusion autoencoder's projected z). Contexts are cached per (B, H, W); call `dispose()` when done.
 */
export class GridDenoiser {
  private readonly contexts = new Map<string, NetworkContext>();
  constructor(readonly net: InftyDiffNetwork, readonly cond: tf.Tensor2D | null = null) {}
  /** The network on a full grid as a sampler's denoiser: x_t [B, H, W, C] and t [B] → output [B, H, W, C]. */
  readonly denoise = (xt: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D => {
    const [B, H, W, C] = xt.shape;
    if (this.cond && this.cond.shape[0] !== B) throw new Error(`cond has batch ${this.cond.shape[0]}, x_t has ${B}`);
    // Large grids go through in chunks of whole images (every layer is per image and sampling draws no dropout, so
    // this is the same function): the forward's working set is ≈ 3 kB per pixel, and the wasm heap is 4 GiB at most.
    const chunk = Math.max(1, Math.min(B, Math.floor(GridDenoiser.maxPixelsPerCall / (H * W))));
    if (chunk >= B) return this.denoiseChunk(xt, t, this.cond);
    return tf.tidy(() => {
      const parts: tf.Tensor4D[] = [];
      for (let b0 = 0; b0 < B; b0 += chunk) {
        const n = Math.min(chunk, B - b0);
        parts.push(tf.tidy(() => this.denoiseChunk(
          tf.slice(xt, [b0, 0, 0, 0], [n, H, W, C]), tf.slice(t, [b0], [n]),
          this.cond ? tf.slice(this.cond, [b0, 0], [n, this.cond.shape[1]]) : null,
        )));
      }
      return tf.concat(parts, 0);
    });
  };
  /** Pixels (batch × H × W) one network call handles; larger batches are split by image. */
  static maxPixelsPerCall = 65536;
  private denoiseChunk(xt: tf.Tensor4D, t: tf.Tensor1D, cond: tf.Tensor2D | null): tf.Tensor4D {
    const [B, H, W, C] = xt.shape;
    const key = `${B}x${H}x${W}`;
    let ctx = this.contexts.get(key);
    if (!ctx) {
      ctx = this.net.context(fullGrid(B, H, W));
      this.contexts.set(key, ctx);
    }
    const c = ctx;
    const opts = { dropoutRng: null, cond: cond ?? undefined };
    return tf.tidy(() => this.net.apply(xt.reshape([B, H * W, C]) as tf.Tensor3D, c, t, opts).reshape([B, H, W, C]) as tf.Tensor4D);
  }
  /** Frees the cached grid contexts. */
  dispose(): void {
    for (const c of this.contexts.values()) c.dispose();
    this.contexts.clear();
  }
}
