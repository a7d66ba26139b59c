/**
 * Noise schedules (∞-Diff §2.1, App. A): pure functions over Float64Array, turned into float32 tensors only
 * where used. Index t ∈ {0…T−1} of the original schedule means ᾱ_t = alphasCumprod[t]; ᾱ_{−1} := 1.
 *
 * A sampler that skips steps walks a descending list of original timesteps t_0 > t_1 > … > t_{n−1}; the step
 * from t to s (s = −1 after the last) uses the "respaced" quantities of `stepCoefs` (β = 1 − ᾱ_t/ᾱ_s), which for
 * s = t − 1 are exactly the original β_t, β̃_t.
 */

export interface Schedule {
  /** number of diffusion steps T */
  readonly T: number;
  /** β_t, t = 0…T−1 */
  readonly betas: Float64Array;
  /** α_t = 1 − β_t */
  readonly alphas: Float64Array;
  /** ᾱ_t = ∏_{s≤t} α_s */
  readonly alphasCumprod: Float64Array;
  /** ᾱ_{t−1} (with ᾱ_{−1} = 1) */
  readonly alphasCumprodPrev: Float64Array;
  /** β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, the posterior variance of Eq. 12 */
  readonly betaTilde: Float64Array;
  /** which family produced it (kept with results) */
  readonly kind: string;
}

/** A schedule from its β's (each in (0, 1]). */
export function scheduleFromBetas(betas: ArrayLike<number>, kind = "custom"): Schedule {
  const T = betas.length;
  if (T < 1) throw new Error("schedule needs at least one step");
  const b = Float64Array.from(betas);
  const a = new Float64Array(T);
  const ac = new Float64Array(T);
  const acPrev = new Float64Array(T);
  const bt = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    if (!(b[t] > 0 && b[t] <= 1)) throw new Error(`beta[${t}] = ${b[t]} is outside (0, 1]`);
    a[t] = 1 - b[t];
    acPrev[t] = prod;
    prod *= a[t];
    ac[t] = prod;
    bt[t] = ((1 - acPrev[t]) / (1 - ac[t])) * b[t];
  }
  return Object.freeze({ T, betas: b, alphas: a, alphasCumprod: ac, alphasCumprodPrev: acPrev, betaTilde: bt, kind });
}

/**
 * Cosine schedule (Nichol & Dhariwal 2021; ∞-Diff App. A default): ᾱ(u) = cos²((u + s)/(1 + s)·π/2),
 * β_t = min(1 − ᾱ((t+1)/T)/ᾱ(t/T), maxBeta).
 */
export function cosineSchedule(T = 1000, s = 0.008, maxBeta = 0.999): Schedule {
  const f = (u: number) => Math.cos(((u + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const betas = new Float64Array(T);
  for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f((t + 1) / T) / f(t / T), maxBeta);
  return scheduleFromBetas(betas, `cosine(T=${T},s=${s},maxBeta=${maxBeta})`);
}

/** Linear schedule (Ho et al. 2020), β from 1e-4 to 0.02 at T = 1000, scaled by 1000/T for other T. */
export function linearSchedule(T = 1000, betaStart = (1e-4 * 1000) / T, betaEnd = (0.02 * 1000) / T): Schedule {
  const betas = new Float64Array(T);
  for (let t = 0; t < T; t++) betas[t] = T === 1 ? betaStart : betaStart + ((betaEnd - betaStart) * t) / (T - 1);
  return scheduleFromBetas(betas, `linear(T=${T},${betaStart},${betaEnd})`);
}

/** A noise schedule by name: the cosine schedule (paper default) or the linear one. */
export type ScheduleName = "cosine" | "linear";
const SCHEDULES: Record<ScheduleName, (T: number) => Schedule> = { cosine: cosineSchedule, linear: linearSchedule };
/** One table from name to schedule. */
export function namedSchedule(name: ScheduleName, T = 1000): Schedule {
  const make = SCHEDULES[name];
  if (!make) throw new Error(`unknown schedule '${name}': expected ${Object.keys(SCHEDULES).join(", ")}`);
  return make(T);
}

/** ᾱ_t with the convention ᾱ_{−1} = 1. */
export function alphaBar(schedule: Schedule, t: number): number {
  if (t === -1) return 1;
  if (!Number.isInteger(t) || t < -1 || t >= schedule.T) throw new Error(`timestep ${t} outside −1…${schedule.T - 1}`);
  return schedule.alphasCumprod[t];
}

/**
 * `steps` evenly spaced original timesteps, descending, from T−1 down to 0 (both included when steps ≥ 2).
 * `spacedTimesteps(1000, 1000)` is [999, 998, …, 0].
 */
export function spacedTimesteps(T: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new Error(`steps must be an integer in 1…${T}`);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(steps === 1 ? T - 1 : Math.round(((T - 1) * (steps - 1 - i)) / (steps - 1)));
  return out;
}

/**
 * The authors' DDIM grid (their `space_timesteps(T, "ddimN")`, from the DDIM paper's striding): the smallest integer
 * stride i with exactly `steps` multiples of i in 0…T−1, those multiples descending. For T = 1000 and 50 steps:
 * 980, 960, …, 0 (the first step starts at t = 980, not T−1). Step counts no integer stride gives throw.
 */
export function strideTimesteps(T: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new Error(`steps must be an integer in 1…${T}`);
  for (let i = 1; i < T; i++) {
    if (Math.ceil(T / i) === steps) {
      const out: number[] = [];
      for (let t = (steps - 1) * i; t >= 0; t -= i) out.push(t);
      return out;
    }
  }
  throw new Error(`no integer stride gives exactly ${steps} of ${T} timesteps (the authors' "ddim${steps}" spacing; diffusion.ddimGrid "even" takes any count)`);
}

/** The DDIM step grid named by config.diffusion.ddimGrid. */
export function ddimTimesteps(grid: "even" | "ddim-stride", T: number, steps: number): number[] {
  return grid === "even" ? spacedTimesteps(T, steps) : strideTimesteps(T, steps);
}

/** Checks a sampler's timestep list: integers in 0…T−1, strictly descending. */
export function checkTimesteps(schedule: Schedule, timesteps: readonly number[]): void {
  if (timesteps.length < 1) throw new Error("timesteps is empty");
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    if (!Number.isInteger(t) || t < 0 || t >= schedule.T) throw new Error(`timestep ${t} outside 0…${schedule.T - 1}`);
    if (i > 0 && !(t < timesteps[i - 1])) throw new Error("timesteps must be strictly descending");
  }
}

/** Coefficients of one reverse step from original timestep t to s < t (s = −1: to x₀). */
export interface StepCoefs {
  t: number;
  s: number;
  /** ᾱ_t, ᾱ_s */
  abarT: number;
  abarS: number;
  /** respaced α = ᾱ_t/ᾱ_s and β = 1 − α */
  alpha: number;
  beta: number;
  /** respaced β̃ = (1 − ᾱ_s)/(1 − ᾱ_t)·β */
  betaTilde: number;
  /** Eq. 12 posterior-mean coefficients: μ̃ = coefTx0·Tx₀ + coefXt·x_t */
  coefTx0: number;
  coefXt: number;
}

/** ∞-Diff Eq. 12 (and Eq. 26) with respacing: q(x_s | x_t, x₀) for any s < t. */
export function stepCoefs(schedule: Schedule, t: number, s: number = t - 1): StepCoefs {
  if (!(s < t)) throw new Error(`step needs s < t (got t=${t}, s=${s})`);
  const abarT = alphaBar(schedule, t);
  const abarS = alphaBar(schedule, s);
  const alpha = abarT / abarS;
  const beta = 1 - alpha;
  const betaTilde = ((1 - abarS) / (1 - abarT)) * beta;
  const coefTx0 = (Math.sqrt(abarS) * beta) / (1 - abarT);
  const coefXt = (Math.sqrt(alpha) * (1 - abarS)) / (1 - abarT);
  return { t, s, abarT, abarS, alpha, beta, betaTilde, coefTx0, coefXt };
}
