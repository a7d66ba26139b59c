/**
 * The latent diffusion model of the diffusion autoencoder (Preechakul et al. 2022 §3.3, "latent DDIM"): an MLP on
 * z [B, D] with the image model's noise schedule and T = I, predicting ε or v = √ᾱ·ε − √(1−ᾱ)·z. Sampling reuses the
 * lab's DDIM with z laid out as a 1×D "image" [B,1,D,1] and the identity mollifier.
 *
 * Why v by default: under the cosine schedule ᾱ at t = T−1 is 2.4e−9, so an ε-predictor's estimate
 * ẑ₀ = (z_t − √(1−ᾱ)ε̂)/√ᾱ multiplies its error by ~2·10⁴ at the first DDIM step (the image model escapes this by
 * clipping Tx̂₀ to the data range; latents have no range). v gives ẑ₀ = √ᾱ·z_t − √(1−ᾱ)·v̂, bounded at every t.
 */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { Params } from "../../nn/params";
import { LayerNorm, Linear, sinusoidalEmbedding, silu } from "../../nn/layers";
import { Mollifier } from "../../diffusion/mollifier";
import { Schedule, spacedTimesteps } from "../../diffusion/schedules";
import { runSampler } from "../sampling";
import { alphaBar } from "../../diffusion/schedules";
import { mse, ParameterisationName } from "../../diffusion/parameterisations";

/** The parameterisations the latent model offers (a subset of diffusion/parameterisations.ts's registry). */
export const LATENT_TARGETS = ["eps", "v"] as const satisfies readonly ParameterisationName[];
/** What the latent model predicts: ε, or v (default; stable at the cosine schedule's last steps). */
export type LatentTarget = (typeof LATENT_TARGETS)[number];

/** The MLP diffusion model on the autoencoder's latents z. */
export class LatentDenoiser {
  readonly params: Params;
  private readonly inp: Linear;
  private readonly temb: Linear;
  private readonly layers: Array<{ norm: LayerNorm; mod: Linear; lin: Linear }> = [];
  private readonly out: Linear;
  constructor(readonly zDim: number, readonly width: number, depth: number, rng: Rng, readonly target: LatentTarget = "v") {
    const p = (this.params = new Params(rng));
    this.inp = new Linear(p, "lat.in", zDim, width);
    this.temb = new Linear(p, "lat.temb", width, width);
    for (let i = 0; i < depth; i++) {
      this.layers.push({ norm: new LayerNorm(p, `lat.${i}.norm`, width), mod: new Linear(p, `lat.${i}.mod`, width, 2 * width), lin: new Linear(p, `lat.${i}.lin`, width, width) });
    }
    this.out = new Linear(p, "lat.out", width, zDim, { zeroInit: true });
  }
  // z_t [B, D], t int32 [B] → ε̂ [B, D]; residual MLP with scale/shift by t
  /** The prediction (ε or v) [B, zDim] for noisy latents zt at timesteps t. */
  apply(zt: tf.Tensor2D, t: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const e = silu(this.temb.apply(sinusoidalEmbedding(t, this.width)));
      let h = this.inp.apply(zt);
      for (const { norm, mod, lin } of this.layers) {
        const [sc, sh] = tf.split(mod.apply(e), 2, 1);
        h = tf.add(h, lin.apply(silu(tf.add(tf.mul(norm.apply(h), tf.add(sc, 1)), sh))));
      }
      return this.out.apply(h) as tf.Tensor2D;
    });
  }
  /** Training loss at clean latents z [B, D], timesteps t, noise ε [B, D]: mse to ε or to v. */
  loss(z: tf.Tensor2D, t: readonly number[], eps: tf.Tensor2D, schedule: Schedule): tf.Scalar {
    return tf.tidy(() => {
      const a = tf.tensor2d(t.map((s) => Math.sqrt(alphaBar(schedule, s))), [t.length, 1]);
      const b = tf.tensor2d(t.map((s) => Math.sqrt(1 - alphaBar(schedule, s))), [t.length, 1]);
      const zt = tf.add(tf.mul(a, z), tf.mul(b, eps)) as tf.Tensor2D;
      const want = this.target === "v" ? tf.sub(tf.mul(a, eps), tf.mul(b, z)) : eps;
      return mse(this.apply(zt, tf.tensor1d(t as number[], "int32")), want as tf.Tensor2D);
    });
  }
  /** Draws n latents by DDIM (η = 0) from N(0, I). */
  async sample(n: number, schedule: Schedule, rng: Rng, steps = 50): Promise<tf.Tensor2D> {
    const D = this.zDim;
    const mol = Mollifier.identity();
    const xT = rng.normalTensor<tf.Rank.R4>([n, 1, D, 1]);
    try {
      const denoise = (x: tf.Tensor4D, t: tf.Tensor1D) => tf.tidy(() => this.apply(x.reshape([n, D]), t).reshape([n, 1, D, 1]) as tf.Tensor4D);
      // the pipeline's sampler step on a 1×D "grid" with T = I, c = 1 and no clipping (latents are unbounded)
      const res = await runSampler("ddim", denoise, xT, spacedTimesteps(schedule.T, steps), { schedule, mollifier: mol, parameterisation: this.target, noiseMultiplier: 1, clipTx0: false });
      const z = res.Tx0.reshape([n, D]) as tf.Tensor2D;
      tf.dispose([res.Tx0, res.x0]);
      return z;
    } finally {
      xT.dispose();
      mol.dispose();
    }
  }
  /** Frees the MLP's parameters. */
  dispose(): void {
    this.params.dispose();
  }
}
