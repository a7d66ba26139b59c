/**
 * The mollified posterior q(x_{t−1} | x_t, x₀) of ∞-Diff Eq. 12 (proof in App. B.1), generalised to any
 * earlier original timestep s < t (respaced samplers): q(x_s | x_t, x₀) = N(μ̃, β̃·TTᵗ) with the coefficients of
 * `stepCoefs` (schedules.ts).
 */
import { tf } from "../runtime/backend";
import { batchScalars, Timesteps, timestepArray } from "./forward";
import type { Mollifier } from "./mollifier";
import type { Rng } from "../runtime/rng";
import { Schedule, stepCoefs } from "./schedules";

/**
 * ∞-Diff Eq. 12 mean: μ̃ = √ᾱ_s β/(1−ᾱ_t)·Tx₀ + √α (1−ᾱ_s)/(1−ᾱ_t)·x_t.
 * xt, Tx0 [B,H,W,C]; t [B]; s [B] (default t−1) → [B,H,W,C]. Note the argument is the MOLLIFIED Tx₀.
 */
export function posteriorMean(xt: tf.Tensor4D, Tx0: tf.Tensor4D, t: Timesteps, schedule: Schedule, s?: Timesteps): tf.Tensor4D {
  const ts = timestepArray(t);
  const ss = s == null ? ts.map((v) => v - 1) : timestepArray(s);
  if (ss.length !== ts.length) throw new Error("t and s differ in length");
  const coefs = ts.map((v, i) => stepCoefs(schedule, v, ss[i]));
  return tf.tidy(() => {
    const a = batchScalars(coefs.map((c) => c.coefTx0));
    const b = batchScalars(coefs.map((c) => c.coefXt));
    return tf.add(tf.mul(a, Tx0), tf.mul(b, xt)) as tf.Tensor4D;
  });
}

/** ∞-Diff Eq. 12 variance factor β̃ (the posterior covariance is β̃·TTᵗ), for one step t → s (default t−1). */
export function posteriorVariance(schedule: Schedule, t: number, s: number = t - 1): number {
  return stepCoefs(schedule, t, s).betaTilde;
}

/**
 * One draw from q(x_s | x_t, x₀) = N(μ̃, β̃·TTᵗ): μ̃ + √β̃ · T(c·ξ), all batch elements at the same t → s.
 * xt, Tx0 [B,H,W,C] → [B,H,W,C]; c = noise multiplier (default 1).
 */
export function posteriorSample(
  xt: tf.Tensor4D,
  Tx0: tf.Tensor4D,
  t: number,
  s: number,
  schedule: Schedule,
  mollifier: Mollifier,
  rng: Rng,
  multiplier = 1,
): tf.Tensor4D {
  const c = stepCoefs(schedule, t, s);
  return tf.tidy(() => {
    const mean = tf.add(tf.mul(c.coefTx0, Tx0), tf.mul(c.coefXt, xt)) as tf.Tensor4D;
    if (s < 0 || c.betaTilde === 0) return mean;
    const noise = mollifier.apply(tf.mul(rng.normalTensor<tf.Rank.R4>(xt.shape), multiplier) as tf.Tensor4D);
    return tf.add(mean, tf.mul(Math.sqrt(c.betaTilde), noise)) as tf.Tensor4D;
  });
}
