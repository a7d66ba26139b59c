/**
 * What the network predicts (∞-Diff App. B.2) and the matching losses. Each parameterisation is a small object
 * with one contract: a training `target` built on the full grid, and `predict`, which turns the model output at
 * (x_t, t) into the two quantities every sampler needs, the predicted Tx₀ and Tξ, using x_t = √ᾱ_t Tx₀ + √(1−ᾱ_t) Tξ
 * (Eq. 11). All tensors [B,H,W,C] (targets may be gathered to [B,M,C] afterwards; the loss takes any shape).
 */
import { tf } from "../runtime/backend";
import { perBatch, Timesteps, timestepArray } from "./forward";
import type { Mollifier } from "./mollifier";
import { alphaBar, Schedule } from "./schedules";

/** What a parameterisation needs at a timestep: the schedule, the mollifier and the state's grid. */
export interface ParamContext {
  schedule: Schedule;
  mollifier: Mollifier;
}

/** What the network predicts (ε, Tξ, x₀ or v) and how to turn that into the loss target and Tx̂₀. */
export interface Parameterisation {
  /** its key in PARAMETERISATIONS */
  readonly name: string;
  /** training target from data x0 [B,H,W,C], white noise xi [B,H,W,C] (the ξ used to build x_t), t [B] */
  target(x0: tf.Tensor4D, xi: tf.Tensor4D, t: Timesteps, ctx: ParamContext): tf.Tensor4D;
  /** model output `out` at (xt, t) → predicted Tx₀ and Tξ, each [B,H,W,C] */
  predict(out: tf.Tensor4D, xt: tf.Tensor4D, t: Timesteps, ctx: ParamContext): { Tx0: tf.Tensor4D; Txi: tf.Tensor4D };
}

const sqrtAbar = (sch: Schedule) => (t: number) => Math.sqrt(alphaBar(sch, t));
const sqrt1mAbar = (sch: Schedule) => (t: number) => Math.sqrt(1 - alphaBar(sch, t));

/** Tξ from x_t and a predicted Tx₀ (Eq. 11 solved for Tξ). */
function txiFromTx0(xt: tf.Tensor4D, Tx0: tf.Tensor4D, t: Timesteps, sch: Schedule): tf.Tensor4D {
  return tf.div(tf.sub(xt, tf.mul(perBatch(t, sqrtAbar(sch)), Tx0)), perBatch(t, sqrt1mAbar(sch))) as tf.Tensor4D;
}
/** Tx₀ from x_t and a predicted Tξ (Eq. 11 solved for Tx₀). */
function tx0FromTxi(xt: tf.Tensor4D, Txi: tf.Tensor4D, t: Timesteps, sch: Schedule): tf.Tensor4D {
  return tf.div(tf.sub(xt, tf.mul(perBatch(t, sqrt1mAbar(sch)), Txi)), perBatch(t, sqrtAbar(sch))) as tf.Tensor4D;
}

/** ∞-Diff Eqs. 44 & 46 (the paper's default): f_θ ≈ Tξ, the mollified noise. */
export const mollifiedEps: Parameterisation = {
  name: "mollifiedEps",
  // ∞-Diff Eq. 46 target: Tξ
  target: (_x0, xi, _t, ctx) => ctx.mollifier.apply(xi),
  predict: (out, xt, t, ctx) =>
    tf.tidy(() => ({ Txi: tf.clone(out), Tx0: tx0FromTxi(xt, out, t, ctx.schedule) })),
};

/** ∞-Diff Eqs. 36 & 39: f_θ ≈ x₀ (unmollified data); Tx₀ = T f_θ. */
export const x0Prediction: Parameterisation = {
  name: "x0",
  target: (x0) => tf.clone(x0),
  predict: (out, xt, t, ctx) =>
    tf.tidy(() => {
      const Tx0 = ctx.mollifier.apply(out);
      return { Tx0, Txi: txiFromTx0(xt, Tx0, t, ctx.schedule) };
    }),
};

/** Plain ε: f_θ ≈ ξ (white noise, §3.1-style target); Tξ = T f_θ. With T = I it equals mollified ε. */
export const epsPrediction: Parameterisation = {
  name: "eps",
  target: (_x0, xi) => tf.clone(xi),
  predict: (out, xt, t, ctx) =>
    tf.tidy(() => {
      const Txi = ctx.mollifier.apply(out);
      return { Txi, Tx0: tx0FromTxi(xt, Txi, t, ctx.schedule) };
    }),
};

/**
 * v-prediction (Salimans & Ho 2022) in the mollified space: v = √ᾱ_t·Tξ − √(1−ᾱ_t)·Tx₀, so
 * Tx₀ = √ᾱ_t x_t − √(1−ᾱ_t) v and Tξ = √(1−ᾱ_t) x_t + √ᾱ_t v.
 */
export const vPrediction: Parameterisation = {
  name: "v",
  target: (x0, xi, t, ctx) =>
    tf.tidy(() =>
      ctx.mollifier.apply(
        tf.sub(tf.mul(perBatch(t, sqrtAbar(ctx.schedule)), xi), tf.mul(perBatch(t, sqrt1mAbar(ctx.schedule)), x0)) as tf.Tensor4D,
      ),
    ),
  predict: (out, xt, t, ctx) =>
    tf.tidy(() => {
      const a = perBatch(t, sqrtAbar(ctx.schedule));
      const b = perBatch(t, sqrt1mAbar(ctx.schedule));
      return {
        Tx0: tf.sub(tf.mul(a, xt), tf.mul(b, out)) as tf.Tensor4D,
        Txi: tf.add(tf.mul(b, xt), tf.mul(a, out)) as tf.Tensor4D,
      };
    }),
};

/**
 * The registry: its keys are the `ParameterisationName` union (config diffusion.parameterisation, the latent model's
 * target). Adding one: an object with `target` and `predict` above (or in its own file) and an entry here.
 */
export const PARAMETERISATIONS = Object.freeze({
  mollifiedEps,
  x0: x0Prediction,
  eps: epsPrediction,
  v: vPrediction,
} satisfies Record<string, Parameterisation>);

/** A parameterisation's registry key (the values `diffusion.parameterisation` accepts). */
export type ParameterisationName = keyof typeof PARAMETERISATIONS;
/** Every registered parameterisation name. */
export const PARAMETERISATION_NAMES = Object.keys(PARAMETERISATIONS) as ParameterisationName[];

/** A parameterisation by name (default the mollified-ε of Eq. 46), or the object itself. */
export function parameterisation(p: Parameterisation | ParameterisationName = "mollifiedEps"): Parameterisation {
  if (typeof p !== "string") return p;
  const found = Object.prototype.hasOwnProperty.call(PARAMETERISATIONS, p) ? PARAMETERISATIONS[p] : undefined;
  if (!found) throw new Error(`unknown parameterisation '${p}': expected ${Object.keys(PARAMETERISATIONS).join(", ")}`);
  return found;
}

/**
 * Mean squared error over any shape ([B,H,W,C] full grids or [B,M,C] gathered points): ∞-Diff Eq. 46's
 * 𝓛_simple when pred = f_θ and target = Tξ. Optional `mask` (broadcastable to pred, 1 = counted) averages over
 * the masked entries only; optional per-batch `weights` [B] multiply each element's mean (e.g. Eq. 39, 45).
 * Returns a scalar.
 */
export function mse(pred: tf.Tensor, target: tf.Tensor, opts: { mask?: tf.Tensor; weights?: tf.Tensor1D } = {}): tf.Scalar {
  return tf.tidy(() => {
    const B = pred.shape[0];
    let sq: tf.Tensor = tf.square(tf.sub(pred, target));
    let count: tf.Tensor;
    if (opts.mask) {
      const m = tf.broadcastTo(tf.cast(opts.mask, "float32"), pred.shape);
      sq = tf.mul(sq, m);
      count = tf.maximum(tf.sum(tf.reshape(m, [B, -1]), 1), 1);
    } else {
      count = tf.scalar(pred.size / B);
    }
    const perItem = tf.div(tf.sum(tf.reshape(sq, [B, -1]), 1), count); // [B]
    return tf.mean(opts.weights ? tf.mul(perItem, opts.weights) : perItem) as tf.Scalar;
  });
}

/** Reverse-process variance σ_t²: β_t or β̃_t (∞-Diff Eq. 33). */
export type SigmaChoice = "beta" | "betaTilde";
function sigma2(sch: Schedule, t: number, sigma: SigmaChoice): number {
  return sigma === "beta" ? sch.betas[t] : sch.betaTilde[t];
}

/**
 * ∞-Diff Eq. 39 weight for x₀ prediction, per batch: 𝓛_{t−1} = w_t·‖x₀ − f_θ‖². From Eq. 38 the weight is
 * (√ᾱ_{t−1}β_t/(1−ᾱ_t))²/(2σ_t²) = ᾱ_{t−1}β_t²/(2σ_t²(1−ᾱ_t)²); the printed Eq. 39 drops the squares (a typo:
 * the norm of a scalar multiple squares the scalar). At t = 0 with σ² = β̃ (= 0) the weight is undefined: callers
 * use σ² = β there.
 */
export function x0LossWeights(schedule: Schedule, t: Timesteps, sigma: SigmaChoice = "beta"): number[] {
  return timestepArray(t).map((s) => {
    const abarPrev = schedule.alphasCumprodPrev[s];
    const b = schedule.betas[s];
    return (abarPrev * b * b) / (2 * sigma2(schedule, s, sigma) * (1 - schedule.alphasCumprod[s]) ** 2);
  });
}

/**
 * ∞-Diff Eq. 45 weight for mollified-ε prediction, per batch: 𝓛_{t−1} = w_t·‖T⁻¹(f_θ − Tξ)‖² with
 * w_t = β_t²/(2σ_t² α_t (1−ᾱ_t)). (Eq. 46 drops it and T⁻¹: same minimiser.)
 */
export function mollifiedEpsLossWeights(schedule: Schedule, t: Timesteps, sigma: SigmaChoice = "beta"): number[] {
  return timestepArray(t).map((s) => {
    const b = schedule.betas[s];
    return (b * b) / (2 * sigma2(schedule, s, sigma) * schedule.alphas[s] * (1 - schedule.alphasCumprod[s]));
  });
}
