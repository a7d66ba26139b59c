/**
 * Reconstruction guidance (Ho et al. 2022b) for an unconditional mollified-ε model, as ∞-Diff §5 "Inpainting" uses it:
 *
 *   x_s ← x_s − λ_t ∇_{x_t} ‖ r(μ̃₀(x_t, t)) ‖²₂          (∞-Diff §5, Fig. 9; s is the step after t)
 *
 * where μ̃₀ = Tx̂₀ is the model's estimate of Tx₀ and r is the residual of a known linear observation of it:
 * m ⊙ (μ̃₀ − Tx̄) for inpainting (m = 1 on known pixels), areaDown(μ̃₀) − Ty for super-resolution.
 *
 * It is a Denoiser wrapper, so the unchanged samplers (ddim / ddpm, their generator twins) run it: the wrapper
 * evaluates the model and the gradient g of ‖r‖² wrt x_t through it, then returns the model output shifted so that
 * the sampler's own update lands exactly λ_t·g lower (λ_t = λ·ᾱ_t by default, or the paper's constant λ: see
 * GuidanceOptions.weighting). With k = ∂x_s/∂Tx̂₀ at fixed x_t (DDIM: √ᾱ_s − dir·√ᾱ_t/√(1−ᾱ_t);
 * DDPM: the Eq. 12 coefficient of Tx₀), shifting Tx̂₀ by −λ_t·g/k shifts x_s by −λ_t·g; for mollified ε the output is Tξ̂
 * and Tx̂₀ = (x_t − √(1−ᾱ_t)·Tξ̂)/√ᾱ_t, so out' = out + √ᾱ_t/(√(1−ᾱ_t)·k)·λ_t·g. The sampler's clipTx0 acts after the
 * shift, so with clipping the step is the paper's update followed by the clip.
 */
import { tf } from "../runtime/backend";
import { alphaBar, Schedule } from "../diffusion/schedules";
import { Denoiser, SamplerName, samplerEntry } from "../diffusion/samplers";

/** A model evaluation that tf.grad can differentiate wrt x_t: xt [B,H,W,C], t [B] → mollified-ε output [B,H,W,C]. */
export type DifferentiableDenoiser = (xt: tf.Tensor4D, t: tf.Tensor1D) => tf.Tensor4D;

/** The residual of the observation given the predicted Tx₀ [B,H,W,C] (any shape; its squared sum is the loss). */
export type Residual = (Tx0: tf.Tensor4D) => tf.Tensor;

/** What reconstruction guidance needs: the schedule and the timesteps the sampler walks. */
export interface GuidanceOptions {
  schedule: Schedule;
  /** the descending original timesteps the sampler walks (the wrapper finds each step's s from its t) */
  timesteps: readonly number[];
  /** guidance weight λ (0 = the plain model) */
  lambda: number;
  /**
   * λ_t = λ·ᾱ_t ("alphaBar", default) or λ_t = λ ("constant", the paper's formula as written). g carries a factor
   * 1/√ᾱ_t (μ̃₀ = (x_t − √(1−ᾱ_t)·Tξ̂)/√ᾱ_t) and a shift of x_s moves the next μ̃₀ by it over √ᾱ_s, so a constant λ
   * moves μ̃₀ by ≈ 2λ·r/ᾱ_t: thousands of times the residual at the first steps of a cosine schedule. With λ·ᾱ_t
   * every step moves μ̃₀ by ≈ 2λ·r (λ = ½: one step removes the residual), as Ho et al.'s α_t weighting intends.
   */
  weighting?: "alphaBar" | "constant";
  /** which sampler's update the shift is computed for; default "ddim" */
  sampler?: SamplerName;
  /** DDIM η (default 0) */
  eta?: number;
  /** called with ‖r‖² (summed over the batch) on every step, for diagnostics */
  onResidual?: (t: number, loss: number) => void;
}

/** ∂x_s/∂Tx̂₀ at fixed x_t for the sampler's update from t to s (s = −1: the last step). */
export function stepGain(schedule: Schedule, t: number, s: number, sampler: SamplerName, eta = 0): number {
  return samplerEntry(sampler).gain(schedule, t, s, eta);
}

/** Wraps `model` with reconstruction guidance (see the module note). λ = 0 returns the model's output unchanged. */
export function guidedDenoiser(model: DifferentiableDenoiser, residual: Residual, opts: GuidanceOptions): Denoiser {
  const { schedule, timesteps, lambda } = opts;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`lambda must be a finite number ≥ 0 (got ${lambda})`);
  const sampler = opts.sampler ?? "ddim";
  return async (xt: tf.Tensor4D, t: tf.Tensor1D): Promise<tf.Tensor4D> => {
    if (lambda === 0 && !opts.onResidual) return model(xt, t);
    const tv = (await t.data())[0];
    const i = timesteps.indexOf(tv);
    if (i < 0) throw new Error(`guidedDenoiser: timestep ${tv} is not in the guided schedule`);
    const s = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
    const a = Math.sqrt(alphaBar(schedule, tv)), b = Math.sqrt(1 - alphaBar(schedule, tv));
    const k = stepGain(schedule, tv, s, sampler, opts.eta ?? 0);
    const lam = (opts.weighting ?? "alphaBar") === "alphaBar" ? lambda * alphaBar(schedule, tv) : lambda;
    let out: tf.Tensor4D | null = null;
    const [shifted, loss] = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor4D) => {
        const o = model(x, t);
        out = tf.keep(o);
        const Tx0 = tf.div(tf.sub(x, tf.mul(b, o)), a) as tf.Tensor4D;
        return tf.sum(tf.square(residual(Tx0))) as tf.Scalar;
      })(xt);
      const o = out as unknown as tf.Tensor4D;
      const res = k > 1e-12 ? tf.add(o, tf.mul((a / (b * k)) * lam, grad)) as tf.Tensor4D : tf.clone(o);
      return [res, value] as [tf.Tensor4D, tf.Scalar];
    });
    (out as unknown as tf.Tensor4D | null)?.dispose();
    if (opts.onResidual) opts.onResidual(tv, (await loss.data())[0]);
    loss.dispose();
    return shifted;
  };
}

/** The conditioned full-grid denoiser is GridDenoiser (nn/network.ts) with its optional `cond`; kept as a name. */
export { GridDenoiser as ConditionedGridDenoiser } from "../nn/network";
