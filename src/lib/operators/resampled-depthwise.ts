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
 * Outside gradients a fused kernel mixes the k vertical results with κ first and then needs only A's short columns
 * horizontally too: Σ_i |support(a_i)| + k² + Σ_j |support(a_j)| taps (143 instead of 280 at 112², k' = 29).
 */
import { tf } from "../runtime/backend";
import { registerTypedKernel, runTypedKernel } from "../runtime/typed-kernels";
import { SeparableAttrs, columnSupport, separableResampledDepthwise } from "../runtime/wasm-kernels/separable";
import { KernelMap } from "./kernel-map";
import { KernelResampleMode, kernelResampleMatrix, resampledKernelSize } from "./kernel-resample";

// The same sum as the op chain below, as one kernel that goes row by row (runtime/wasm-kernels/separable.ts has the
// loop and why): the k vertical 1-D convs, then U_j = Σ_i κ[i, j]·V_i, then the k horizontal 1-D convs with A's
// columns (short: ≈ 2·r/r₀ taps) instead of with the k'-tap rows b_i. This JS loop (float64, rounded once) is the
// cpu backend's kernel; wasm runs the f32x4 version.
registerTypedKernel<SeparableAttrs>({
  name: "InftyResampledDepthwise",
  inputNames: ["x", "kernel", "bias"],
  outputs: ([xs]) => [xs],
  run: ([x, kap, bias], [out], { A, k, k2, invCount, H, W }) => {
    const C = kap.length / (k * k), B = out.length / (H * W * C), h2 = (k2 - 1) / 2;
    const sup = Array.from({ length: k }, (_, i) => columnSupport(A, k, k2, i));
    const V = new Float64Array(k * W * C), Uj = new Float64Array(k * W * C);
    for (let b = 0; b < B; b++) {
      for (let y = 0; y < H; y++) {
        V.fill(0);
        for (let i = 0; i < k; i++) {
          for (let p = Math.max(sup[i][0], h2 - y); p <= Math.min(sup[i][1], H - 1 - y + h2); p++) {
            const w = A[p * k + i], src = ((b * H + y + p - h2) * W) * C, dst = i * W * C;
            for (let n = 0; n < W * C; n++) V[dst + n] += w * x[src + n];
          }
        }
        Uj.fill(0);
        for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) {
          for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++) Uj[(j * W + xx) * C + c] += kap[(i * k + j) * C + c] * V[(i * W + xx) * C + c];
        }
        for (let xx = 0; xx < W; xx++) {
          const o = ((b * H + y) * W + xx) * C, s = invCount[y * W + xx];
          for (let c = 0; c < C; c++) {
            let acc = 0;
            for (let j = 0; j < k; j++) {
              for (let q = sup[j][0]; q <= sup[j][1]; q++) {
                const xs = xx + q - h2;
                if (xs >= 0 && xs < W) acc += A[q * k + j] * Uj[(j * W + xs) * C + c];
              }
            }
            out[o + c] = acc * s + bias[c];
          }
        }
      }
    }
  },
  runWasm: (be, [x, kernel, bias], [out], attrs) => {
    if (x.shape[3] % 4 !== 0) return false;
    separableResampledDepthwise(be, x, kernel, bias, out, attrs);
    return true;
  },
});

/** The op chain (under gradients): below this k' the dense path (one depthwise conv) is as fast (2 × 7 extra convs and adds). */
export const SEPARABLE_MIN_KERNEL = 21;

/** The dense path's count normaliser of a full grid, [1, H, W, 1] (per image identical). */
function fullGridCounts(kmap: KernelMap): tf.Tensor4D {
  const { H, W } = kmap.set;
  return tf.tensor4d(kmap.counts.subarray(0, H * W), [1, H, W, 1]);
}

let fused = true;

/** Switches between the fused kernel (default) and the op chain outside gradients: for before/after timings (bench/ddim-step.ts). */
export function setFusedResampledDepthwise(on: boolean): void {
  fused = on;
}

/** With the fused kernel (outside gradients) the separable form already pays from k' = 13: one 56² op (k' = 15,
 *  B = 16, C = 64) took ≈ 60 ms fused vs ≈ 118 ms dense; at 42² (k' = 11) they were even. */
export const SEPARABLE_MIN_KERNEL_FUSED = 13;

/** The smallest k' for which a full-grid depthwise conv at r ≠ r₀ should take the separable path now. */
export function separableMinKernel(): number {
  const fast = fused && !recording() && tf.getKernel("InftyResampledDepthwise", tf.getBackend()) != null;
  return fast ? SEPARABLE_MIN_KERNEL_FUSED : SEPARABLE_MIN_KERNEL;
}

/** True while tf.grad / tf.variableGrads record a tape (tfjs-core 4.22's engine state; see the note below). */
function recording(): boolean {
  return ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth ?? 0) > 0;
}

/**
 * feats [B, M = H·W, C] on the full grid of `kmap` (built for k' = resampledKernelSize(k, r₀, r)), kernel κ [k, k, C]
 * at r₀, bias [C] → [B, M, C]. Outside gradient recording (sampling, the path's purpose) one fused kernel where the
 * backend has it (wasm, cpu); under tf.grad the op chain `resampledFullGridDepthwiseConvReference`, which is
 * differentiable (a gradient of the fused kernel by re-deriving the chain inside its gradFunc needs a nested
 * tf.grads, which tfjs 4.22 does not support in a backward pass).
 */
export function resampledFullGridDepthwiseConv(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D,
  fromRes: number, toRes: number, mode: KernelResampleMode = "extent"): tf.Tensor3D {
  if (!fused || feats.dtype !== "float32" || recording() || tf.getKernel("InftyResampledDepthwise", tf.getBackend()) == null) {
    return resampledFullGridDepthwiseConvReference(feats, kmap, kernel, bias, fromRes, toRes, mode);
  }
  const { B, H, W, M } = kmap.set;
  const [k, , C] = kernel.shape;
  const k2 = resampledKernelSize(k, fromRes, toRes, mode);
  check(feats, kmap, k2, C, M, H, W);
  const invCount = new Float32Array(H * W);
  for (let n = 0; n < H * W; n++) invCount[n] = 1 / kmap.counts[n];
  const attrs: SeparableAttrs = { A: kernelResampleMatrix(k, fromRes, toRes, mode), k, k2, invCount, H, W };
  return tf.tidy(() => {
    const x = tf.reshape(feats, [B, H, W, C]);
    const y = runTypedKernel("InftyResampledDepthwise", { x, kernel, bias }, attrs) as tf.Tensor;
    return tf.reshape(y, [B, M, C]) as tf.Tensor3D;
  });
}

function check(feats: tf.Tensor3D, kmap: KernelMap, k2: number, C: number, M: number, H: number, W: number): void {
  if (M !== H * W) throw new Error("resampledFullGridDepthwiseConv: the kernel map's set is not a full grid");
  if (kmap.k !== k2) throw new Error(`resampledFullGridDepthwiseConv: kernel map k=${kmap.k}, resampled kernel ${k2}`);
  if (feats.shape[1] !== M || feats.shape[2] !== C) throw new Error(`resampledFullGridDepthwiseConv: feats [${feats.shape}] vs ${M} points, ${C} channels`);
}

/** The op chain (2k depthwise convs, k − 1 adds) the fused kernel must equal; differentiable on every backend. */
export function resampledFullGridDepthwiseConvReference(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D,
  fromRes: number, toRes: number, mode: KernelResampleMode = "extent"): tf.Tensor3D {
  const { B, H, W, M } = kmap.set;
  const [k, , C] = kernel.shape;
  const k2 = resampledKernelSize(k, fromRes, toRes, mode);
  check(feats, kmap, k2, C, M, H, W);
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
