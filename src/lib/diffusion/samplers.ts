/**
 * Samplers for mollified diffusion (∞-Diff §3.2, App. B.2): DDPM ancestral (Eqs. 40/44, noise σ_t·Tξ,
 * σ_t² ∈ {β_t, β̃_t}), DDIM (η = 0 deterministic, η > 0 stochastic) with any number of steps, and DDIM inversion.
 *
 * Every sampler walks a strictly descending list of ORIGINAL timesteps t_0 > … > t_{n−1} (e.g.
 * `spacedTimesteps(1000, 50)`); the step from t to s (s = −1 after the last) uses the respaced coefficients of
 * `stepCoefs`. The last step lands on Tx₀; x₀ = Wiener(Tx₀). Sampling at a resolution other than the
 * mollifier's `resRef`: every white noise drawn (the caller's x_T via `priorSample`, DDPM's and stochastic DDIM's
 * per-step noise) is multiplied by the noise multiplier c = r/r₀ before T (default: mollifier.noiseMultiplier(H, W)).
 *
 * Memory: each step builds its update in tf.tidy, awaits the denoiser, then disposes the previous state, the
 * model output and the previous prediction. The generator twins yield tensors that stay valid only until the
 * next iteration (clone them to keep). The sampler owns — and disposes — whatever the denoiser returns; the
 * caller keeps ownership of x_T.
 */
import { tf } from "../runtime/backend";
import { DEFAULT_INV_SNR, Mollifier } from "./mollifier";
import { parameterisation, ParamContext, Parameterisation, ParameterisationName, SigmaChoice } from "./parameterisations";
import type { Rng } from "../runtime/rng";
import { checkTimesteps, Schedule, StepCoefs, stepCoefs } from "./schedules";

/** xt [B,H,W,C], t int32 [B] (original-schedule timesteps) → the parameterisation's output [B,H,W,C]. */
export type Denoiser = (xt: tf.Tensor4D, t: tf.Tensor1D) => tf.Tensor4D | Promise<tf.Tensor4D>;

/** One sampler step as `onStep` and the step generators report it. */
export interface SamplerStep {
  /** 0-based step index and the number of steps */
  index: number;
  /** the number of steps */
  steps: number;
  /** the step goes from original timestep t to s (s = −1: the clean Tx₀; inversion: s < t is the start) */
  t: number;
  s: number;
  /** the new state [B,H,W,C] (x_s; after the last sampling step: Tx₀) */
  x: tf.Tensor4D;
  /** the prediction of Tx₀ made on this step [B,H,W,C] */
  Tx0: tf.Tensor4D;
}

/** Options shared by every sampler. */
export interface SamplerOptions {
  schedule: Schedule;
  mollifier: Mollifier;
  /** required whenever noise is drawn (DDPM; DDIM with η > 0) */
  rng?: Rng;
  /** what the denoiser predicts; default "mollifiedEps" */
  parameterisation?: Parameterisation | ParameterisationName;
  /** multiplier c for per-step white noise; default mollifier.noiseMultiplier(H, W) */
  noiseMultiplier?: number;
  /**
   * clip the predicted Tx₀ to [−1, 1] (valid for data in [−1,1]: T is an average). Default true for ddpm/ddim, as
   * the authors' clip_denoised=True (pass false for data outside [−1, 1], e.g. latents); false for ddimInvert.
   */
  clipTx0?: boolean;
  /** Wiener inverse SNR for the returned x₀ (default 0.05) */
  invSnr?: number;
  /** progress callback; the step's tensors are valid during the call only */
  onStep?: (step: SamplerStep) => void | Promise<void>;
  /** keep a clone of the state after every k-th step (true = every step) plus the last; caller disposes */
  returnIntermediates?: boolean | number;
}

/** Options of the DDPM sampler. */
export interface DdpmOptions extends SamplerOptions {
  /** reverse variance σ_t² (∞-Diff Eq. 33): "beta" (default) or "betaTilde" */
  sigma?: SigmaChoice;
}

/** Options of the DDIM sampler. */
export interface DdimOptions extends SamplerOptions {
  /** 0 = deterministic (default); 1 = DDPM-like with σ² = β̃ */
  eta?: number;
}

/** What a sampler returns: x₀ (Wiener estimate), Tx̂₀ and optional intermediate states. */
export interface SampleResult {
  /** the sample in the mollified space [B,H,W,C] */
  Tx0: tf.Tensor4D;
  /** Wiener(Tx₀) [B,H,W,C], the estimate of x₀ */
  x0: tf.Tensor4D;
  /** states after the kept steps (see returnIntermediates) */
  intermediates?: tf.Tensor4D[];
}

/** What DDIM inversion returns: the encoded x_T and the states along the way. */
export interface InversionResult {
  /** the latent x_T [B,H,W,C] at the first (largest) timestep */
  xT: tf.Tensor4D;
  intermediates?: tf.Tensor4D[];
}

/** Update from x_t and the predictions to x_s; runs inside tf.tidy. */
type Update = (xt: tf.Tensor4D, pred: { Tx0: tf.Tensor4D; Txi: tf.Tensor4D }, c: StepCoefs, noise: () => tf.Tensor4D) => tf.Tensor4D;

/** The shared reverse loop: (state at t, model at t) → state at s, for consecutive pairs of `pairs`. */
async function* walk(
  denoise: Denoiser,
  x0: tf.Tensor4D,
  pairs: Array<{ t: number; s: number; modelT: number }>,
  opts: SamplerOptions,
  update: Update,
  needsNoise: (c: StepCoefs) => boolean,
): AsyncGenerator<SamplerStep, void, void> {
  const { schedule, mollifier } = opts;
  const param = parameterisation(opts.parameterisation);
  const ctx: ParamContext = { schedule, mollifier };
  const [B, H, W, C] = x0.shape;
  const mult = opts.noiseMultiplier ?? mollifier.noiseMultiplier(H, W);
  let x = x0; // not owned on the first step: the caller's tensor
  let Tx0: tf.Tensor4D | null = null;
  try {
    for (let i = 0; i < pairs.length; i++) {
      const { t, s, modelT } = pairs[i];
      const c = stepCoefs(schedule, Math.max(t, s), Math.min(t, s));
      const noisy = s >= 0 && needsNoise(c);
      if (noisy && !opts.rng) throw new Error("this sampler draws noise: pass opts.rng");
      const tTensor = tf.fill([B], modelT, "int32") as tf.Tensor1D;
      let out: tf.Tensor4D;
      try {
        out = await denoise(x, tTensor);
      } finally {
        tTensor.dispose();
      }
      const tsArr = new Array<number>(B).fill(modelT);
      const [next, pred] = tf.tidy(() => {
        let p = param.predict(out, x, tsArr, ctx);
        if (opts.clipTx0) {
          const clipped = tf.clipByValue(p.Tx0, -1, 1) as tf.Tensor4D;
          // Tξ consistent with the clipped Tx₀ (Eq. 11 solved for Tξ)
          const a = Math.sqrt(schedule.alphasCumprod[modelT]);
          const b = Math.sqrt(1 - schedule.alphasCumprod[modelT]);
          p = { Tx0: clipped, Txi: tf.div(tf.sub(x, tf.mul(a, clipped)), b) as tf.Tensor4D };
        }
        const noise = () => mollifier.apply(tf.mul(opts.rng!.normalTensor<tf.Rank.R4>([B, H, W, C]), mult) as tf.Tensor4D);
        return [update(x, p, c, noise), p.Tx0] as [tf.Tensor4D, tf.Tensor4D];
      });
      out.dispose();
      if (x !== x0) x.dispose();
      if (Tx0) Tx0.dispose();
      x = next;
      Tx0 = pred;
      yield { index: i, steps: pairs.length, t, s, x, Tx0 };
    }
  } finally {
    if (x !== x0) x.dispose();
    if (Tx0) Tx0.dispose();
  }
}

/** The sampling default of clipTx0 (true, the authors' clip_denoised=True) unless the caller chose. */
function withClipDefault<O extends SamplerOptions>(opts: O): O {
  return opts.clipTx0 === undefined ? { ...opts, clipTx0: true } : opts;
}

function samplingPairs(timesteps: readonly number[]): Array<{ t: number; s: number; modelT: number }> {
  return timesteps.map((t, i) => ({ t, s: i + 1 < timesteps.length ? timesteps[i + 1] : -1, modelT: t }));
}

/**
 * DDPM ancestral steps as an async generator (∞-Diff Eqs. 12, 40, 44): x_s = μ̃(x_t, Tx̂₀) + σ·T(c·ξ), σ² = β or β̃
 * (respaced between t and s); no noise on the last step. For mollified ε this μ̃ equals Eq. 44's
 * (x_t − β/√(1−ᾱ_t)·f_θ)/√α.
 */
export function ddpmSteps(denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdpmOptions): AsyncGenerator<SamplerStep, void, void> {
  checkTimesteps(opts.schedule, timesteps);
  const sigma = opts.sigma ?? "beta";
  if (sigma !== "beta" && sigma !== "betaTilde") throw new Error(`sigma must be "beta" or "betaTilde"`);
  const update: Update = (xt, p, c, noise) => {
    // ∞-Diff Eq. 12 mean with the predicted Tx₀ (Eq. 36/40 form)
    const mean = tf.add(tf.mul(c.coefTx0, p.Tx0), tf.mul(c.coefXt, xt)) as tf.Tensor4D;
    if (c.s < 0) return mean;
    const v = sigma === "beta" ? c.beta : c.betaTilde;
    return tf.add(mean, tf.mul(Math.sqrt(v), noise())) as tf.Tensor4D;
  };
  return walk(denoise, xT, samplingPairs(timesteps), withClipDefault(opts), update, () => true);
}

/**
 * DDIM steps (Song et al. 2021, applied to the mollified process as ∞-Diff §3.2 notes):
 * x_s = √ᾱ_s·Tx̂₀ + √(1−ᾱ_s−σ²)·Tξ̂ + σ·T(c·ξ), σ = η·√β̃ (respaced). η = 0: deterministic.
 */
export function ddimSteps(denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdimOptions): AsyncGenerator<SamplerStep, void, void> {
  checkTimesteps(opts.schedule, timesteps);
  const eta = opts.eta ?? 0;
  if (!(eta >= 0)) throw new Error(`eta must be ≥ 0 (got ${eta})`);
  const update: Update = (_xt, p, c, noise) => {
    const sig2 = eta * eta * c.betaTilde;
    const dir = Math.sqrt(Math.max(1 - c.abarS - sig2, 0));
    let xs = tf.add(tf.mul(Math.sqrt(c.abarS), p.Tx0), tf.mul(dir, p.Txi)) as tf.Tensor4D;
    if (c.s >= 0 && sig2 > 0) xs = tf.add(xs, tf.mul(Math.sqrt(sig2), noise())) as tf.Tensor4D;
    return xs;
  };
  return walk(denoise, xT, samplingPairs(timesteps), withClipDefault(opts), update, (c) => eta > 0 && c.betaTilde > 0);
}

/**
 * Deterministic DDIM inversion: Tx₀ → x_{t_0}, walking the same (descending) `timesteps` backwards:
 * −1 → t_{n−1} → … → t_0. The step from s to t evaluates the model at (x_s, s), and the first step (from Tx₀)
 * at (Tx₀, t_{n−1}); then x_t = √ᾱ_t·Tx̂₀ + √(1−ᾱ_t)·Tξ̂. `x` is x₀ (mollified first) unless opts.inputIsTx0.
 */
export function ddimInvertSteps(
  denoise: Denoiser,
  x: tf.Tensor4D,
  timesteps: readonly number[],
  opts: SamplerOptions & { inputIsTx0?: boolean },
): AsyncGenerator<SamplerStep, void, void> {
  checkTimesteps(opts.schedule, timesteps);
  const asc = [...timesteps].reverse();
  const pairs = asc.map((t, i) => ({ t: i === 0 ? -1 : asc[i - 1], s: t, modelT: i === 0 ? t : asc[i - 1] }));
  const update: Update = (_xs, p, c) =>
    tf.add(tf.mul(Math.sqrt(c.abarT), p.Tx0), tf.mul(Math.sqrt(1 - c.abarT), p.Txi)) as tf.Tensor4D;
  const start = opts.inputIsTx0 ? x : opts.mollifier.apply(x);
  const inner = walk(denoise, start, pairs, opts, update, () => false);
  if (start === x) return inner;
  // own the mollified start: dispose it when the walk ends
  return (async function* () {
    try {
      yield* inner;
    } finally {
      start.dispose();
    }
  })();
}

function keepEvery(opt: boolean | number | undefined): number {
  if (opt === true) return 1;
  if (!opt) return 0;
  if (!(Number.isInteger(opt) && opt > 0)) throw new Error("returnIntermediates must be true or a positive integer");
  return opt;
}

/** Runs a step generator to the end: onStep, intermediates, and a clone of the final state. */
async function drain(gen: AsyncGenerator<SamplerStep, void, void>, opts: SamplerOptions): Promise<{ last: tf.Tensor4D; intermediates?: tf.Tensor4D[] }> {
  const every = keepEvery(opts.returnIntermediates);
  const intermediates: tf.Tensor4D[] = [];
  let last: tf.Tensor4D | null = null;
  for await (const step of gen) {
    if (opts.onStep) await opts.onStep(step);
    const isLast = step.index === step.steps - 1;
    if (every && ((step.index + 1) % every === 0 || isLast)) intermediates.push(tf.clone(step.x));
    if (isLast) last = tf.clone(step.x);
  }
  if (!last) throw new Error("sampler produced no steps");
  return { last, intermediates: every ? intermediates : undefined };
}

async function finish(gen: AsyncGenerator<SamplerStep, void, void>, opts: SamplerOptions): Promise<SampleResult> {
  const { last, intermediates } = await drain(gen, opts);
  const x0 = opts.mollifier.wiener(last, opts.invSnr ?? DEFAULT_INV_SNR);
  return { Tx0: last, x0, intermediates };
}

/**
 * The sampler registry: its keys are the `SamplerName` union (config, CLI, pipelines, guidance, notebook steppers).
 * A sampler is its step generator (the generator twins above) and `gain`, ∂x_s/∂Tx̂₀ at fixed x_t for its update from
 * t to s (s = −1: the last step), which reconstruction guidance (pipelines/guidance.ts) scales its shift by.
 * Adding one: write its steps generator here (or in its own file) and add an entry.
 */
export interface SamplerEntry {
  /** One line describing the sampler. */
  readonly about: string;
  /** The sampler as a generator of steps from x_T over the given timesteps. */
  steps(denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdimOptions & DdpmOptions): AsyncGenerator<SamplerStep, void, void>;
  /** How much of the current Tx̂₀ error one step t → s passes on (for error analysis). */
  gain(schedule: Schedule, t: number, s: number, eta: number): number;
}

/** The sampler registry: its keys are the samplers `sampleModel` and the CLI accept. */
export const SAMPLERS = {
  ddim: {
    about: "DDIM (η = 0 deterministic)",
    /** the step generator */
    steps: ddimSteps,
    /** error gain of one step t → s */
    gain: (schedule, t, s, eta) => {
      const c = stepCoefs(schedule, t, s);
      const sig2 = s < 0 ? 0 : eta * eta * c.betaTilde;
      const dir = Math.sqrt(Math.max(1 - c.abarS - sig2, 0));
      return Math.sqrt(c.abarS) - (dir * Math.sqrt(c.abarT)) / Math.sqrt(1 - c.abarT);
    },
  },
  ddpm: {
    about: "DDPM ancestral (η is ignored)",
    /** the step generator */
    steps: ddpmSteps,
    /** error gain of one step t → s */
    gain: (schedule, t, s) => stepCoefs(schedule, t, s).coefTx0,
  },
} satisfies Record<string, SamplerEntry>;

/** A sampler's registry key. */
export type SamplerName = keyof typeof SAMPLERS;
/** Every registered sampler name. */
export const SAMPLER_NAMES = Object.keys(SAMPLERS) as SamplerName[];

/** The registered sampler `name`; a one-line error naming the choices otherwise. */
export function samplerEntry(name: string): SamplerEntry {
  if (!Object.prototype.hasOwnProperty.call(SAMPLERS, name)) throw new Error(`unknown sampler '${name}': expected ${SAMPLER_NAMES.join(", ")}`);
  return SAMPLERS[name as SamplerName];
}

/** Runs sampler `name` from x_T to the end → { Tx0, x0, intermediates? } (DDPM ignores η). */
export async function sample(name: SamplerName, denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdimOptions & DdpmOptions): Promise<SampleResult> {
  return finish(samplerEntry(name).steps(denoise, xT, timesteps, opts), opts);
}

/** DDPM sampling from x_T [B,H,W,C] (e.g. `priorSample`) → { Tx0, x0, intermediates? }. */
export async function ddpm(denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdpmOptions): Promise<SampleResult> {
  return finish(ddpmSteps(denoise, xT, timesteps, opts), opts);
}

/** DDIM sampling from x_T [B,H,W,C] → { Tx0, x0, intermediates? }. */
export async function ddim(denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdimOptions): Promise<SampleResult> {
  return finish(ddimSteps(denoise, xT, timesteps, opts), opts);
}

/** DDIM inversion of x₀ (or Tx₀ with inputIsTx0) [B,H,W,C] → { xT, intermediates? }. */
export async function ddimInvert(
  denoise: Denoiser,
  x: tf.Tensor4D,
  timesteps: readonly number[],
  opts: SamplerOptions & { inputIsTx0?: boolean },
): Promise<InversionResult> {
  const { last, intermediates } = await drain(ddimInvertSteps(denoise, x, timesteps, opts), opts);
  return { xT: last, intermediates };
}
