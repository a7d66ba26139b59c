/**
 * FID and KID on the lab's feature network (∞-Diff §5 reports FID_CLIP; we use our Fashion-MNIST CNN's 128-d
 * penultimate features instead — see feature-net.ts). All statistics are float64.
 *
 * FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}   (Heusel et al. 2017; the trace term
 *   is computed from the eigenvalues of the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2}, which has the same
 *   spectrum as Σ₁Σ₂, so no non-symmetric square root is needed).
 * KID = unbiased MMD² with the kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets (Bińkowski et al. 2018).
 */
import { tf, syncReadsAvailable } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { ImageSet } from "../data/image-ops";
import { symEig, sqrtPsd, matMul64 } from "./linalg";
import { Features, FeatureNet, sharedFeatureNet } from "./feature-net";
import { sampleStd } from "./statistics";

/** Gaussian fit to features: mean [D], covariance [D, D] (unbiased, N − 1). */
export interface FeatureStats { mu: Float64Array; sigma: Float64Array; d: number; n: number }

/** Mean and covariance of features: the Gaussian FID compares. */
export function featureStats(f: Features): FeatureStats {
  const { values: x, n, d } = f;
  if (n < 2) throw new Error(`featureStats needs at least 2 feature vectors, got ${n}`);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mu[j] /= n;
  const sigma = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mu[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) sigma[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) {
    const v = sigma[a * d + b] / (n - 1);
    sigma[a * d + b] = v;
    sigma[b * d + a] = v;
  }
  return { mu, sigma, d, n };
}

/** Fréchet distance between two Gaussians. */
export function fidFromStats(a: Pick<FeatureStats, "mu" | "sigma" | "d">, b: Pick<FeatureStats, "mu" | "sigma" | "d">): number {
  return frechet(a, b, sqrtPsd(a.sigma, a.d));
}

/** fidFromStats with Σₐ^{1/2} given (a bootstrap against a fixed reference computes it once). */
function frechet(a: Pick<FeatureStats, "mu" | "sigma" | "d">, b: Pick<FeatureStats, "mu" | "sigma" | "d">, s1h: Float64Array): number {
  const d = a.d;
  if (b.d !== d) throw new Error(`feature dimensions differ: ${a.d} vs ${b.d}`);
  let dm = 0, tr = 0;
  for (let j = 0; j < d; j++) {
    dm += (a.mu[j] - b.mu[j]) ** 2;
    tr += a.sigma[j * d + j] + b.sigma[j * d + j];
  }
  const m = matMul64(matMul64(s1h, b.sigma, d), s1h, d);
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) {
    const v = 0.5 * (m[i * d + j] + m[j * d + i]); // symmetrise away round-off
    m[i * d + j] = v;
    m[j * d + i] = v;
  }
  let trSqrt = 0;
  for (const l of symEig(m, d).values) trSqrt += Math.sqrt(Math.max(l, 0));
  return Math.max(dm + tr - 2 * trSqrt, 0);
}

/** FID between two feature sets [N₁, D] and [N₂, D]. */
export function fid(a: Features, b: Features): number {
  return fidFromStats(featureStats(a), featureStats(b));
}

/** FID with its spread over resampled samples (the reference fixed): sd, 95 % interval, bias. */
export interface FidBootstrap {
  /** FID of all the samples */
  fid: number;
  /** standard deviation of FID over resamples: the spread of FID when the model is sampled again at this n */
  std: number;
  /** fid ± 1.96 std (a normal bootstrap interval, centred on the estimate: see below) */
  interval95: [number, number];
  /** mean of the resampled FIDs − fid (duplicated points inflate FID; reported, not corrected) */
  bias: number;
  resamples: number;
}

/**
 * How far FID moves when the model is sampled again: a bootstrap over the members of `a` (the model's samples, drawn
 * with replacement), the reference `b` fixed. A resample repeats points, which shifts FID upwards by about the size of
 * its spread, so a percentile interval would sit beside the estimate; the interval is therefore centred on the
 * estimate with the bootstrap's standard deviation, and the shift is reported as `bias`. At n = 1,000 and 128-d
 * features a resample costs one covariance and one 128×128 eigendecomposition (≈ 0.1–0.2 s here).
 */
export function fidBootstrap(a: Features, b: Features, opts: { resamples?: number; seed?: number } = {}): FidBootstrap {
  const B = opts.resamples ?? 100;
  if (!(Number.isInteger(B) && B >= 2)) throw new Error(`fidBootstrap: resamples must be an integer ≥ 2, got ${B}`);
  const rng = new Rng(opts.seed ?? 0);
  const ref = featureStats(b);
  const refSqrt = sqrtPsd(ref.sigma, ref.d); // FID is symmetric: the fixed side's square root serves every resample
  const point = fidFromStats(featureStats(a), ref); // exactly fid(a, b), as every earlier result
  const { n, d } = a;
  const picked = new Float32Array(n * d);
  const fids: number[] = [];
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      picked.set(a.values.subarray(j * d, (j + 1) * d), i * d);
    }
    fids.push(frechet(ref, featureStats({ values: picked, n, d }), refSqrt));
  }
  const std = sampleStd(fids) ?? 0;
  const z = 1.959963984540054;
  return { fid: point, std, interval95: [point - z * std, point + z * std], bias: fids.reduce((t, x) => t + x, 0) / B - point, resamples: B };
}

/** KID's subsets: how many and of what size, and the random source. */
export interface KidOptions {
  /** number of random subset pairs (default 100) */
  subsets?: number;
  /** images per subset (default min(1000, N₁, N₂)) */
  subsetSize?: number;
  /** subset draws (default new Rng(0), so KID is deterministic) */
  rng?: Rng;
}

/** Kernel matrix rows×cols of (xᵀy/d + 1)³ in float64. x [N, D], y [M, D] → [N, M]. */
function polyKernel(x: Float32Array, n: number, y: Float32Array, m: number, d: number): Float64Array {
  const k = new Float64Array(n * m);
  if (!syncReadsAvailable()) {
    // webgpu cannot read synchronously: the features are plain arrays already, so take the dot products in float64
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += x[i * d + c] * y[j * d + c];
      k[i * m + j] = (dot / d + 1) ** 3;
    }
    return k;
  }
  const g = tf.tidy(() => tf.matMul(tf.tensor2d(x, [n, d]), tf.tensor2d(y, [m, d]), false, true)); // [N, M]
  const dots = g.dataSync();
  g.dispose();
  for (let i = 0; i < n * m; i++) k[i] = (dots[i] / d + 1) ** 3;
  return k;
}

/**
 * KID: mean and standard deviation over subsets of the unbiased MMD² estimate
 * (Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)) / (m(m−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / m².
 * The three kernel matrices over all rows are computed once (tf.matMul), subsets index into them.
 */
export function kid(a: Features, b: Features, opts: KidOptions = {}): { mean: number; std: number; values: Float64Array } {
  const d = a.d;
  if (b.d !== d) throw new Error(`feature dimensions differ: ${a.d} vs ${b.d}`);
  const m = opts.subsetSize ?? Math.min(1000, a.n, b.n);
  if (!(Number.isInteger(m) && m >= 2 && m <= a.n && m <= b.n)) throw new Error(`subsetSize must be in [2, min(N₁, N₂)], got ${m}`);
  const subsets = opts.subsets ?? 100;
  const rng = opts.rng ?? new Rng(0);
  const kxx = polyKernel(a.values, a.n, a.values, a.n, d);
  const kyy = polyKernel(b.values, b.n, b.values, b.n, d);
  const kxy = polyKernel(a.values, a.n, b.values, b.n, d);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    // The whole set when m = N (no sampling needed); else a random subset without replacement.
    const ix = m === a.n ? Int32Array.from({ length: m }, (_, i) => i) : rng.permutation(a.n).subarray(0, m);
    const iy = m === b.n ? Int32Array.from({ length: m }, (_, i) => i) : rng.permutation(b.n).subarray(0, m);
    let sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < m; i++) {
      const ri = ix[i] * a.n, rj = iy[i] * b.n, rxy = ix[i] * b.n;
      for (let j = 0; j < m; j++) {
        if (j !== i) {
          sxx += kxx[ri + ix[j]];
          syy += kyy[rj + iy[j]];
        }
        sxy += kxy[rxy + iy[j]];
      }
    }
    values[s] = (sxx + syy) / (m * (m - 1)) - (2 * sxy) / (m * m);
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= subsets;
  let v2 = 0;
  for (const v of values) v2 += (v - mean) ** 2;
  return { mean, std: subsets > 1 ? Math.sqrt(v2 / (subsets - 1)) : 0, values };
}

/**
 * FID between two image sets at any resolution/channels (each resized to 28×28 gray by the feature net).
 * images [N, H, W, C] in [−1, 1]; net defaults to the committed one.
 */
export async function fidBetweenImages(a: ImageSet | tf.Tensor4D, b: ImageSet | tf.Tensor4D, net: FeatureNet = sharedFeatureNet()): Promise<number> {
  return fid(await net.features(a), await net.features(b));
}

/** KID between two image sets (as `fidBetweenImages`). */
export async function kidBetweenImages(a: ImageSet | tf.Tensor4D, b: ImageSet | tf.Tensor4D, opts: KidOptions = {},
  net: FeatureNet = sharedFeatureNet()): Promise<{ mean: number; std: number }> {
  const r = kid(await net.features(a), await net.features(b), opts);
  return { mean: r.mean, std: r.std };
}

/**
 * Mean per-image feature distance (1/N) Σᵢ ‖φ(aᵢ) − φ(bᵢ)‖₂ between paired image sets [N, H, W, C] (each resized to
 * 28×28 gray by the feature net): a perceptual distance to a ground truth, where FID compares distributions.
 */
export async function featureDistance(a: ImageSet | tf.Tensor4D, b: ImageSet | tf.Tensor4D, net: FeatureNet = sharedFeatureNet()): Promise<number> {
  const fa = await net.features(a), fb = await net.features(b);
  if (fa.n !== fb.n) throw new Error(`featureDistance needs paired sets, got ${fa.n} and ${fb.n} images`);
  let total = 0;
  for (let i = 0; i < fa.n; i++) {
    let s = 0;
    for (let k = 0; k < fa.d; k++) s += (fa.values[i * fa.d + k] - fb.values[i * fb.d + k]) ** 2;
    total += Math.sqrt(s);
  }
  return total / fa.n;
}
