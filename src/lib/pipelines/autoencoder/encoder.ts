/**
 * The diffusion autoencoder's encoder (∞-Diff §5, App. A; Preechakul et al. 2022): the first half of the ∞-Diff
 * architecture on the clean image — pointwise lift → sparse residual blocks on a (fresh random) coordinate subset →
 * kNN to the fixed grid → the U-Net's down path (residual conv blocks, 2×2 average pools) → mean pool → z.
 * It runs on any coordinate subset at any resolution (kernels resampled as in the network) and always returns
 * z [B, zDim] (with logσ² [B, zDim] when stochastic).
 *
 * Declared duplication: the encoder's sparse block is the network's SparseBlock without time modulation, and its
 * conv blocks are U-Net ResBlocks without the time embedding; neither class is exported by nn/, and the encoder
 * sees the clean image, so there is no t to modulate by.
 */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import type { ModelConfig } from "../../config/config";
import { CoordSet } from "../../coords/coordinates";
import { PointContext } from "../../nn/network";
import { Params, fanInUniform } from "../../nn/params";
import { Conv2d, GroupNorm, LayerNorm, Linear, avgPool2, gelu, silu } from "../../nn/layers";
import { sparseDepthwiseConv } from "../../operators/sparse-conv";
import { resampleKernel } from "../../operators/kernel-resample";
import { ModelGrid, modelGridFor } from "../../config/grid";

/** The encoder's latent distribution: mean and log-variance. */
export interface EncoderOutput {
  /** the latent mean [B, zDim] */
  mu: tf.Tensor2D;
  /** log-variance [B, zDim] (stochastic encoder only) */
  logvar: tf.Tensor2D | null;
}

class EncoderSparseBlock {
  private readonly norm1: LayerNorm;
  private readonly kernel: tf.Variable;
  private readonly bias: tf.Variable;
  private readonly norm2: LayerNorm;
  private readonly mlp1: Linear;
  private readonly mlp2: Linear;
  constructor(p: Params, name: string, readonly C: number, readonly k: number, mult: number) {
    this.norm1 = new LayerNorm(p, `${name}.norm1`, C);
    this.kernel = p.create(`${name}.op.kernel0`, [k, k, C], fanInUniform(k * k));
    this.bias = p.create(`${name}.op.bias0`, [C], { kind: "zeros" });
    this.norm2 = new LayerNorm(p, `${name}.norm2`, C);
    this.mlp1 = new Linear(p, `${name}.mlp1`, C, mult * C);
    this.mlp2 = new Linear(p, `${name}.mlp2`, mult * C, C, { zeroInit: true });
  }
  // x [B,M,C] on ctx.set → [B,M,C]; x += Op(LN(x)); x += MLP(LN(x))  (∞-Diff App. A block, unmodulated)
  apply(x: tf.Tensor3D, ctx: PointContext): tf.Tensor3D {
    const { r0, resolution: r, kernelResampling } = ctx.grid;
    const kernel = r === r0 ? (this.kernel as unknown as tf.Tensor3D) : resampleKernel(this.kernel as unknown as tf.Tensor3D, r0, r, kernelResampling);
    x = tf.add(x, sparseDepthwiseConv(this.norm1.apply(x) as tf.Tensor3D, ctx.kmap, kernel, this.bias as unknown as tf.Tensor1D)) as tf.Tensor3D;
    return tf.add(x, this.mlp2.apply(gelu(this.mlp1.apply(this.norm2.apply(x))))) as tf.Tensor3D;
  }
}

class ConvBlock {
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  private readonly skip: Conv2d | null;
  constructor(p: Params, name: string, cin: number, readonly cout: number, groups: number) {
    this.norm1 = new GroupNorm(p, `${name}.norm1`, cin, Math.min(groups, cin));
    this.conv1 = new Conv2d(p, `${name}.conv1`, cin, cout, 3);
    this.norm2 = new GroupNorm(p, `${name}.norm2`, cout, Math.min(groups, cout));
    this.conv2 = new Conv2d(p, `${name}.conv2`, cout, cout, 3, { zeroInit: true });
    this.skip = cin === cout ? null : new Conv2d(p, `${name}.skip`, cin, cout, 1);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const h = this.conv2.apply(silu(this.norm2.apply(this.conv1.apply(silu(this.norm1.apply(x)) as tf.Tensor4D))) as tf.Tensor4D);
    return tf.add(this.skip ? this.skip.apply(x) : x, h) as tf.Tensor4D;
  }
}

/** The autoencoder's encoder: sparse blocks on the visible points, a grid, the U-Net's down path, pooled to z. */
export class Encoder {
  readonly params: Params;
  private readonly lift: Linear;
  private readonly blocks: EncoderSparseBlock[] = [];
  private readonly toGrid: Linear;
  private readonly convIn: Conv2d;
  private readonly levels: ConvBlock[][] = [];
  private readonly normOut: GroupNorm;
  private readonly head: Linear;

  constructor(readonly model: ModelConfig, readonly zDim: number, readonly stochastic: boolean, rng: Rng, blocks = model.sparseBlocks) {
    const p = (this.params = new Params(rng));
    const C = model.nf, U = model.unet.baseChannels, G = model.unet.groups;
    this.lift = new Linear(p, "enc.lift", model.channels, C);
    for (let i = 0; i < blocks; i++) this.blocks.push(new EncoderSparseBlock(p, `enc.down${i}`, C, model.kernelSize, model.mlpMult));
    this.toGrid = new Linear(p, "enc.toUnet", C, U);
    this.convIn = new Conv2d(p, "enc.unet.in", U, U, 3);
    let ch = U;
    model.unet.mults.forEach((m, l) => {
      const level: ConvBlock[] = [];
      for (let j = 0; j < model.unet.blocksPerLevel; j++) {
        const b = new ConvBlock(p, `enc.unet.down${l}.${j}`, ch, U * m, G);
        ch = b.cout;
        level.push(b);
      }
      this.levels.push(level);
    });
    this.normOut = new GroupNorm(p, "enc.normOut", ch, Math.min(G, ch));
    this.head = new Linear(p, "enc.head", ch, stochastic ? 2 * zDim : zDim);
  }

  /** The context for a coordinate set: the grid value's kernel map (config/grid.ts, as the network's) and grid tables. */
  context(set: CoordSet, grid?: ModelGrid): PointContext {
    const { knnNeighbours, knnWeights } = this.model;
    return new PointContext(set, modelGridFor(set, this.model, grid), this.model.unet.res, knnNeighbours, knnWeights);
  }

  // x [B,M,channels] clean values at ctx.set's points → z [B, zDim] (and logσ²)
  /** z's distribution for values x [B, M, C] at the context's points. */
  apply(x: tf.Tensor3D, ctx: PointContext): EncoderOutput {
    const out = tf.tidy(() => {
      let h = this.lift.apply(x) as tf.Tensor3D;
      for (const b of this.blocks) h = b.apply(h, ctx);
      let g = this.convIn.apply(ctx.toGrid.apply(this.toGrid.apply(h) as tf.Tensor3D));
      this.levels.forEach((level, l) => {
        for (const b of level) g = b.apply(g);
        if (l < this.levels.length - 1) g = avgPool2(g);
      });
      const pooled = tf.mean(silu(this.normOut.apply(g)), [1, 2]) as tf.Tensor2D; // [B, ch]
      return this.head.apply(pooled) as tf.Tensor2D;
    });
    if (!this.stochastic) return { mu: out, logvar: null };
    const [mu, logvar] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    out.dispose();
    return { mu, logvar };
  }

  /** Frees the encoder's parameters. */
  dispose(): void {
    this.params.dispose();
  }
}
