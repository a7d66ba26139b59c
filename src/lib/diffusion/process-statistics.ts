/**
 * Statistics of the mollified process, each measured against its closed form: the numbers notebook 01 shows next to
 * the derivation and tests/lib/diffusion/mollified-diffusion.test.ts asserts. Float64 identities over the schedule (§2.1,
 * App. B.1), the mollifier's impulse response (§3.2), and Monte-Carlo moments of Eq. 11 and Eq. 12 on one image.
 * Monte-Carlo rows are ≈ 1 when the implementation matches the formula (z-scores have RMS 1, ratios are 1).
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { Schedule, stepCoefs } from "./schedules";
import { Mollifier } from "./mollifier";
import { qMeanVariance, qSample } from "./forward";
import { posteriorMean, posteriorSample, posteriorVariance } from "./posterior";

/** max |ᾱ_t − ∏_{s≤t} α_s| and max |β̃_t − (1−ᾱ_{t−1})/(1−ᾱ_t)·β_t| over t, float64. */
export function scheduleIdentityErrors(sch: Schedule): { alphaBar: number; betaTilde: number } {
  let prod = 1, alphaBar = 0, betaTilde = 0;
  for (let t = 0; t < sch.T; t++) {
    prod *= 1 - sch.betas[t];
    alphaBar = Math.max(alphaBar, Math.abs(prod - sch.alphasCumprod[t]));
    if (t > 0) betaTilde = Math.max(betaTilde, Math.abs(sch.betaTilde[t] - ((1 - sch.alphasCumprod[t - 1]) / (1 - sch.alphasCumprod[t])) * sch.betas[t]));
  }
  return { alphaBar, betaTilde };
}

/**
 * App. B.1 as scalar identities, max |error| over t = 1…T−1 (float64): the Eq. 12 coefficients and β̃ against their
 * formulas, Eqs. 27–29 (A·√ᾱ_t + coefTx0 = √ᾱ_{t−1}), the Eq. 31 numerator, Eqs. 30–32 (β̃ + A²(1−ᾱ_t) = 1−ᾱ_{t−1}).
 */
export function appendixBErrors(sch: Schedule): { eq12: number; eq29: number; eq31: number; eq32: number } {
  const out = { eq12: 0, eq29: 0, eq31: 0, eq32: 0 };
  for (let t = 1; t < sch.T; t++) {
    const c = stepCoefs(sch, t), ab = sch.alphasCumprod[t], abPrev = sch.alphasCumprodPrev[t], a = sch.alphas[t], b = sch.betas[t];
    out.eq12 = Math.max(out.eq12, Math.abs(c.coefTx0 - (Math.sqrt(abPrev) * b) / (1 - ab)), Math.abs(c.coefXt - (Math.sqrt(a) * (1 - abPrev)) / (1 - ab)),
      Math.abs(posteriorVariance(sch, t) - ((1 - abPrev) / (1 - ab)) * b));
    out.eq29 = Math.max(out.eq29, Math.abs(c.coefXt * Math.sqrt(ab) + c.coefTx0 - Math.sqrt(abPrev)));
    out.eq31 = Math.max(out.eq31, Math.abs((1 - abPrev - a + ab + a - 2 * ab + a * abPrev ** 2) / (1 - ab) - (1 - abPrev)));
    out.eq32 = Math.max(out.eq32, Math.abs(c.betaTilde + c.coefXt ** 2 * (1 - ab) - (1 - abPrev)));
  }
  return out;
}

/** T's response to a unit impulse at the centre of an r×r grid: mass, variance per axis (px²), max |Tᵗ − T|, cond(T). */
export function impulseResponse(T: Mollifier, r: number): { mass: number; variancePerAxis: number; asymmetry: number; conditionNumber: number } {
  const c = Math.floor(r / 2);
  const [mass, second] = tf.tidy(() => {
    const impulse = tf.reshape(tf.oneHot([c * r + c], r * r).toFloat(), [1, r, r, 1]) as tf.Tensor4D;
    const response = T.apply(impulse);
    const d2 = tf.tensor4d(Float32Array.from({ length: r * r }, (_, i) => (Math.floor(i / r) - c) ** 2 + ((i % r) - c) ** 2), [1, r, r, 1]);
    return [tf.sum(response).dataSync()[0], tf.sum(tf.mul(response, d2)).dataSync()[0]];
  });
  const g = T.at(r, r), n = r * r, D = g.denseMatrix();
  let asymmetry = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) asymmetry = Math.max(asymmetry, Math.abs(D[i * n + j] - D[j * n + i]));
  return { mass, variancePerAxis: second / 2, asymmetry, conditionNumber: 1 / (Math.min(...g.gainH) * Math.min(...g.gainW)) };
}

/** diag(TTᵗ) per pixel of an H×W grid, [1,H,W,1]: Σ_j T_ij², read off T's dense matrix. */
export function diagTTt(T: Mollifier, H: number, W: number): tf.Tensor4D {
  const D = T.at(H, W).denseMatrix(), n = H * W, out = new Float32Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += D[i * n + j] ** 2;
  return tf.tensor4d(out, [1, H, W, 1]);
}

// type aliases (not interfaces) so rows are plain records that table views accept
/** One timestep of the forward-process check: measured against predicted mean and variance. */
export type ForwardMomentsRow = { t: number; "RMS z of mean": number; "var / theory": number; "theory var (mean px)": number };

/**
 * Eq. 11 by Monte Carlo: `n` draws of x_t from one image x0 [1,H,W,C] per t; the per-pixel mean against √ᾱ_t·Tx₀
 * (z-scores, RMS ≈ 1) and the per-pixel variance against (1−ᾱ_t)·diag(TTᵗ) (ratio ≈ 1).
 */
export function forwardMoments(T: Mollifier, sch: Schedule, x0: tf.Tensor4D, ts: readonly number[], n: number, rng: Rng): ForwardMomentsRow[] {
  const [, H, W, C] = x0.shape;
  return ts.map((t) => tf.tidy(() => {
    const dTT = diagTTt(T, H, W);
    const xs = qSample(tf.tile(x0, [n, 1, 1, 1]) as tf.Tensor4D, rng.normalTensor<tf.Rank.R4>([n, H, W, C]), new Array(n).fill(t), sch, T);
    const { mean, variance } = tf.moments(xs, 0);
    const { mean: mu, varianceFactor } = qMeanVariance(T.apply(x0), [t], sch);
    const varTh = tf.mul(dTT, varianceFactor[0]);
    const z = tf.div(tf.sub(mean, mu), tf.sqrt(tf.div(varTh, n)));
    return {
      t, "RMS z of mean": Math.sqrt(tf.mean(tf.square(z)).dataSync()[0]), "var / theory": tf.mean(tf.div(variance, varTh)).dataSync()[0],
      "theory var (mean px)": tf.mean(varTh).dataSync()[0],
    };
  }));
}

/** One timestep of the posterior check: simulated against closed-form posterior moments. */
export type PosteriorSimulationRow = {
  t: number;
  "RMS z of E[r]": number;
  "RMS corr(r, x_t)·√N": number;
  "Var r / β̃ diag(TTᵗ)": number;
  "composed: RMS z of mean": number;
  "composed: var / (1−ᾱ_{t−1}) diag(TTᵗ)": number;
};

/**
 * Eq. 12 as Bayes' rule, by simulation from one image x0 [1,H,W,C]: pairs x_{t−1} ~ q(x_{t−1}|x₀), x_t one forward
 * step on; the residual r = x_{t−1} − μ̃_t(x_t, x₀) has mean 0, no correlation with x_t and variance β̃_t·diag(TTᵗ).
 * Then the composition x_t ~ q(x_t|x₀) → posteriorSample lands on q(x_{t−1}|x₀) (App. B's marginalisation).
 */
export function posteriorBySimulation(T: Mollifier, sch: Schedule, x0: tf.Tensor4D, ts: readonly number[], n: number, rng: Rng): PosteriorSimulationRow[] {
  const [, H, W, C] = x0.shape;
  return ts.map((t) => tf.tidy(() => {
    const dTT = diagTTt(T, H, W);
    const x0n = tf.tile(x0, [n, 1, 1, 1]) as tf.Tensor4D;
    const Tx0 = T.apply(x0), Tx0n = tf.tile(Tx0, [n, 1, 1, 1]) as tf.Tensor4D;
    const xPrev = qSample(x0n, rng.normalTensor<tf.Rank.R4>([n, H, W, C]), new Array(n).fill(t - 1), sch, T);
    const xt = tf.add(tf.mul(Math.sqrt(sch.alphas[t]), xPrev), tf.mul(Math.sqrt(sch.betas[t]), T.apply(rng.normalTensor<tf.Rank.R4>([n, H, W, C])))) as tf.Tensor4D;
    const r = tf.sub(xPrev, posteriorMean(xt, Tx0n, new Array(n).fill(t), sch));
    const [mr, mx] = [tf.moments(r, 0), tf.moments(xt, 0)];
    const corr = tf.div(tf.mean(tf.mul(tf.sub(r, mr.mean), tf.sub(xt, mx.mean)), 0), tf.sqrt(tf.mul(mr.variance, mx.variance)));
    const varTh = tf.mul(dTT, sch.betaTilde[t]);
    const xtFwd = qSample(x0n, rng.normalTensor<tf.Rank.R4>([n, H, W, C]), new Array(n).fill(t), sch, T);
    const back = tf.moments(posteriorSample(xtFwd, Tx0n, t, t - 1, sch, T, rng), 0);
    const margVar = tf.mul(dTT, 1 - sch.alphasCumprod[t - 1]);
    return {
      t,
      "RMS z of E[r]": Math.sqrt(tf.mean(tf.div(tf.square(mr.mean), tf.div(varTh, n))).dataSync()[0]),
      "RMS corr(r, x_t)·√N": Math.sqrt(tf.mean(tf.square(corr)).dataSync()[0] * n),
      "Var r / β̃ diag(TTᵗ)": tf.mean(tf.div(mr.variance, varTh)).dataSync()[0],
      "composed: RMS z of mean": Math.sqrt(tf.mean(tf.div(tf.square(tf.sub(back.mean, tf.mul(Math.sqrt(sch.alphasCumprod[t - 1]), Tx0))), tf.div(margVar, n))).dataSync()[0]),
      "composed: var / (1−ᾱ_{t−1}) diag(TTᵗ)": tf.mean(tf.div(back.variance, margVar)).dataSync()[0],
    };
  }));
}
