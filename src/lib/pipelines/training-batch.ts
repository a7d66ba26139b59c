/**
 * The one training-batch recipe that both trainers (train.ts's Trainer, autoencoder/'s AutoencoderTrainer) use
 * (∞-Diff §3.1, §3.2, Eq. 46): draw images, timesteps and a fresh coordinate subset per image, draw white noise ξ,
 * build x_t = √ᾱ_t·Tx₀ + √(1−ᾱ_t)·Tξ on the full grid (Eq. 11), and gather x_t and the parameterisation's target at
 * the subset. The draws come from the caller's Rng in a fixed order, so a seed fixes the batch.
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import type { LabConfig } from "../config/config";
import type { DiffusionProcess } from "../config/grid";
import { CoordSet, gatherPoints, qmcSubset, uniformSubset } from "../coords/coordinates";
import { qSample } from "../diffusion/forward";
import { parameterisation } from "../diffusion/parameterisations";
import { ImageSet, imageBatch } from "../data/image-ops";
import { Params } from "../nn/params";

/** Throws unless the training images [N, r₀, r₀, C] match the model's grid and channels. */
export function checkTrainingImages(cfg: LabConfig, data: ImageSet): void {
  const [, h, w, c] = data.shape, r = cfg.model.resolution;
  if (h !== r || w !== r || c !== cfg.model.channels) {
    throw new Error(`training images are ${h}×${w}×${c}, the model expects ${r}×${r}×${cfg.model.channels}`);
  }
}

/** Which images, which timesteps, which points: B = cfg.train.batchSize each. */
export interface BatchPoints {
  /** image indices [B] */
  idx: number[];
  /** timesteps [B] in 0…T−1 */
  ts: number[];
  /** a coordinate subset of the r₀×r₀ grid per image (cfg.train.coordSampler, cfg.train.coordRatio) */
  set: CoordSet;
}

/** Draws a batch's images, timesteps and coordinate subsets from `rng`, in that order. */
export function drawBatchPoints(cfg: LabConfig, nImages: number, T: number, rng: Rng): BatchPoints {
  const B = cfg.train.batchSize, r = cfg.model.resolution;
  const idx = Array.from({ length: B }, () => rng.int(nImages));
  const ts = Array.from({ length: B }, () => rng.int(T));
  const size = { ratio: cfg.train.coordRatio };
  const set = cfg.train.coordSampler === "qmc" ? qmcSubset(rng, B, r, r, size) : uniformSubset(rng, B, r, r, size);
  return { idx, ts, set };
}

/** The batch's white noise ξ [B, r₀, r₀, C] (the caller disposes it). */
export function drawBatchNoise(cfg: LabConfig, rng: Rng): tf.Tensor4D {
  const r = cfg.model.resolution;
  return rng.normalTensor<tf.Rank.R4>([cfg.train.batchSize, r, r, cfg.model.channels]);
}

/**
 * The network's input x_t (Eq. 11) and the parameterisation's target (Tξ for mollified ε, Eq. 46) at the batch's
 * points, [B,M,C] each, built on the full grid and gathered; `x0At` also gathers the clean images at another subset
 * (the autoencoder's encoder input).
 */
export function batchTensors(
  cfg: LabConfig, data: ImageSet, batch: BatchPoints, xi: tf.Tensor4D, process: DiffusionProcess, x0At?: CoordSet,
): { xt: tf.Tensor3D; target: tf.Tensor3D; x0?: tf.Tensor3D } {
  const { schedule, mollifier } = process;
  const param = parameterisation(cfg.diffusion.parameterisation);
  return tf.tidy(() => {
    const x0 = imageBatch(data, batch.idx);
    const xt = qSample(x0, xi, batch.ts, schedule, mollifier);
    const target = param.target(x0, xi, batch.ts, { schedule, mollifier });
    const out: { xt: tf.Tensor3D; target: tf.Tensor3D; x0?: tf.Tensor3D } = { xt: gatherPoints(xt, batch.set), target: gatherPoints(target, batch.set) };
    if (x0At) out.x0 = gatherPoints(x0, x0At);
    return out;
  });
}

/** Gradients keyed by tf variable name → keyed by parameter name (what Adam and the checkpoints use). */
export function gradsByName(p: Params, grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  const vars = p.variables(), names = p.names();
  for (let i = 0; i < vars.length; i++) if (grads[vars[i].name]) out[names[i]] = grads[vars[i].name];
  return out;
}
