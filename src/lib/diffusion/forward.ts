/**
 * The mollified forward process q(x_t | x₀) of ∞-Diff §3.2.
 */
import { tf } from "../runtime/backend";
import type { Mollifier } from "./mollifier";
import type { Rng } from "../runtime/rng";
import { alphaBar, Schedule } from "./schedules";

/** Timesteps for a batch: an int32 tensor [B], or plain numbers (one per batch element). */
export type Timesteps = tf.Tensor1D | ArrayLike<number>;

/** Plain timesteps as a JS array (reads a tensor synchronously; call outside hot loops). */
export function timestepArray(t: Timesteps): number[] {
  if (t instanceof tf.Tensor) return Array.from(t.dataSync());
  return Array.from(t);
}

/** Per-batch scalars as a float32 tensor [B, 1, 1, 1] (broadcasts against [B, H, W, C]). */
export function batchScalars(values: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]);
}

/** Per-batch coefficient f(t_b) as a float32 tensor [B, 1, 1, 1] (computed in float64 from the schedule). */
export function perBatch(t: Timesteps, f: (t: number) => number): tf.Tensor4D {
  return batchScalars(timestepArray(t).map(f));
}

/**
 * ∞-Diff Eq. 11: x_t = √ᾱ_t·Tx₀ + √(1−ᾱ_t)·Tξ = T(√ᾱ_t x₀ + √(1−ᾱ_t) ξ) (T is linear, so one application).
 * x0 [B,H,W,C] in [−1,1], xi white noise [B,H,W,C], t [B] → x_t [B,H,W,C].
 */
export function qSample(x0: tf.Tensor4D, xi: tf.Tensor4D, t: Timesteps, schedule: Schedule, mollifier: Mollifier): tf.Tensor4D {
  return tf.tidy(() => {
    const a = perBatch(t, (s) => Math.sqrt(alphaBar(schedule, s)));
    const b = perBatch(t, (s) => Math.sqrt(1 - alphaBar(schedule, s)));
    return mollifier.apply(tf.add(tf.mul(a, x0), tf.mul(b, xi)) as tf.Tensor4D);
  });
}

/** ∞-Diff Eq. 11 moments: mean √ᾱ_t·Tx₀ [B,H,W,C] and the scalar variance factor (1−ᾱ_t) of TTᵗ, per batch. */
export function qMeanVariance(Tx0: tf.Tensor4D, t: Timesteps, schedule: Schedule): { mean: tf.Tensor4D; varianceFactor: number[] } {
  const ts = timestepArray(t);
  const mean = tf.tidy(() => tf.mul(perBatch(ts, (s) => Math.sqrt(alphaBar(schedule, s))), Tx0) as tf.Tensor4D);
  return { mean, varianceFactor: ts.map((s) => 1 - alphaBar(schedule, s)) };
}

/**
 * A draw from the prior at the start of sampling: x_T = T(c·ξ), ξ ~ N(0, I) of the given shape [B,H,W,C],
 * c the noise multiplier (default: mollifier.noiseMultiplier(H, W), i.e. r/r₀ — 1 at the reference resolution).
 */
export function priorSample(
  shape: [number, number, number, number],
  rng: Rng,
  mollifier: Mollifier,
  multiplier: number = mollifier.noiseMultiplier(shape[1], shape[2]),
): tf.Tensor4D {
  return tf.tidy(() => mollifier.apply(tf.mul(rng.normalTensor<tf.Rank.R4>(shape), multiplier) as tf.Tensor4D));
}
