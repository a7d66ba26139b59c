/**
 * The other half of the authors' autoencoder (samb-t/infty-diff `models/model_sparse.py` SparseEncoder with
 * `conv_uno.py` UNOEncoder), which every published config trains beside the z-conditioned decoder: an image (any
 * coordinate set of the r₀ grid) → z [B, zDim]. Linear lift → `num_conv_blocks` sparse blocks run without t or z →
 * Linear → kNN onto the UNO grid → the UNO's downs and middle → 1×1 conv to zDim → mean over the grid → Linear.
 * Their blocks and ConvBlocks carry time layers (embedding width nf) that this forward never uses; they are imported
 * and exported all the same, so the state_dict round-trips. Without t the backends compute different encoders (see
 * SparseConvResBlock.apply). Their stochastic encoder (mu, logvar) is not supported.
 */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { ModelConfig } from "../../config/config";
import { modelGrid } from "../../config/grid";
import { CoordSet, fullGrid } from "../../coords/coordinates";
import { applyPointTable } from "../../runtime/point-table";
import { Params } from "../params";
import { KindTable, TLinear } from "./layers";
import { AuthorsContext, AuthorsSparseUNet, SparseConvResBlock } from "./sparse-unet";
import { AuthorsUno } from "./uno";

/** The checkpoint group holding an imported encoder (`infty import --encoder-weights`) beside the decoder's `ema`. */
export const AUTHORS_ENCODER_GROUP = "authorsEncoder";

/** The encoder of the authors' autoencoder configuration (their layer names), mapping points to z. */
export class AuthorsEncoder {
  readonly params: Params;
  readonly kinds: KindTable = new Map();
  readonly zDim: number;
  private readonly linIn: TLinear;
  private readonly linOut: TLinear;
  private readonly blocks: SparseConvResBlock[] = [];
  private readonly unoIn: TLinear;
  private readonly uno: AuthorsUno;

  /** `cfg`: the decoder's model config (arch "authors" with authorsZDim); the encoder shares its sizes */
  /** `params`: where its tensors are made (default: new Params(rng)) */
  constructor(readonly cfg: ModelConfig, rng: Rng, params?: Params) {
    if (cfg.arch !== "authors" || !cfg.authorsZDim) throw new Error("the authors' encoder goes with a z-conditioned decoder of theirs (model.authorsZDim)");
    this.zDim = cfg.authorsZDim;
    this.params = params ?? new Params(rng);
    const p = this.params, k = this.kinds, C = cfg.nf, U = cfg.unet.baseChannels, u = cfg.unet, backend = cfg.authorsBackend ?? "torch_dense";
    // construction order = their state_dict's order
    this.linIn = new TLinear(p, k, "linear_in", cfg.channels, C);
    this.linOut = new TLinear(p, k, "linear_out", this.zDim, this.zDim);
    for (let i = 0; i < cfg.sparseBlocks; i++) this.blocks.push(new SparseConvResBlock(p, k, `down_blocks.${i}`, C, cfg.kernelSize, C, false, backend));
    this.unoIn = new TLinear(p, k, "uno_linear_in", C, U);
    this.uno = new AuthorsUno(p, k, "uno", {
      nin: U, nout: this.zDim, width: U, mults: u.mults, blocksPerLevel: u.mults.map(() => u.blocksPerLevel), embDim: C, res: u.res,
      attnRes: u.attnRes, dropoutRes: u.dropoutRes, dropout: u.dropout, encoder: true,
    });
  }

  /** The point context the encoder needs for a coordinate set. */
  context(set: CoordSet): AuthorsContext {
    return new AuthorsContext(set, modelGrid(this.cfg, [set.H, set.W]), this.cfg.unet.res, this.cfg.knnNeighbours, AuthorsSparseUNet.KNN_POWER, this.cfg.kernelSize);
  }

  // x [B,M,channels] (an image's values at ctx's points, in [−1, 1]) → z [B, zDim]
  /** z [B, zDim] for values x [B, M, C] at the context's points. */
  apply(x: tf.Tensor3D, ctx: AuthorsContext): tf.Tensor2D {
    return tf.tidy(() => {
      let h = this.linIn.apply(x) as tf.Tensor3D;
      for (const b of this.blocks) h = b.apply(h, ctx, null, null, null);
      const U = this.cfg.unet.res, B = x.shape[0];
      const grid = applyPointTable(ctx.toGrid, this.unoIn.apply(h) as tf.Tensor3D).reshape([B, U, U, -1]) as tf.Tensor4D;
      const g = this.uno.apply(grid, null, null);
      return this.linOut.apply(tf.mean(g, [1, 2])) as tf.Tensor2D;
    });
  }

  /** images NHWC [n, H, W, channels] in [−1, 1] (the full H×W grid) → z [n, zDim], `batch` images at a time */
  encodeImages(images: Float32Array, n: number, H: number, W: number, batch = 16): Float32Array {
    const C = this.cfg.channels, per = H * W * C, out = new Float32Array(n * this.zDim);
    if (images.length !== n * per) throw new Error(`images: ${images.length} values for ${n}×${H}×${W}×${C}`);
    for (let s = 0; s < n; s += batch) {
      const b = Math.min(batch, n - s);
      const ctx = this.context(fullGrid(b, H, W));
      try {
        const z = tf.tidy(() => this.apply(tf.tensor3d(images.subarray(s * per, (s + b) * per), [b, H * W, C]), ctx).dataSync() as Float32Array);
        out.set(z, s * this.zDim);
      } finally {
        ctx.dispose();
      }
    }
    return out;
  }

  /** Frees the encoder's parameters. */
  dispose(): void {
    this.params.dispose();
  }
}
