/**
 * The authors' grid part ("UNO", samb-t/infty-diff `models/conv_uno.py`, conv_type "conv"), layer for layer: a 1×1
 * lift, per level `blocks` × (ConvBlock, attention where the level's side is listed) with a skip saved after each,
 * a stride-2 3×3 conv down (a plain 3×3 conv at the last level), a middle ConvBlock–attention–ConvBlock, the mirror
 * with concatenated skips and 4×4 stride-2 transposed convs up, then 1×1 → 128 → GELU → 1×1.
 * ConvBlock: LayerNorm → GELU → 3×3 conv → LayerNorm → ·(1 + scale) + shift from GELU→Linear(t) → GELU → dropout →
 * 3×3 conv, plus a 1×1 residual conv where channels change. x [B, res, res, C]
 */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { Params } from "../params";
import { dropout } from "../layers";
import { KindTable, TAttention, TChannelNorm, TConv2d, TConvTranspose2d, TLinear, ZMlp, geluErf } from "./layers";

export interface UnoConfig {
  nin: number;
  nout: number;
  width: number;
  mults: number[];
  blocksPerLevel: number[];
  embDim: number;
  res: number;
  attnRes: number[];
  dropoutRes: number;
  dropout: number;
  /** their z-conditioned decoder: each ConvBlock's `z_mlp` scales by 1 + MLP(z) after the time modulation */
  zDim?: number;
  /** their UNOEncoder: downs and middle only, then a 1×1 conv to nout (no ups, no 128-wide head) */
  encoder?: boolean;
}

class ConvBlock {
  private readonly n1: TChannelNorm;
  private readonly c1: TConv2d;
  private readonly n2: TChannelNorm;
  private readonly c2: TConv2d;
  private readonly time: TLinear;
  private readonly res: TConv2d | null;
  private readonly z: ZMlp | null;
  constructor(p: Params, kinds: KindTable, name: string, readonly nin: number, readonly nout: number, embDim: number, readonly rate: number, zDim?: number) {
    this.n1 = new TChannelNorm(p, kinds, { weight: `${name}.in_layers.0.weight`, bias: `${name}.in_layers.0.bias` }, nin, "channel");
    this.c1 = new TConv2d(p, kinds, `${name}.in_layers.2`, nin, nout, 3);
    this.n2 = new TChannelNorm(p, kinds, { weight: `${name}.norm.weight`, bias: `${name}.norm.bias` }, nout, "channel");
    this.c2 = new TConv2d(p, kinds, `${name}.out_layers.2`, nout, nout, 3);
    this.res = nin !== nout ? new TConv2d(p, kinds, `${name}.res_conv`, nin, nout, 1) : null;
    this.time = new TLinear(p, kinds, `${name}.time.1`, embDim, 2 * nout);
    this.z = zDim ? new ZMlp(p, kinds, `${name}.z_mlp`, zDim, nout) : null;
  }
  // x [B,r,r,nin], emb [B,E], z [B,zDim] or null → [B,r,r,nout]
  apply(x: tf.Tensor4D, emb: tf.Tensor2D | null, rng: Rng | null, z: tf.Tensor2D | null = null): tf.Tensor4D {
    let h = this.c1.apply(geluErf(this.n1.apply(x)) as tf.Tensor4D);
    h = this.n2.apply(h) as tf.Tensor4D;
    const B = x.shape[0], n = this.nout;
    if (emb) { // their encoder passes no t: its `time` layer exists but is not used
      const ts = this.time.apply(geluErf(emb)) as tf.Tensor2D; // [B, 2·nout]: scale first, then shift
      const scale = ts.slice([0, 0], [B, n]).reshape([B, 1, 1, n]), shift = ts.slice([0, n], [B, n]).reshape([B, 1, 1, n]);
      h = tf.add(tf.mul(h, tf.add(scale, 1)), shift) as tf.Tensor4D;
    }
    if (this.z && z) h = tf.mul(h, tf.add(this.z.apply(z).reshape([B, 1, 1, n]), 1)) as tf.Tensor4D;
    h = this.c2.apply(dropout(geluErf(h), this.rate, rng) as tf.Tensor4D);
    return tf.add(h, this.res ? this.res.apply(x) : x) as tf.Tensor4D;
  }
}

type Layer = { block: ConvBlock; attn: TAttention | null };

export class AuthorsUno {
  private readonly fc0: TConv2d;
  private readonly downs: { layers: Layer[]; down: TConv2d }[] = [];
  private readonly mid1: ConvBlock;
  private readonly midAttn: TAttention;
  private readonly mid2: ConvBlock;
  private readonly ups: { layers: Layer[]; up: TConvTranspose2d | TConv2d }[] = [];
  private readonly fc1: TConv2d;
  private readonly fc2: TConv2d | null;

  constructor(p: Params, kinds: KindTable, name: string, readonly cfg: UnoConfig) {
    const { width, mults, embDim } = cfg;
    if (cfg.blocksPerLevel.length !== mults.length) throw new Error(`UNO: ${cfg.blocksPerLevel.length} block counts for ${mults.length} levels`);
    this.fc0 = new TConv2d(p, kinds, `${name}.fc0`, cfg.nin, width, 1);
    const dims = [width, ...mults.map((m) => width * m)];
    const inOut = mults.map((_, i) => [dims[i], dims[i + 1], cfg.blocksPerLevel[i]]);
    let res = cfg.res;
    const rateAt = (r: number) => (r <= cfg.dropoutRes ? cfg.dropout : 0);
    inOut.forEach(([din, dout, nb], l) => {
      const last = l === mults.length - 1;
      const layers: Layer[] = [];
      for (let b = 0; b < nb; b++) {
        const n = `${name}.downs.${l}.0.${b}`;
        layers.push({
          block: new ConvBlock(p, kinds, `${n}.0`, din, din, embDim, rateAt(res), cfg.zDim),
          attn: cfg.attnRes.includes(res) ? new TAttention(p, kinds, `${n}.1`, din) : null,
        });
      }
      this.downs.push({ layers, down: new TConv2d(p, kinds, `${name}.downs.${l}.1`, din, dout, 3, last ? 1 : 2) });
      if (!last) res = Math.floor(res / 2);
    });
    const dmid = dims[dims.length - 1];
    this.mid1 = new ConvBlock(p, kinds, `${name}.mid_block1`, dmid, dmid, embDim, rateAt(res), cfg.zDim);
    this.midAttn = new TAttention(p, kinds, `${name}.mid_attn`, dmid);
    this.mid2 = new ConvBlock(p, kinds, `${name}.mid_block2`, dmid, dmid, embDim, rateAt(res), cfg.zDim);
    if (cfg.encoder) { // UNOEncoder: fc1 maps the middle's channels to nout
      this.fc1 = new TConv2d(p, kinds, `${name}.fc1`, dmid, cfg.nout, 1);
      this.fc2 = null;
      return;
    }
    [...inOut].reverse().forEach(([din, dout, nb], l) => {
      const last = l === mults.length - 1;
      const layers: Layer[] = [];
      for (let b = 0; b < nb; b++) {
        const n = `${name}.ups.${l}.0.${b}`;
        layers.push({
          block: new ConvBlock(p, kinds, `${n}.0`, dout + din, dout, embDim, rateAt(res), cfg.zDim),
          attn: cfg.attnRes.includes(res) ? new TAttention(p, kinds, `${n}.1`, dout) : null,
        });
      }
      const un = `${name}.ups.${l}.1`;
      this.ups.push({ layers, up: last ? new TConv2d(p, kinds, un, dout, din, 3) : new TConvTranspose2d(p, kinds, un, dout, din) });
      if (!last) res *= 2;
    });
    this.fc1 = new TConv2d(p, kinds, `${name}.fc1`, width, 128, 1);
    this.fc2 = new TConv2d(p, kinds, `${name}.fc2`, 128, cfg.nout, 1);
  }

  // x [B,res,res,nin], emb [B,E] (null in the encoder), z [B,zDim] (z-conditioned decoder) → [B,res,res,nout]
  // (the encoder: [B, res/2^(levels−1), …, nout]); an Rng turns dropout on
  apply(x: tf.Tensor4D, emb: tf.Tensor2D | null, rng: Rng | null, z: tf.Tensor2D | null = null): tf.Tensor4D {
    let h = this.fc0.apply(x);
    const skips: tf.Tensor4D[] = [];
    for (const { layers, down } of this.downs) {
      for (const { block, attn } of layers) {
        h = block.apply(h, emb, rng, z);
        if (attn) h = attn.apply(h);
        skips.push(h);
      }
      h = down.apply(h);
    }
    h = this.mid2.apply(this.midAttn.apply(this.mid1.apply(h, emb, rng, z)), emb, rng, z);
    if (!this.fc2) return this.fc1.apply(h);
    for (const { layers, up } of this.ups) {
      for (const { block, attn } of layers) {
        h = block.apply(tf.concat([h, skips.pop() as tf.Tensor4D], 3), emb, rng, z);
        if (attn) h = attn.apply(h);
      }
      h = up.apply(h);
    }
    return this.fc2.apply(geluErf(this.fc1.apply(h)) as tf.Tensor4D);
  }
}
