/**
 * The grid part of the ∞-Diff network (Fig. 4, centre): a time-conditioned U-Net in the style of Nichol & Dhariwal
 * (2021) at a fixed resolution — residual blocks with scale/shift modulation, attention at the lowest resolutions and
 * in the middle, dropout there, average-pool down / nearest up. Appendix A: the paper uses this architecture "fixed at
 * a resolution" and leaves resolution changes to the sparse operators.
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { Params } from "./params";
import { Conv2d, GroupNorm, Linear, avgPool2, dropout, silu, upsampleNearest2 } from "./layers";
import { groupNormSilu } from "./fused-norm";
import { addSame } from "./lean-ops";
import type { UNetConfig } from "../config/config";

// UNetConfig is part of the validated config (config.ts); the network layer imports config, never the reverse.
export type { UNetConfig };

/** Per-call options: an Rng turns dropout on (training); null means evaluation. */
export interface ForwardOpts {
  dropoutRng: Rng | null;
}

class ResBlock {
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly emb: Linear;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  private readonly skip: Conv2d | null;
  constructor(p: Params, name: string, cin: number, readonly cout: number, embDim: number, groups: number,
    private readonly dropRate: number) {
    this.norm1 = new GroupNorm(p, `${name}.norm1`, cin, Math.min(groups, cin));
    this.conv1 = new Conv2d(p, `${name}.conv1`, cin, cout, 3);
    this.emb = new Linear(p, `${name}.emb`, embDim, 2 * cout);
    this.norm2 = new GroupNorm(p, `${name}.norm2`, cout, Math.min(groups, cout));
    // zero-initialised last conv: each block starts as the identity (guided-diffusion)
    this.conv2 = new Conv2d(p, `${name}.conv2`, cout, cout, 3, { zeroInit: true });
    this.skip = cin === cout ? null : new Conv2d(p, `${name}.skip`, cin, cout, 1);
  }
  // x [B,H,W,cin], emb [B,E] → [B,H,W,cout]
  apply(x: tf.Tensor4D, emb: tf.Tensor2D, opts: ForwardOpts): tf.Tensor4D {
    // GroupNorm → (modulation) → SiLU fused (fused-norm.ts): same function, a fraction of the ops and saved tensors
    const n1 = this.norm1, n2 = this.norm2;
    let h = this.conv1.apply(groupNormSilu(x, n1.gamma, n1.beta, n1.groups, n1.eps));
    const ss = this.emb.apply(silu(emb)).reshape([-1, 1, 1, 2 * this.cout]);
    const [scale, shift] = tf.split(ss, 2, 3);
    h = dropout(groupNormSilu(h, n2.gamma, n2.beta, n2.groups, n2.eps, scale, shift), this.dropRate, opts.dropoutRng) as tf.Tensor4D;
    h = this.conv2.apply(h);
    return addSame(this.skip ? this.skip.apply(x) : x, h);
  }
}

class Attention {
  private readonly norm: GroupNorm;
  private readonly qkv: Linear;
  private readonly proj: Linear;
  constructor(p: Params, name: string, readonly channels: number, groups: number, readonly heads = 1) {
    this.norm = new GroupNorm(p, `${name}.norm`, channels, Math.min(groups, channels));
    this.qkv = new Linear(p, `${name}.qkv`, channels, 3 * channels);
    this.proj = new Linear(p, `${name}.proj`, channels, channels, { zeroInit: true });
  }
  // x [B,H,W,C] → same; softmax(q·kᵀ/√d)·v over the H·W tokens
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [B, H, W, C] = x.shape;
    const N = H * W, d = C / this.heads;
    const qkv = this.qkv.apply(this.norm.apply(x).reshape([B, N, C]));
    const split = (i: number) =>
      qkv.slice([0, 0, i * C], [B, N, C]).reshape([B, N, this.heads, d]).transpose([0, 2, 1, 3]).reshape([B * this.heads, N, d]) as tf.Tensor3D;
    const q = split(0), k = split(1), v = split(2);
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)));
    const o = tf.matMul(att, v).reshape([B, this.heads, N, d]).transpose([0, 2, 1, 3]).reshape([B, N, C]);
    return tf.add(x, this.proj.apply(o).reshape([B, H, W, C])) as tf.Tensor4D;
  }
}

/** The grid U-Net at the heart of the network: residual blocks with time modulation, attention at chosen resolutions. */
export class UNet {
  private readonly convIn: Conv2d;
  private readonly down: Array<{ block?: ResBlock; attn?: Attention; pool?: true }> = [];
  private readonly mid: [ResBlock, Attention, ResBlock];
  private readonly up: Array<{ block?: ResBlock; attn?: Attention; upsample?: true }> = [];
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(p: Params, name: string, readonly cfg: UNetConfig) {
    const { baseChannels: base, mults, blocksPerLevel, groups, embDim } = cfg;
    for (let i = 0; i < mults.length; i++) {
      if (cfg.res % 2 ** i !== 0) throw new Error(`U-Net: res ${cfg.res} not divisible by 2^${i}`);
    }
    const dropAt = (r: number) => (r <= cfg.dropoutRes ? cfg.dropout : 0);
    this.convIn = new Conv2d(p, `${name}.in`, cfg.channels, base, 3);
    const skipChannels: number[] = [base];
    let ch = base;
    let r = cfg.res;
    for (let lvl = 0; lvl < mults.length; lvl++) {
      for (let j = 0; j < blocksPerLevel; j++) {
        const block = new ResBlock(p, `${name}.down${lvl}.${j}`, ch, base * mults[lvl], embDim, groups, dropAt(r));
        ch = block.cout;
        const attn = cfg.attnRes.includes(r) ? new Attention(p, `${name}.down${lvl}.${j}.attn`, ch, groups) : undefined;
        this.down.push({ block, attn });
        skipChannels.push(ch);
      }
      if (lvl < mults.length - 1) {
        this.down.push({ pool: true });
        skipChannels.push(ch);
        r /= 2;
      }
    }
    this.mid = [
      new ResBlock(p, `${name}.mid.0`, ch, ch, embDim, groups, dropAt(r)),
      new Attention(p, `${name}.mid.attn`, ch, groups),
      new ResBlock(p, `${name}.mid.1`, ch, ch, embDim, groups, dropAt(r)),
    ];
    for (let lvl = mults.length - 1; lvl >= 0; lvl--) {
      for (let j = 0; j <= blocksPerLevel; j++) {
        const skip = skipChannels.pop() as number;
        const block = new ResBlock(p, `${name}.up${lvl}.${j}`, ch + skip, base * mults[lvl], embDim, groups, dropAt(r));
        ch = block.cout;
        const attn = cfg.attnRes.includes(r) ? new Attention(p, `${name}.up${lvl}.${j}.attn`, ch, groups) : undefined;
        this.up.push({ block, attn });
      }
      if (lvl > 0) {
        this.up.push({ upsample: true });
        r *= 2;
      }
    }
    this.normOut = new GroupNorm(p, `${name}.normOut`, ch, Math.min(groups, ch));
    this.convOut = new Conv2d(p, `${name}.out`, ch, cfg.channels, 3, { zeroInit: true });
  }

  // x [B,res,res,channels], emb [B,embDim] → [B,res,res,channels]
  /** The U-Net's output [B, H, W, C] for x [B, H, W, C] and the time embedding emb [B, D]. */
  apply(x: tf.Tensor4D, emb: tf.Tensor2D, opts: ForwardOpts): tf.Tensor4D {
    if (x.shape[1] !== this.cfg.res || x.shape[2] !== this.cfg.res) {
      throw new Error(`U-Net expects a ${this.cfg.res}×${this.cfg.res} grid, got ${x.shape[1]}×${x.shape[2]}`);
    }
    let h = this.convIn.apply(x);
    const skips: tf.Tensor4D[] = [h];
    for (const s of this.down) {
      if (s.pool) h = avgPool2(h);
      else {
        h = s.block!.apply(h, emb, opts);
        if (s.attn) h = s.attn.apply(h);
      }
      skips.push(h);
    }
    h = this.mid[0].apply(h, emb, opts);
    h = this.mid[1].apply(h);
    h = this.mid[2].apply(h, emb, opts);
    for (const s of this.up) {
      if (s.upsample) {
        h = upsampleNearest2(h);
        continue;
      }
      h = s.block!.apply(tf.concat([h, skips.pop() as tf.Tensor4D], 3) as tf.Tensor4D, emb, opts);
      if (s.attn) h = s.attn.apply(h);
    }
    return this.convOut.apply(silu(this.normOut.apply(h)) as tf.Tensor4D);
  }
}
