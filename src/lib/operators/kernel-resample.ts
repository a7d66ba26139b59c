/**
 * Resolution change for sparse kernels (∞-Diff §5, "bi-linearly interpolating kernels"): a k×k kernel trained at
 * resolution r₀ is read as a function on the continuous domain and resampled at resolution r so it covers the same
 * physical extent.
 *
 * Decision (tested by the discretisation-invariance test, tests/lib/operators/kernel-resample.test.ts):
 * - "extent" (default). Tap t of the r₀ kernel owns the cell [δ−½, δ+½] (in r₀ cells), so the kernel spans k cells
 *   per side. At r = s·r₀ the window keeps that extent: k' = the odd size nearest k·s (k·s itself when odd; 2⌊k·s/2⌋+1
 *   otherwise). New tap δ' sits at u = δ'/s (r₀ cells); its value is the bilinear interpolant of κ at u (clamped to the
 *   outermost taps), times the fraction of its own cell [u − 1/(2s), u + 1/(2s)] inside [−k/2, k/2] per axis (so odd
 *   rounding of k' neither adds nor drops extent), times (k'/(k·s))². That last factor is the weight scaling: Eq. 20
 *   is normalised by the neighbour count, which grows as k'² while the extent holds (k·s)² cells' worth of content,
 *   so per-tap values are kept up to this count correction and the output stays a mean over the same region.
 * - "per-tap": k' = 2·round(h·s)+1 (h = (k−1)/2) so tap centres span the same range, plain bilinear values, no
 *   scaling. Simpler; biased by the count/extent mismatch (≈ (k−1)/k per side). Kept to show the difference.
 * - "authors": the rule of the authors' code, for measuring the difference: k' = 2·round((k·s − 1)/2) + 1 with Python's
 *   round-half-to-even (so k = 7 at s = 2 gives 13 taps: round(6.5) = 6), at least 3; values by bilinear
 *   interpolation with align_corners = False (output tap i reads input position (i + ½)·k/k' − ½, clamped to the
 *   outer taps), no scaling. With the lab's count-normalised sparse conv this equals the authors' conv up to the
 *   constant k₀² their normaliser carries at every resolution.
 * - "none": the r₀ kernel used as is at every resolution (the Fig. 2 ablation "without kernel resampling": the same
 *   taps then cover 1/s of the extent).
 * At s = 1 every mode returns the kernel unchanged.
 */
import { tf } from "../runtime/backend";

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

/**
 * A kernel-resampling rule: the size k' of a k×k kernel at scale s = r/r₀ (s ≠ 1) and its 1-D resampling matrix
 * [k', k] (row δ' gives the weights of the old taps), float64; separable, the 2-D kernel is A κ Aᵀ per channel.
 */
export interface KernelRule {
  readonly about: string;
  /** The kernel side k' at scale s for a kernel of side k at r₀. */
  size(k: number, s: number): number;
  /** The k'×k 1-D resampling matrix (row-major) from k taps to k' taps at scale s. */
  matrix(k: number, k2: number, s: number): Float64Array;
}

/** Bilinear taps at u = δ'/s (r₀ tap units) clamped to the outer taps; `extent`: cell coverage and count correction. */
function bilinearTaps(k: number, k2: number, s: number, extent: boolean): Float64Array {
  const h = (k - 1) / 2, h2 = (k2 - 1) / 2, A = new Float64Array(k2 * k);
  // per axis, the count correction is k'/(k·s) (squared over the two axes)
  const scale = extent ? k2 / (k * s) : 1;
  for (let i = 0; i < k2; i++) {
    const u = (i - h2) / s; // position in r₀ tap units
    let cover = 1;
    if (extent) {
      const lo = Math.max(u - 0.5 / s, -k / 2), hi = Math.min(u + 0.5 / s, k / 2);
      cover = Math.max(0, hi - lo) * s;
    }
    const uc = Math.min(h, Math.max(-h, u)) + h; // clamp to the outer taps, then index space 0…k−1
    const i0 = Math.min(k - 1, Math.floor(uc)), f = uc - i0;
    A[i * k + i0] += (1 - f) * cover * scale;
    if (f > 0 && i0 + 1 < k) A[i * k + i0 + 1] += f * cover * scale;
  }
  return A;
}

/** The registry of rules (see the module note); its keys are `KernelResampleMode` (config model.kernelResampling). */
export const KERNEL_RESAMPLING = {
  extent: {
    about: "the lab's rule: the odd size nearest k·s, bilinear values weighted by cell coverage and the count correction",
    // the odd size nearest k·s (ties and even sizes round up so the window never shrinks below the extent)
    /** k' for this rule */
    size: (k, s) => {
      const ks = k * s, near = Math.round(ks);
      return Math.max(1, near % 2 === 1 ? near : 2 * Math.floor(ks / 2) + 1);
    },
    /** the k'×k resampling matrix for this rule */
    matrix: (k, k2, s) => bilinearTaps(k, k2, s, true),
  },
  "per-tap": {
    about: "tap centres span the same range, plain bilinear values",
    /** k' for this rule */
    size: (k, s) => 2 * Math.round(((k - 1) / 2) * s) + 1,
    /** the k'×k resampling matrix for this rule */
    matrix: (k, k2, s) => bilinearTaps(k, k2, s, false),
  },
  authors: {
    about: "the authors' get_torch_kernel: 2·round((k·s − 1)/2) + 1 (half to even), ≥ 3, F.interpolate bilinear",
    /** k' for this rule */
    size: (k, s) => Math.max(3, 2 * roundHalfEven((k * s - 1) / 2) + 1),
    /** the k'×k resampling matrix for this rule */
    matrix: (k, k2) => {
      // bilinear, align_corners = False: source position (i + ½)·k/k' − ½, negatives clamped to 0, last tap repeated
      const A = new Float64Array(k2 * k);
      for (let i = 0; i < k2; i++) {
        const src = Math.max(0, ((i + 0.5) * k) / k2 - 0.5);
        const i0 = Math.min(k - 1, Math.floor(src)), f = i0 < k - 1 ? src - i0 : 0;
        A[i * k + i0] += 1 - f;
        if (f > 0) A[i * k + i0 + 1] += f;
      }
      return A;
    },
  },
  none: {
    about: "the r₀ kernel as is (the Fig. 2 ablation without kernel resampling)",
    /** k' for this rule */
    size: (k) => k,
    /** the k'×k resampling matrix for this rule */
    matrix: (k) => {
      const A = new Float64Array(k * k);
      for (let i = 0; i < k; i++) A[i * k + i] = 1;
      return A;
    },
  },
} satisfies Record<string, KernelRule>;

/** A kernel-resampling rule's registry key (the values `model.kernelResampling` accepts). */
export type KernelResampleMode = keyof typeof KERNEL_RESAMPLING;
/** Every registered kernel-resampling rule. */
export const KERNEL_RESAMPLE_MODES = Object.keys(KERNEL_RESAMPLING) as KernelResampleMode[];

/** The resampled kernel size for a k×k kernel moved from `fromRes` to `toRes` (k itself when they are equal). */
export function resampledKernelSize(k: number, fromRes: number, toRes: number, mode: KernelResampleMode = "extent"): number {
  return fromRes === toRes ? k : KERNEL_RESAMPLING[mode].size(k, toRes / fromRes);
}

/** 1-D resampling matrix [k', k] of rule `mode`, float64. Separable: the 2-D kernel is A κ Aᵀ per channel. */
export function kernelResampleMatrix(k: number, fromRes: number, toRes: number, mode: KernelResampleMode = "extent"): Float64Array {
  return KERNEL_RESAMPLING[mode].matrix(k, resampledKernelSize(k, fromRes, toRes, mode), toRes / fromRes);
}

/**
 * Bilinear kernel resampling. kernel [k, k, C] at `fromRes` → [k', k', C] at `toRes` (see the module note for k'
 * and the weight scaling). Differentiable (two matMuls).
 */
export function resampleKernel(kernel: tf.Tensor3D, fromRes: number, toRes: number, mode: KernelResampleMode = "extent"): tf.Tensor3D {
  const [k, k1, C] = kernel.shape;
  if (k !== k1 || k % 2 !== 1) throw new Error(`resampleKernel: kernel [${kernel.shape}] must be odd and square`);
  if (fromRes === toRes) return tf.clone(kernel);
  const k2 = resampledKernelSize(k, fromRes, toRes, mode);
  const Araw = Float32Array.from(kernelResampleMatrix(k, fromRes, toRes, mode));
  return tf.tidy(() => {
    const A = tf.tensor2d(Araw, [k2, k]);
    const a = tf.matMul(A, tf.reshape(kernel, [k, k * C])); // (y', x, c)
    const b = tf.transpose(tf.reshape(a, [k2, k, C]), [1, 0, 2]); // (x, y', c)
    const c = tf.matMul(A, tf.reshape(b, [k, k2 * C])); // (x', y', c)
    return tf.transpose(tf.reshape(c, [k2, k2, C]), [1, 0, 2]) as tf.Tensor3D; // (y', x', c)
  });
}
