/**
 * The separable resampled depthwise conv (operators/resampled-depthwise.ts) as one pass over the image on the wasm
 * heap, row by row, with every intermediate row kept in cache (the op chain wrote k vertical maps, k horizontal
 * maps, their padded copies and k − 1 sums, each a full [B, H, W, C] tensor). For output row y of image b:
 *
 *   V_i[x, c]  = Σ_{p ∈ supp A[·,i]} A[p, i] · x[y + p − h', x, c]          i < k   (rowSet; rows outside the image skipped)
 *   U_j[x, c]  = Σ_{i<k} κ[i, j, c] · V_i[x, c]                              j < k   (rowSet over i)
 *   out[x, c]  = (Σ_j Σ_{q ∈ supp A[·,j]} A[q, j] · U_j[x + q − h', c]) / count[y, x] + bias[c]
 *                                                                          (rowSet/rowFma into out, U zero-padded by h')
 * which is Σ_{p,q} (A κ Aᵀ)[p, q, c] x[y+p−h', x+q−h', c] / count + bias — Eq. 20 with the resampled kernel. Taps per
 * pixel and channel: Σ_i |supp a_i| + k² + Σ_j |supp a_j| (143 at 28² → 112², k = 7, k' = 29) instead of the
 * op chain's Σ_i |supp a_i ∪ {h'}| + k·k' (280).
 */
import { WasmBackend, TensorInfo, alloc, f32, free, memoryOf, ptr } from "./heap";
import { simdFor } from "./simd";
import { pointwiseFor } from "./pointwise";

export interface SeparableAttrs {
  /** the [k', k] resampling matrix, row-major */
  A: Float64Array;
  k: number;
  k2: number;
  /** 1 / count of the full grid's k'×k' window at each pixel, [H·W] */
  invCount: Float32Array;
  H: number;
  W: number;
}

/** [lo, hi] of the non-zeros of column i of A ([k2, k]); lo > hi when the column is zero. */
export function columnSupport(A: Float64Array, k: number, k2: number, i: number): [number, number] {
  let lo = k2, hi = -1;
  for (let p = 0; p < k2; p++) if (A[p * k + i] !== 0) { lo = Math.min(lo, p); hi = Math.max(hi, p); }
  return [lo, hi];
}

/** out [B, H, W, C] from x [B, H, W, C], κ [k, k, C], bias [C] (C a multiple of 4: the caller checks). */
export function separableResampledDepthwise(be: WasmBackend, x: TensorInfo, kernel: TensorInfo, bias: TensorInfo, out: TensorInfo, a: SeparableAttrs): void {
  const [B, H, W, C] = x.shape;
  const { A, k, k2 } = a, h2 = (k2 - 1) / 2, Wpw = W + 2 * h2;
  const simd = simdFor(memoryOf(be)), pw = pointwiseFor(memoryOf(be));
  const V = alloc(be, [k, W, C], "float32", false); // fully written by rowSet every row
  const U = alloc(be, [k, Wpw, C]); // zero pads of h' columns on each side, interior rewritten every row
  const AW = alloc(be, [k2, k, C], "float32", false); // AW[p, i, :] = A[p, i]: the weights as channel rows
  const IC = alloc(be, [H * W], "float32", false);
  const aw = f32(be, AW);
  for (let p = 0; p < k2 * k; p++) aw.fill(A[p], p * C, (p + 1) * C);
  f32(be, IC).set(a.invCount);
  const sup = Array.from({ length: k }, (_, i) => columnSupport(A, k, k2, i));
  const X = ptr(be, x), K = ptr(be, kernel), Bi = ptr(be, bias), O = ptr(be, out);
  const Vp = ptr(be, V), Up = ptr(be, U), AWp = ptr(be, AW), ICp = ptr(be, IC);
  const row = W * C * 4;
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      for (let i = 0; i < k; i++) {
        const p0 = Math.max(sup[i][0], h2 - y), p1 = Math.min(sup[i][1], H - 1 - y + h2);
        const J = Math.max(0, p1 - p0 + 1);
        simd.rowSet(Vp + i * row, X + (b * H + y + p0 - h2) * row, AWp + (p0 * k + i) * C * 4, W, C, C, C, J, W * C, k * C);
      }
      for (let j = 0; j < k; j++) {
        simd.rowSet(Up + (j * Wpw + h2) * C * 4, Vp, K + j * C * 4, W, C, C, C, k, W * C, k * C);
      }
      const o = O + (b * H + y) * row;
      for (let j = 0; j < k; j++) {
        const [lo, hi] = sup[j];
        if (hi < lo) { if (j === 0) simd.rowSet(o, Up, AWp, W, C, C, C, 0, C, k * C); continue; }
        (j === 0 ? simd.rowSet : simd.rowFma)(o, Up + (j * Wpw + lo) * C * 4, AWp + (lo * k + j) * C * 4, W, C, C, C, hi - lo + 1, C, k * C);
      }
      pw.scaleShift(o, o, ICp + y * W * 4, Bi, W, C);
    }
  }
  free(be, V, U, AW, IC);
}
