/**
 * The forward process as plain arrays for a slider over t (notebook 01): x_t for white (T = I, §3.1) and mollified
 * (§3.2) noise at several resolutions, with ᾱ_t, the SNR and the per-pixel noise variance (closed form and measured).
 * Every resolution sees one continuous draw: ξ at r is the area average of one fine field (`nestedWhiteNoise`) and
 * x₀ at r is the r₀ image resized bilinearly, so the panels differ only in how they discretise.
 */
import { tf } from "../../runtime/backend";
import { Mollifier } from "../../diffusion/mollifier";
import { Schedule } from "../../diffusion/schedules";
import { qSample } from "../../diffusion/forward";
import { nestedWhiteNoise } from "../sample";
import { Rng } from "../../runtime/rng";

/** One row of the forward-process slider: frames of x_t over t with measured and closed-form variance. */
export interface ForwardPanel {
  kind: "white" | "mollified";
  resolution: number;
  /** one row-major [r·r] field per t (first image, channel 0) */
  frames: Float32Array[];
  /** closed-form per-pixel variance of the noise term per t: (1−ᾱ_t)·c²·mean diag(TTᵗ) (white: 1−ᾱ_t) */
  varianceTheory: number[];
  /** measured: variance over pixels of x_t − √ᾱ_t·Tx₀ per t (one draw) */
  varianceMeasured: number[];
}

/** The forward-process slider's data: the timesteps and a panel per process and resolution. */
export interface ForwardSteps {
  ts: number[];
  alphaBar: number[];
  /** ᾱ_t / (1 − ᾱ_t) */
  snr: number[];
  panels: ForwardPanel[];
}

/** Mean of diag(TTᵗ) on an r×r grid: Σ g_h² Σ g_w² / (H·W) with T = Dᵗ diag(g) D per axis. */
export function meanDiagTTt(mollifier: Mollifier, r: number): number {
  if (mollifier.isIdentity) return 1;
  const g = mollifier.at(r, r);
  const sq = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);
  return (sq(g.gainH) * sq(g.gainW)) / (r * r);
}

/**
 * x0 [1, r₀, r₀, C] in [−1, 1]; `resolutions` must divide the largest one. Channel 0 is shown.
 */
export function forwardProcessSteps(opts: {
  x0: tf.Tensor4D;
  resolutions: number[];
  ts: number[];
  schedule: Schedule;
  mollifier: Mollifier;
  seed?: number;
}): ForwardSteps {
  const { x0, schedule, mollifier, ts } = opts;
  const C = x0.shape[3];
  const R = Math.max(...opts.resolutions);
  for (const t of ts) if (!(Number.isInteger(t) && t >= 0 && t < schedule.T)) throw new Error(`t = ${t} not in 0…${schedule.T - 1}`);
  const fine = new Rng(opts.seed ?? 0).normals(R * R * C);
  const white = Mollifier.identity();
  const panels: ForwardPanel[] = [];
  for (const r of opts.resolutions) {
    const xi = nestedWhiteNoise(fine, 1, R, C, r);
    for (const kind of ["white", "mollified"] as const) {
      const T = kind === "white" ? white : mollifier;
      const c = T.noiseMultiplier(r, r);
      const frames: Float32Array[] = [], measured: number[] = [];
      tf.tidy(() => {
        const xr = (r === x0.shape[1] ? x0 : tf.image.resizeBilinear(x0, [r, r], false, true)) as tf.Tensor4D;
        const cxi = tf.mul(tf.tensor4d(xi, [1, r, r, C]), c) as tf.Tensor4D;
        const Tx0 = T.apply(xr);
        for (const t of ts) {
          const xt = qSample(xr, cxi, [t], schedule, T);
          frames.push(tf.slice(xt, [0, 0, 0, 0], [1, r, r, 1]).dataSync() as Float32Array);
          const noise = tf.sub(xt, tf.mul(Math.sqrt(schedule.alphasCumprod[t]), Tx0));
          measured.push(tf.moments(noise).variance.dataSync()[0]);
        }
      });
      const d = meanDiagTTt(T, r) * c * c;
      panels.push({ kind, resolution: r, frames, varianceMeasured: measured, varianceTheory: ts.map((t) => (1 - schedule.alphasCumprod[t]) * d) });
    }
  }
  white.dispose();
  const alphaBar = ts.map((t) => schedule.alphasCumprod[t]);
  return { ts: ts.slice(), alphaBar, snr: alphaBar.map((a) => a / (1 - a)), panels };
}
