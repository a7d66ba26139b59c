/**
 * Noise fields across resolutions as plain arrays for a slider over r (notebook 02): white noise ξ, its
 * mollification Tξ and T(cξ) with c = r/r₀ (the lab's noise multiplier, ∞-Diff §3.2), with their mean per-pixel
 * variance (measured and closed form) and their correlation against continuous distance.
 */
import { tf } from "../../runtime/backend";
import { Mollifier } from "../../diffusion/mollifier";
import { Rng } from "../../runtime/rng";
import { meanDiagTTt } from "./forward-steps";

/** Which noise field: white ξ, mollified Tξ, or mollified and scaled T(cξ). */
export type NoiseKind = "xi" | "Txi" | "Tcxi";
/** Every noise-field kind. */
export const NOISE_KINDS: readonly NoiseKind[] = ["xi", "Txi", "Tcxi"];

/** One frame of the noise-field slider: the fields of each kind at one resolution, with their variances. */
export interface NoiseStep {
  resolution: number;
  /** noise multiplier c = r/r₀ */
  c: number;
  /** side of the shown fields: r, or r/stride when r exceeds `displayMax` */
  shown: number;
  stride: number;
  /** first sample of each kind, row-major [shown·shown] (every stride-th pixel) */
  fields: Record<NoiseKind, Float32Array>;
  /** mean per-pixel variance over the samples, measured and closed form */
  variance: Record<NoiseKind, number>;
  varianceTheory: Record<NoiseKind, number>;
  /** correlation at lags of 0…L pixels (both axes pooled), against distance lag/r in image sides */
  distance: number[];
  corr: Record<NoiseKind, number[]>;
}

/** Correlation of fields [n, r, r] at horizontal and vertical lags 0…maxLag (zero-mean fields; pooled variance). */
export function lagCorrelation(v: ArrayLike<number>, n: number, r: number, maxLag: number): number[] {
  let v0 = 0;
  for (let i = 0; i < n * r * r; i++) v0 += v[i] * v[i];
  v0 /= n * r * r;
  const out: number[] = [];
  for (let d = 0; d <= maxLag; d++) {
    let s = 0, cnt = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < r; i++) for (let j = 0; j + d < r; j++) {
      const o = b * r * r;
      s += v[o + i * r + j] * v[o + i * r + j + d] + v[o + j * r + i] * v[o + (j + d) * r + i];
      cnt += 2;
    }
    out.push(s / cnt / v0);
  }
  return out;
}

function meanPixelVariance(v: ArrayLike<number>, n: number, px: number): number {
  let s = 0;
  for (let p = 0; p < px; p++) {
    let m = 0, q = 0;
    for (let b = 0; b < n; b++) { const x = v[b * px + p]; m += x; q += x * x; }
    m /= n;
    s += n > 1 ? (q - n * m * m) / (n - 1) : q;
  }
  return s / px;
}

/**
 * `samples` independent fields per resolution; correlation out to `maxDistance` (image sides); fields above
 * `displayMax` pixels a side are shown every stride-th pixel.
 */
export function noiseFieldSteps(opts: {
  resolutions: number[];
  mollifier: Mollifier;
  samples: number;
  seed?: number;
  maxDistance?: number;
  displayMax?: number;
}): NoiseStep[] {
  const { mollifier, samples: n } = opts;
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`samples must be an integer ≥ 2, got ${n}`);
  const rng = new Rng(opts.seed ?? 0);
  const maxD = opts.maxDistance ?? (4 * mollifier.stdRef) / mollifier.resRef;
  const displayMax = opts.displayMax ?? 128;
  return opts.resolutions.map((r) => {
    const c = mollifier.noiseMultiplier(r, r);
    const [xi, Txi] = tf.tidy(() => {
      const x = rng.normalTensor([n, r, r, 1]) as tf.Tensor4D;
      return [x.dataSync() as Float32Array, mollifier.apply(x).dataSync() as Float32Array];
    });
    const Tcxi = Txi.map((v) => v * c);
    const data: Record<NoiseKind, Float32Array> = { xi, Txi, Tcxi };
    const stride = Math.max(1, Math.ceil(r / displayMax));
    const shown = Math.ceil(r / stride);
    const maxLag = Math.max(1, Math.min(r - 1, Math.round(maxD * r)));
    const d = meanDiagTTt(mollifier, r);
    const step: NoiseStep = {
      resolution: r, c, shown, stride,
      fields: {} as Record<NoiseKind, Float32Array>, variance: {} as Record<NoiseKind, number>,
      varianceTheory: { xi: 1, Txi: d, Tcxi: c * c * d },
      distance: Array.from({ length: maxLag + 1 }, (_, i) => i / r),
      corr: {} as Record<NoiseKind, number[]>,
    };
    for (const k of NOISE_KINDS) {
      const f = new Float32Array(shown * shown);
      for (let i = 0; i < shown; i++) for (let j = 0; j < shown; j++) f[i * shown + j] = data[k][i * stride * r + j * stride];
      step.fields[k] = f;
      step.variance[k] = meanPixelVariance(data[k], n, r * r);
      step.corr[k] = lagCorrelation(data[k], n, r, maxLag);
    }
    return step;
  });
}
