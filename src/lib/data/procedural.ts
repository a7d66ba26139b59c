/**
 * Procedural images with exact ground truth at every resolution. An image is a function on [0, 1]²
 *   f_c(x, y) = b_c + Σ_k a_{k,c} · exp(−(x−μx_k)²/(2σx_k²) − (y−μy_k)²/(2σy_k²))
 * (axis-aligned Gaussian bumps). A pixel is the exact average of f over its cell, in closed form: the integral of
 * a separable bump over a rectangle is a product of erf differences. So rendering at 2r and averaging 2×2 blocks
 * gives the r-rendering exactly (the erf values at shared cell edges telescope), and so does area-averaging any
 * integer factor — resolution generalisation can be measured against truth, not against an interpolant.
 * Values stay in [−1, 1]: amplitudes satisfy Σ|a| ≤ 2 and b is drawn so that b − Σa⁻ ≥ −1 and b + Σa⁺ ≤ 1.
 */
import { Rng } from "../runtime/rng";
import { ImageSet } from "./image-ops";

/** One bump: centre (mx, my) and widths (sx, sy) in [0, 1] units (x across columns, y down rows); amp [C]. */
export interface Bump { mx: number; my: number; sx: number; sy: number; amp: number[] }
/** One analytic image: background [C] plus bumps. */
export interface ProceduralSpec { background: number[]; bumps: Bump[] }

/** How procedural images are drawn: count, size, channels and random source. */
export interface ProceduralOptions {
  /** number of bumps per image, inclusive range (default [3, 8]) */
  bumps?: [number, number];
  /** bump width σ in image-side units, range (default [0.04, 0.2]) */
  sigma?: [number, number];
  /** channels (default 1) */
  channels?: number;
}

const SQRT2 = Math.SQRT2;
const TWO_OVER_SQRTPI = 2 / Math.sqrt(Math.PI);

/**
 * erf in float64 (absolute error ≈ 1e-15): for |x| ≤ 3 the all-positive series
 * erf x = (2/√π) e^{−x²} Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1)) (no cancellation); beyond, 1 − erfc from its
 * continued fraction (modified Lentz).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  if (ax <= 3) {
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.sign(x) * TWO_OVER_SQRTPI * Math.exp(-ax * ax) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated by Lentz's method.
  const tiny = 1e-300;
  let f = ax, C = ax, D = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    D = ax + an * D;
    D = D === 0 ? tiny : 1 / D;
    C = ax + an / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

/**
 * Cell averages of exp(−(t−m)²/(2s²)) over the n cells [j/n, (j+1)/n): n·s·√(π/2)·[erf((t₁−m)/(√2 s)) − erf((t₀−m)/(√2 s))].
 * Edges are computed as j/n so that the edges shared between resolutions r and 2r are bit-identical.
 */
function cellAverages(n: number, m: number, s: number): Float64Array {
  const E = new Float64Array(n + 1);
  for (let j = 0; j <= n; j++) E[j] = erf((j / n - m) / (SQRT2 * s));
  const out = new Float64Array(n);
  const k = n * s * Math.sqrt(Math.PI / 2);
  for (let j = 0; j < n; j++) out[j] = k * (E[j + 1] - E[j]);
  return out;
}

/** Draws n analytic images (seeded). */
export function proceduralSpecs(n: number, rng: Rng, opts: ProceduralOptions = {}): ProceduralSpec[] {
  const [kMin, kMax] = opts.bumps ?? [3, 8];
  const [sMin, sMax] = opts.sigma ?? [0.04, 0.2];
  const C = opts.channels ?? 1;
  if (!(kMin >= 1 && kMax >= kMin && Number.isInteger(kMin) && Number.isInteger(kMax))) throw new Error(`bad bumps range ${kMin}..${kMax}`);
  if (!(sMin > 0 && sMax >= sMin)) throw new Error(`bad sigma range ${sMin}..${sMax}`);
  if (!(Number.isInteger(C) && C >= 1)) throw new Error(`channels must be a positive integer, got ${C}`);
  const specs: ProceduralSpec[] = [];
  for (let i = 0; i < n; i++) {
    const K = kMin + rng.int(kMax - kMin + 1);
    const bumps: Bump[] = [];
    for (let k = 0; k < K; k++) {
      const u = () => sMin * Math.pow(sMax / sMin, rng.next()); // log-uniform width
      bumps.push({ mx: rng.next(), my: rng.next(), sx: u(), sy: u(), amp: Array.from({ length: C }, () => 2 * rng.next() - 1) });
    }
    const background: number[] = [];
    for (let c = 0; c < C; c++) {
      // Rescale so Σ|a| ≤ 2 with some headroom kept random, then place b where the range stays in [−1, 1].
      let abs = 0;
      for (const b of bumps) abs += Math.abs(b.amp[c]);
      const scale = abs > 0 ? (2 * (0.6 + 0.4 * rng.next())) / abs : 0;
      let pos = 0, neg = 0;
      for (const b of bumps) {
        b.amp[c] *= scale;
        if (b.amp[c] > 0) pos += b.amp[c]; else neg -= b.amp[c];
      }
      const lo = -1 + neg, hi = 1 - pos;
      background.push(lo + (hi - lo) * rng.next());
    }
    specs.push({ background, bumps });
  }
  return specs;
}

/** Renders specs by exact cell averaging: images [N, H, W, C] on the H×W grid over [0, 1]². */
export function renderProcedural(specs: readonly ProceduralSpec[], height: number, width: number = height): ImageSet {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`resolution must be positive integers, got ${height}×${width}`);
  }
  const C = specs.length ? specs[0].background.length : 1;
  const out = new Float32Array(specs.length * height * width * C);
  const acc = new Float64Array(height * width * C); // one image [H, W, C]
  specs.forEach((s, b) => {
    for (let p = 0; p < height * width; p++) for (let c = 0; c < C; c++) acc[p * C + c] = s.background[c];
    for (const k of s.bumps) {
      const gy = cellAverages(height, k.my, k.sy), gx = cellAverages(width, k.mx, k.sx);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const g = gy[y] * gx[x];
          for (let c = 0; c < C; c++) acc[(y * width + x) * C + c] += k.amp[c] * g;
        }
      }
    }
    out.set(acc, b * height * width * C);
  });
  return { images: out, shape: [specs.length, height, width, C] };
}

/** n seeded procedural images at height×width, with their specs to render the same functions elsewhere. */
export function proceduralImages(opts: ProceduralOptions & { n: number; height: number; width?: number; rng: Rng }):
  ImageSet & { specs: ProceduralSpec[] } {
  const specs = proceduralSpecs(opts.n, opts.rng, opts);
  return { ...renderProcedural(specs, opts.height, opts.width ?? opts.height), specs };
}

/** The function itself at a point (for tests against numerical integration and for plotting). */
export function evalProcedural(spec: ProceduralSpec, x: number, y: number, c = 0): number {
  let v = spec.background[c];
  for (const k of spec.bumps) {
    v += k.amp[c] * Math.exp(-((x - k.mx) ** 2) / (2 * k.sx * k.sx) - ((y - k.my) ** 2) / (2 * k.sy * k.sy));
  }
  return v;
}
