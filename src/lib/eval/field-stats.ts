/**
 * Statistics of random fields on plain arrays (float64 accumulation), for the noise-field notebook: per-pixel
 * variance, correlation against CONTINUOUS distance (offsets divided by the grid width, so curves from different
 * resolutions share an axis) and radially averaged power spectra. Samples are row-major [S, H, W]. Computation only:
 * the views that plot these numbers are in src/viz (fields.ts).
 */

function check(samples: ArrayLike<number>, s: number, h: number, w: number): void {
  if (samples.length !== s * h * w) throw new Error(`samples have ${samples.length} values for [${s},${h},${w}]`);
}

/** Per-pixel variance over S samples (mean 0 assumed, as for noise): [H·W]. */
export function pixelVariance(samples: ArrayLike<number>, s: number, h: number, w: number): Float64Array {
  check(samples, s, h, w);
  const v = new Float64Array(h * w);
  for (let k = 0; k < s; k++) for (let i = 0; i < h * w; i++) v[i] += samples[k * h * w + i] ** 2;
  for (let i = 0; i < h * w; i++) v[i] /= s;
  return v;
}

/** Mean of an array of field values (float64). */
export function meanOf(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i];
  return m / xs.length;
}

/** Correlation between pixel values against their continuous distance, with the closed form beside it. */
export interface CorrelationCurve {
  /** offset in pixels, 0…maxOffset */
  offset: number[];
  /** offset / W: distance in units of the image side */
  distance: number[];
  /** correlation E[x(p) x(p+d)] / E[x²], pooled over samples, pixels and both axes */
  corr: number[];
}

/**
 * Correlation between pixels d apart along rows and columns (stationarity assumed; pairs stay inside the grid, no
 * wrap-around), for d = 0 … ceil(maxDistance·W).
 */
export function correlationVsDistance(samples: ArrayLike<number>, s: number, h: number, w: number, maxDistance = 0.1): CorrelationCurve {
  check(samples, s, h, w);
  const maxOffset = Math.min(w - 1, h - 1, Math.ceil(maxDistance * w));
  const num = new Float64Array(maxOffset + 1);
  const cnt = new Float64Array(maxOffset + 1);
  for (let k = 0; k < s; k++) {
    const base = k * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const a = samples[base + y * w + x];
        for (let d = 0; d <= maxOffset; d++) {
          if (x + d < w) { num[d] += a * samples[base + y * w + x + d]; cnt[d]++; }
          if (d > 0 && y + d < h) { num[d] += a * samples[base + (y + d) * w + x]; cnt[d]++; }
        }
      }
    }
  }
  const var0 = num[0] / cnt[0];
  const offset: number[] = [], distance: number[] = [], corr: number[] = [];
  for (let d = 0; d <= maxOffset; d++) {
    offset.push(d);
    distance.push(d / w);
    corr.push(num[d] / cnt[d] / var0);
  }
  return { offset, distance, corr };
}

/** In-place iterative radix-2 FFT of (re, im), length a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n !== im.length || (n & (n - 1)) !== 0) throw new Error(`fft needs equal power-of-two lengths, got ${n}, ${im.length}`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k, b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/** 2-D DFT power |F(u,v)|² / (H·W) of a row-major [H, W] field (H, W powers of two). White N(0,1) noise → 1 on average. */
export function powerSpectrum2d(field: ArrayLike<number>, h: number, w: number): Float64Array {
  const re = new Float64Array(h * w), im = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) re[i] = field[i];
  const rr = new Float64Array(w), ri = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    rr.set(re.subarray(y * w, (y + 1) * w)); ri.set(im.subarray(y * w, (y + 1) * w));
    fft(rr, ri);
    re.set(rr, y * w); im.set(ri, y * w);
  }
  const cr = new Float64Array(h), ci = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) { cr[y] = re[y * w + x]; ci[y] = im[y * w + x]; }
    fft(cr, ci);
    for (let y = 0; y < h; y++) { re[y * w + x] = cr[y]; im[y * w + x] = ci[y]; }
  }
  const p = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) p[i] = (re[i] * re[i] + im[i] * im[i]) / (h * w);
  return p;
}

/** Power spectrum of fields averaged over rings of equal frequency. */
export interface RadialSpectrum {
  /** radial frequency in cycles per image side (integer bins 1 … min(H,W)/2) */
  freq: number[];
  /** mean power in the bin, averaged over samples */
  power: number[];
}

/**
 * Radially averaged power spectrum over S samples. Frequencies are in cycles per image side, i.e. in continuous
 * units: the same physical frequency has the same abscissa at every resolution, and a finer grid just adds higher
 * bins. The DC bin is left out.
 */
export function radialPowerSpectrum(samples: ArrayLike<number>, s: number, h: number, w: number): RadialSpectrum {
  check(samples, s, h, w);
  const nb = Math.floor(Math.min(h, w) / 2);
  const sum = new Float64Array(nb + 1), cnt = new Float64Array(nb + 1);
  for (let k = 0; k < s; k++) {
    const field = Array.prototype.slice.call(samples, k * h * w, (k + 1) * h * w) as number[];
    const p = powerSpectrum2d(field, h, w);
    for (let y = 0; y < h; y++) {
      const fy = y <= h / 2 ? y : y - h;
      for (let x = 0; x < w; x++) {
        const fx = x <= w / 2 ? x : x - w;
        const r = Math.round(Math.hypot(fx, fy));
        if (r >= 1 && r <= nb) { sum[r] += p[y * w + x]; cnt[r]++; }
      }
    }
  }
  const freq: number[] = [], power: number[] = [];
  for (let r = 1; r <= nb; r++) { freq.push(r); power.push(sum[r] / cnt[r]); }
  return { freq, power };
}

/**
 * Radially averaged power of orthonormal 2-D DCT-II coefficients [S, H, W] (e.g. from the mollifier's `dct`): the
 * leak-free spectrum for fields with the mollifier's reflective boundary. Coefficient (k_h, k_w) is the cosine
 * cos(πk_h y)·cos(πk_w x) on [0,1]², i.e. frequency ρ/2 cycles per image side with ρ = √(k_h² + k_w²); bins are
 * round(ρ) = 1 … min(H,W) − 1 (DC left out). White N(0,1) noise gives power 1 in every bin.
 * `perArea`: divide by H·W, the continuous-domain spectral density (pixel area 1/(H·W)), which is the same at every
 * resolution for discretisations of one continuous random field.
 */
export function radialDctPowerSpectrum(coeffs: ArrayLike<number>, s: number, h: number, w: number, opts: { perArea?: boolean } = {}): RadialSpectrum {
  check(coeffs, s, h, w);
  const nb = Math.min(h, w) - 1;
  const sum = new Float64Array(nb + 1), cnt = new Float64Array(nb + 1);
  for (let k = 0; k < s; k++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const r = Math.round(Math.hypot(y, x));
        if (r < 1 || r > nb) continue;
        const c = coeffs[(k * h + y) * w + x];
        sum[r] += c * c;
        cnt[r]++;
      }
    }
  }
  const scale = opts.perArea ? 1 / (h * w) : 1;
  const freq: number[] = [], power: number[] = [];
  for (let r = 1; r <= nb; r++) { freq.push(r / 2); power.push((sum[r] / cnt[r]) * scale); }
  return { freq, power };
}
