/**
 * The sparse depthwise operator (Eq. 20) evaluated on a FULL grid with a bilinearly resampled kernel — the sampling
 * path at resolutions above r₀ — computed separably.
 *
 * Why: at resolution r = s·r₀ the resampled k'×k' kernel (k' ≈ k·s) is K' = A κ Aᵀ per channel, with A [k', k] the 1-D
 * resampling matrix (kernel-resample.ts), whose columns are hat functions about 2s taps wide. So
 *     conv(x, K') = Σ_y colconv(A[:,y]) ( Σ_x κ[y,x] · rowconv(A[:,x]) x ),
 * about 4k' + k² multiply-adds per pixel and channel instead of k'² (k = 7: 165 vs 841 at 4×, 277 vs 3249 at 8×).
 * Results equal `sparseDepthwiseConv` with `resampleKernel(κ)` on the full grid (tested); gradients wrt the input and
 * κ are explicit typed kernels (the adjoint of a row/column pass is the same pass with the taps mirrored).
 */
import { tf } from "./backend";
import { KernelMap } from "./kernel-map";
import { kernelResampleMatrix, resampledKernelSize } from "./kernel-resample";
import { neighbourCounts } from "./sparse-conv";
import { customOp, registerTypedKernel, runTypedKernel } from "./typed-kernels";

/** Nonzero taps of each column of A [k', k]: taps[x] = offsets (i − h') and weights A[i, x]. */
interface Profiles {
  off: Int32Array[];
  w: Float32Array[];
}

function profiles(A: Float64Array, k2: number, k: number): Profiles {
  const h2 = (k2 - 1) / 2;
  const off: Int32Array[] = [], w: Float32Array[] = [];
  for (let x = 0; x < k; x++) {
    const o: number[] = [], ws: number[] = [];
    for (let i = 0; i < k2; i++) {
      const a = A[i * k + x];
      if (a !== 0) { o.push(i - h2); ws.push(a); }
    }
    off.push(Int32Array.from(o));
    w.push(Float32Array.from(ws));
  }
  return { off, w };
}

interface Attrs {
  H: number;
  W: number;
  C: number;
  k: number;
  prof: Profiles;
}

/** dst[i, j] += wt · src[i, j + off] along W (zero outside), for one image [H, W, C]. */
function rowPass(src: ArrayLike<number>, so: number, dst: Float32Array, d0: number, off: number, wt: number, H: number, W: number, C: number): void {
  const j0 = Math.max(0, -off), j1 = Math.min(W, W - off), len = (j1 - j0) * C;
  if (len <= 0) return;
  for (let i = 0; i < H; i++) {
    const d = d0 + (i * W + j0) * C, s = so + (i * W + j0 + off) * C;
    for (let q = 0; q < len; q++) dst[d + q] += wt * src[s + q];
  }
}

/** dst[i, :] += wt · src[i + off, :] along H (zero outside), for one image [H, W, C]. */
function colPass(src: ArrayLike<number>, so: number, dst: Float32Array, d0: number, off: number, wt: number, H: number, W: number, C: number): void {
  const i0 = Math.max(0, -off), i1 = Math.min(H, H - off), len = (i1 - i0) * W * C;
  if (len <= 0) return;
  const d = d0 + i0 * W * C, s = so + (i0 + off) * W * C;
  for (let q = 0; q < len; q++) dst[d + q] += wt * src[s + q];
}

/** R[x] = rowconv(A[:,x]) of image b, all x: [k, H·W·C]. */
function rowPasses(x: ArrayLike<number>, b: number, a: Attrs, mirror: boolean): Float32Array {
  const { H, W, C, k, prof } = a, N = H * W * C;
  const R = new Float32Array(k * N);
  for (let t = 0; t < k; t++) {
    for (let n = 0; n < prof.off[t].length; n++) {
      rowPass(x, b * N, R, t * N, mirror ? -prof.off[t][n] : prof.off[t][n], prof.w[t][n], H, W, C);
    }
  }
  return R;
}

/** S = Σ_x κ[y, x] ⊙ R[x] (per channel) for one y. */
function mix(R: Float32Array, kernel: ArrayLike<number>, y: number, a: Attrs, S: Float32Array): void {
  const { H, W, C, k } = a, P = H * W, N = P * C;
  S.fill(0);
  for (let x = 0; x < k; x++) {
    const kb = (y * k + x) * C, rb = x * N;
    for (let p = 0; p < P; p++) {
      const o = p * C;
      for (let c = 0; c < C; c++) S[o + c] += kernel[kb + c] * R[rb + o + c];
    }
  }
}

registerTypedKernel<Attrs>({
  name: "InftySeparableDwConv",
  inputNames: ["x", "kernel"],
  outputs: (shapes) => [shapes[0]],
  run: ([x, kernel], [out], a) => {
    const { H, W, C, k, prof } = a, N = H * W * C, B = out.length / N;
    const S = new Float32Array(N);
    for (let b = 0; b < B; b++) {
      const R = rowPasses(x, b, a, false);
      for (let y = 0; y < k; y++) {
        mix(R, kernel, y, a, S);
        for (let n = 0; n < prof.off[y].length; n++) colPass(S, 0, out, b * N, prof.off[y][n], prof.w[y][n], H, W, C);
      }
    }
  },
});

registerTypedKernel<Attrs>({
  name: "InftySeparableDwConvBackprop",
  inputNames: ["dy", "x", "kernel"],
  outputs: (shapes) => [shapes[1], shapes[2]],
  run: ([dy, x, kernel], [dx, dk], a) => {
    const { H, W, C, k, prof } = a, N = H * W * C, P = H * W, B = dx.length / N;
    const V = new Float32Array(k * N), dR = new Float32Array(N);
    for (let b = 0; b < B; b++) {
      const R = rowPasses(x, b, a, false);
      // V[y] = colconvᵀ(A[:,y]) dy: the adjoint of `out[i] += w·S[i+off]` is `dS[i+off] += w·dy[i]`
      V.fill(0);
      for (let y = 0; y < k; y++) {
        for (let n = 0; n < prof.off[y].length; n++) colPass(dy, b * N, V, y * N, -prof.off[y][n], prof.w[y][n], H, W, C);
      }
      for (let y = 0; y < k; y++)
        for (let xx = 0; xx < k; xx++) {
          const kb = (y * k + xx) * C, vb = y * N, rb = xx * N;
          for (let p = 0; p < P; p++) {
            const o = p * C;
            for (let c = 0; c < C; c++) dk[kb + c] += V[vb + o + c] * R[rb + o + c];
          }
        }
      // dR[x] = Σ_y κ[y,x] V[y]; dx += rowconvᵀ(A[:,x]) dR[x]
      for (let xx = 0; xx < k; xx++) {
        dR.fill(0);
        for (let y = 0; y < k; y++) {
          const kb = (y * k + xx) * C, vb = y * N;
          for (let p = 0; p < P; p++) {
            const o = p * C;
            for (let c = 0; c < C; c++) dR[o + c] += kernel[kb + c] * V[vb + o + c];
          }
        }
        for (let n = 0; n < prof.off[xx].length; n++) rowPass(dR, 0, dx, b * N, -prof.off[xx][n], prof.w[xx][n], H, W, C);
      }
    }
  },
});

/**
 * Depthwise 'same' convolution of x [B,H,W,C] with the kernel κ [k,k,C] resampled from `fromRes` to `toRes`
 * (K' = A κ Aᵀ, "extent" mode), without materialising K'. Differentiable wrt x and κ.
 */
export function separableResampledDepthwise(x: tf.Tensor4D, kernel: tf.Tensor3D, fromRes: number, toRes: number): tf.Tensor4D {
  const [, H, W, C] = x.shape;
  const k = kernel.shape[0];
  const k2 = resampledKernelSize(k, fromRes, toRes);
  const attrs: Attrs = { H, W, C, k, prof: profiles(kernelResampleMatrix(k, fromRes, toRes), k2, k) };
  const op = customOp((xx: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx, w]);
    return {
      value: runTypedKernel("InftySeparableDwConv", { x: xx, kernel: w }, attrs) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runTypedKernel("InftySeparableDwConvBackprop", { dy, x: saved[0], kernel: saved[1] }, attrs) as tf.Tensor[],
    };
  });
  return op(x, kernel) as tf.Tensor4D;
}

/**
 * Whether the separable path pays off for a k×k kernel resampled to k'×k': it does fewer multiply-adds
 * (4k' + k² vs k'²) but streams k image-sized buffers, measured ≈ 2.5× more expensive per operation than the
 * sparse tap loop on wasm (k = 7: slower at k' = 15, 2.2× faster at k' = 29).
 */
export function separablePaysOff(k: number, k2: number): boolean {
  return separableEnabled && k2 * k2 > 2.5 * (4 * k2 + k * k);
}

let separableEnabled = true;
/** Turns the separable full-grid path on or off (for equivalence tests and benchmarks); returns the old setting. */
export function setSeparableFullGrid(enabled: boolean): boolean {
  const old = separableEnabled;
  separableEnabled = enabled;
  return old;
}

/** Whether `kmap`'s set is the full H×W grid in raster order (every cell, sorted): then points are a reshape. */
export function isFullGrid(kmap: KernelMap): boolean {
  return kmap.set.M === kmap.set.H * kmap.set.W;
}

/**
 * Eq. 20 on a full grid at resolution `toRes` with the r₀ kernel κ [k,k,C] resampled on the fly:
 * feats [B, H·W, C] → [B, H·W, C]; equal to sparseDepthwiseConv(feats, kmap, resampleKernel(κ), bias).
 */
export function fullGridResampledDepthwise(
  feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D, fromRes: number, toRes: number,
): tf.Tensor3D {
  const { B, H, W, M } = kmap.set;
  if (!isFullGrid(kmap)) throw new Error("fullGridResampledDepthwise: the kernel map's set is not a full grid");
  const k2 = resampledKernelSize(kernel.shape[0], fromRes, toRes);
  if (kmap.k !== k2) throw new Error(`fullGridResampledDepthwise: kernel map k=${kmap.k}, resampled kernel k'=${k2}`);
  const C = feats.shape[2];
  return tf.tidy(() => {
    const y = separableResampledDepthwise(feats.reshape([B, H, W, C]) as tf.Tensor4D, kernel, fromRes, toRes).reshape([B, M, C]);
    return tf.add(tf.div(y, neighbourCounts(kmap)), bias) as tf.Tensor3D;
  });
}
