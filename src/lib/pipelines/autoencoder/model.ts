/**
 * The diffusion autoencoder (∞-Diff §5 and App. A; Preechakul et al. 2022): encoder (encoder.ts) → z → the ∞-Diff
 * denoiser conditioned on z, plus a latent diffusion model on z (latent.ts), trained jointly:
 *
 *   loss = mse(f_θ(x_t, t | z), Tξ) at a random coordinate subset   (the network's Eq. 46 loss, z from a fresh subset)
 *        + klWeight · KL(q(z|x) ‖ N(0, I))                         (stochastic encoder only)
 *   latent: mse(ε_ψ(√ᾱ_s z + √(1−ᾱ_s) ε, s), ε) on z held fixed    (a separate Adam step, as DiffAE trains it apart)
 *
 * z enters the decoder as cond = W_z z + b added to the time embedding (NetworkForwardOpts.cond), so it scales and
 * shifts every modulated norm of the sparse blocks and the U-Net: the decoder keeps the unconditional network's
 * parameter names exactly; W_z lives with the encoder. Declared divergences from DiffAE: z is added to the time
 * embedding (as guided-diffusion's class embedding) rather than a separate multiplicative AdaGN factor; no latent
 * normalisation; no EMA (the saved weights are the trained ones).
 *
 * Training mirrors train.ts — same data, schedule, mollifier, coordinate subsets, Adam settings, learning rate and
 * atomic resumable checkpoints — in its own file (autoencoder.ckpt) so the unconditional trainer is untouched.
 */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { LabConfig, resolveStoredConfig, ConfigError } from "../../config/config";
import { InftyDiffNetwork } from "../../nn/network";
import { ParamTensors } from "../../nn/params";
import { Linear } from "../../nn/layers";
import { uniformSubset, gatherPoints, fullGrid, CoordSet } from "../../coords/coordinates";
import { loadCheckpoint } from "../../runtime/checkpoint";
import { Encoder } from "./encoder";
import { LatentDenoiser } from "./latent";
import { AutoencoderConfig } from "./config";

/**
 * The weights (EMA when present) of the unconditional checkpoint `file`, checked as a warm start for a run with
 * config `cfg`: an autoencoder checkpoint or another model config is an error naming the file.
 */
export function warmStartWeights(file: string, cfg: LabConfig): ParamTensors {
  const ck = loadCheckpoint(file);
  if (ck.meta.kind === "infty-diff-autoencoder") throw new Error(`${file} is an autoencoder checkpoint; a warm start takes an unconditional one`);
  const group = ck.groups.ema ? "ema" : "params";
  if (!ck.groups[group]) throw new Error(`${file} has no weights`);
  if (JSON.stringify(resolveStoredConfig(ck.meta.config).model) !== JSON.stringify(cfg.model)) throw new Error(`${file} has another model config than this run`);
  return ck.groups[group];
}

/** Encoder, z-projection, conditioned decoder and latent model, with one seeded initialisation. */
export class DiffusionAutoencoder {
  readonly net: InftyDiffNetwork;
  readonly encoder: Encoder;
  /** W_z: z [B, zDim] → cond [B, timeEmbDim] */
  readonly zProj: Linear;
  latent: LatentDenoiser;
  constructor(readonly cfg: LabConfig, public ae: AutoencoderConfig, rng: Rng) {
    if (cfg.model.arch === "authors") throw new ConfigError("config model.arch: the diffusion autoencoder needs the lab's network (\"authors\" takes no z)");
    this.net = new InftyDiffNetwork(cfg.model, rng.fork());
    this.encoder = new Encoder(cfg.model, ae.zDim, ae.klWeight > 0, rng.fork(), ae.encoderBlocks);
    this.zProj = new Linear(this.encoder.params, "enc.zproj", ae.zDim, cfg.model.timeEmbDim);
    this.latent = new LatentDenoiser(ae.zDim, ae.latentWidth, ae.latentDepth, rng.fork(), ae.latentTarget);
  }
  /** z [B, zDim] → the decoder's conditioning embedding [B, timeEmbDim] */
  condition(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.zProj.apply(z) as tf.Tensor2D);
  }
  /**
   * z (the posterior mean) of images [B,H,W,C] at any resolution, from all pixels or, with `subset`, a random
   * fraction of them.
   */
  encode(images: tf.Tensor4D, subset?: { rng: Rng; ratio: number }): tf.Tensor2D {
    const [B, H, W] = images.shape;
    const set: CoordSet = subset ? uniformSubset(subset.rng, B, H, W, { ratio: subset.ratio }) : fullGrid(B, H, W);
    const ctx = this.encoder.context(set);
    try {
      const pts = gatherPoints(images, set);
      const { mu, logvar } = this.encoder.apply(pts, ctx);
      tf.dispose([pts, logvar as tf.Tensor | null].filter((t): t is tf.Tensor => t !== null));
      return mu;
    } finally {
      ctx.dispose();
    }
  }
  /** Frees the encoder, decoder and latent model. */
  dispose(): void {
    this.net.dispose();
    this.encoder.dispose();
    this.latent.dispose();
  }
}
