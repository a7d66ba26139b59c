/**
 * Eq. 20 on a full grid with a kernel resampled from r₀ to r (kernel-resample.ts), in separable form.
 *
 * The resampled kernel is K'[p, q, c] = Σ_{i,j} A[p, i] κ[i, j, c] A[q, j] (A: the [k', k] resampling matrix, k' ≈ k·r/r₀),
 * so the k'×k' correlation splits exactly into k vertical 1-D correlations with A's columns (each non-zero on ≈ 2·r/r₀
 * taps) followed by k horizontal ones with b_i[q, c] = Σ_j A[q, j] κ[i, j, c]:
 *     Σ_{p,q} K'[p,q,c] x[y+p−h', x+q−h', c] = Σ_i Σ_q b_i[q,c] · (Σ_p A[p,i] x[y+p−h', ·, c])[y, x+q−h'].
 * Work per pixel and channel: ≈ Σ_i |support(a_i) ∪ {h'}| + k·k' instead of k'²: 5× fewer taps at 224² (k' = 57),
 * 10× at 448² (k' = 113). Same function as `sparseDepthwiseConv(feats, kmap, resampleKernel(κ, r₀, r), bias)` up to
 * float32 summation order (tests/lib/operators/resampled-depthwise.test.ts); differentiable (plain tfjs ops).
 */
import { tf } from "../runtime/backend";
import { KernelMap } from "./kernel-map";
import { KernelResampleMode, kernelResampleMatrix, resampledKernelSize } from "./kernel-resample";

/** Below this many k'² taps the dense path (one depthwise conv) is as fast: 2 × 7 extra convs and adds cost more. */
export const SEPARABLE_MIN_KERNEL = 21;

/** The dense path's count normaliser of a full grid, [1, H, W, 1] (per image identical). */
function fullGridCounts(kmap: KernelMap): tf.Tensor4D {
  const { H, W } = kmap.set;
  return tf.tensor4d(kmap.counts.subarray(0, H * W), [1, H, W, 1]);
}

/**
 * feats [B, M = H·W, C] on the full grid of `kmap` (built for k' = resampledKernelSize(k, r₀, r)), kernel κ [k, k, C]
 * at r₀, bias [C] → [B, M, C].
 */
export function resampledFullGridDepthwiseConv(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D,
  fromRes: number, toRes: number, mode: KernelResampleMode = "extent"): tf.Tensor3D {
  const { B, H, W, M } = kmap.set;
  const [k, , C] = kernel.shape;
  const k2 = resampledKernelSize(k, fromRes, toRes, mode);
  if (M !== H * W) throw new Error("resampledFullGridDepthwiseConv: the kernel map's set is not a full grid");
  if (kmap.k !== k2) throw new Error(`resampledFullGridDepthwiseConv: kernel map k=${kmap.k}, resampled kernel ${k2}`);
  if (feats.shape[1] !== M || feats.shape[2] !== C) throw new Error(`resampledFullGridDepthwiseConv: feats [${feats.shape}] vs ${M} points, ${C} channels`);
  const A = kernelResampleMatrix(k, fromRes, toRes, mode); // [k2, k] float64
  const h2 = (k2 - 1) / 2;
  return tf.tidy(() => {
    const x = tf.reshape(feats, [B, H, W, C]) as tf.Tensor4D;
    // b_i [k2, C] = A κ[i] (row i of κ resampled along x), all i at once: [k, k2, C]
    const Af = tf.tensor2d(Float32Array.from(A), [k2, k]);
    const bAll = tf.transpose(tf.reshape(tf.matMul(Af, tf.reshape(tf.transpose(kernel, [1, 0, 2]), [k, k * C])), [k2, k, C]), [1, 0, 2]);
    let acc: tf.Tensor4D | null = null;
    for (let i = 0; i < k; i++) {
      // vertical taps of column i, widened to contain the centre so the explicit pads stay ≥ 0
      let lo = h2, hi = h2;
      for (let p = 0; p < k2; p++) if (A[p * k + i] !== 0) { lo = Math.min(lo, p); hi = Math.max(hi, p); }
      const col = new Float32Array((hi - lo + 1) * C);
      for (let p = lo; p <= hi; p++) col.fill(A[p * k + i], (p - lo) * C, (p - lo + 1) * C);
      const v = tf.depthwiseConv2d(x, tf.tensor4d(col, [hi - lo + 1, 1, C, 1]), 1, [[0, 0], [h2 - lo, hi - h2], [0, 0], [0, 0]]);
      const bi = tf.reshape(tf.slice(bAll, [i, 0, 0], [1, k2, C]), [1, k2, C, 1]) as tf.Tensor4D;
      const u = tf.depthwiseConv2d(v, bi, 1, [[0, 0], [0, 0], [h2, h2], [0, 0]]);
      acc = acc ? (tf.add(acc, u) as tf.Tensor4D) : u;
    }
    const out = tf.div(acc as tf.Tensor4D, fullGridCounts(kmap));
    return tf.add(tf.reshape(out, [B, M, C]), bias) as tf.Tensor3D;
  });
}
