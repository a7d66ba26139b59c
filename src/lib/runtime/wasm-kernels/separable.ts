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
 *
 * Shifted hats (`hatPlan`): at an integer scale s = r/r₀ the interior columns i₀ ≤ i ≤ i₁ of A are one profile h
 * (L ≈ 2s − 1 taps) shifted by s·i: A[p, i] = h[p − d_i], d_i = d_{i₀} + s·(i − i₀). Then every V_i of those columns is
 * a row of one vertical conv G = h ∗ x (G[g] = Σ_t h[t] x[g + t], computed once per image), V_i = G[y + d_i − h'], and
 * on the way out Σ_{j interior} Σ_t h[t] U_j[x + d_j + t − h'] = Σ_t h[t] Z[x + t + d_{i₀} − h'] with
 * Z[x''] = Σ_j U_j[x'' + s·(j − i₀)]. Boundary columns (clipped or folded hats) keep the direct taps. Taps: L + k² +
 * (i₁ − i₀ + 1) + L + 2·Σ_{boundary} |supp| (92 at 112², 132 instead of 247 at 224²); used when it is fewer.
 *
 * The loop itself is separable-rows.ts (no tfjs imports: the parallel pool's workers run it too); output rows are cut
 * into chunks shared by the pool's threads, each with its own V, U, G, Z, and each chunk computes the G rows it reads
 * (so G is no longer "once per image" but once per chunk, up to s·(i₁ − i₀) rows more per chunk).
 */
import { WasmBackend, TensorInfo, alloc, f32, free, memoryOf, ptr } from "./heap";
import { JOB } from "./jobs";
import { parallelThreads, splitJob } from "./parallel";
import { SeparableJob, encodeSeparable } from "./separable-rows";

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

/** The shifted-hat structure of A (see the module note), or null when it does not save taps. */
export interface HatPlan { i0: number; i1: number; s: number; h: number[]; d0: number }

/** Finds the shifted-hat structure of a resampling matrix, or null when it would not save taps. */
export function hatPlan(A: Float64Array, k: number, k2: number): HatPlan | null {
  const sup = Array.from({ length: k }, (_, i) => columnSupport(A, k, k2, i));
  const ic = (k - 1) >> 1, [lc, hc] = sup[ic];
  if (hc < lc) return null;
  const h = Array.from({ length: hc - lc + 1 }, (_, t) => A[(lc + t) * k + ic]);
  const tol = 1e-12 * Math.max(...h.map(Math.abs));
  // column i is the hat at offset d (entire: within the window, nothing else non-zero)
  const isHat = (i: number, d: number) => {
    if (d < 0 || d + h.length > k2) return false;
    for (let p = 0; p < k2; p++) {
      const want = p >= d && p < d + h.length ? h[p - d] : 0;
      if (Math.abs(A[p * k + i] - want) > tol) return false;
    }
    return true;
  };
  if (ic + 1 >= k || sup[ic + 1][1] < sup[ic + 1][0]) return null;
  const s = sup[ic + 1][0] - lc;
  if (s <= 0) return null;
  let i0 = ic, i1 = ic;
  while (i0 > 0 && isHat(i0 - 1, lc - s * (ic - i0 + 1))) i0--;
  while (i1 < k - 1 && isHat(i1 + 1, lc + s * (i1 + 1 - ic))) i1++;
  if (i1 - i0 < 1) return null;
  const L = h.length;
  let direct = 0, boundary = 0;
  for (let i = 0; i < k; i++) {
    const n = Math.max(0, sup[i][1] - sup[i][0] + 1);
    direct += 2 * n;
    if (i < i0 || i > i1) boundary += 2 * n;
  }
  const hat = 2 * L + (i1 - i0 + 1) + boundary;
  return hat < direct ? { i0, i1, s, h, d0: lc - s * (ic - i0) } : null;
}

/**
 * Output rows per chunk of the parallel pool (parallel.ts): a row at 56² (C = 64, ≈ 100 taps) is ≈ 0.1 ms, against a
 * few µs per chunk; each chunk also recomputes up to s·(i₁ − i₀) rows of G (16 at 112², ≈ 8 % of 16 output rows).
 */
const MIN_ROWS_PER_CHUNK = 16;

/** out [B, H, W, C] from x [B, H, W, C], κ [k, k, C], bias [C] (C a multiple of 4: the caller checks). */
export function separableResampledDepthwise(be: WasmBackend, x: TensorInfo, kernel: TensorInfo, bias: TensorInfo, out: TensorInfo, a: SeparableAttrs): void {
  const [B, H, W, C] = x.shape;
  const { A, k, k2 } = a, h2 = (k2 - 1) / 2, Wpw = W + 2 * h2;
  const plan = hatPlan(A, k, k2);
  const L = plan ? plan.h.length : 0, ni = plan ? plan.i1 - plan.i0 + 1 : 0;
  const Gh = plan ? H + plan.s * (ni - 1) : 0; // G rows y + s·(i − i₀), y < H, i₀ ≤ i ≤ i₁
  const memory = memoryOf(be);
  // rows of the output in chunks shared by the parallel pool's threads (parallel.ts), each with its own V, U, G, Z
  const n = parallelThreads(memory);
  const nV = k * W * C, nU = k * Wpw * C, nG = Math.max(1, Gh) * W * C, nZ = Math.max(1, W + L - 1) * C;
  const per = nV + nU + nG + nZ;
  const S = alloc(be, [n * per], "float32", false);
  const s = f32(be, S);
  // U's h' columns on each side are its zero padding (the interior is rewritten every row); V, G, Z are fully
  // written before they are read
  for (let t = 0; t < n; t++) s.fill(0, t * per + nV, t * per + nV + nU);
  const AW = alloc(be, [k2, k, C], "float32", false); // AW[p, i, :] = A[p, i]: the weights as channel rows
  const IC = alloc(be, [H * W], "float32", false);
  const HT = alloc(be, [Math.max(1, L), C], "float32", false); // HT[t, :] = h[t]
  const ONE = alloc(be, [C], "float32", false);
  const aw = f32(be, AW);
  for (let p = 0; p < k2 * k; p++) aw.fill(A[p], p * C, (p + 1) * C);
  const ht = f32(be, HT);
  for (let t = 0; t < L; t++) ht.fill((plan as HatPlan).h[t], t * C, (t + 1) * C);
  f32(be, ONE).fill(1);
  f32(be, IC).set(a.invCount);
  const Sp = ptr(be, S);
  const job: SeparableJob = {
    H, W, C, k, k2,
    plan: plan ? { i0: plan.i0, i1: plan.i1, s: plan.s, L, d0: plan.d0 } : null,
    sup: Array.from({ length: k }, (_, i) => columnSupport(A, k, k2, i)),
    X: ptr(be, x), K: ptr(be, kernel), Bi: ptr(be, bias), O: ptr(be, out),
    AW: ptr(be, AW), IC: ptr(be, IC), HT: ptr(be, HT), ONE: ptr(be, ONE),
    V: Sp, U: Sp + 4 * nV, G: Sp + 4 * (nV + nU), Z: Sp + 4 * (nV + nU + nG), scratchStride: 4 * per,
  };
  splitJob(memory, JOB.separable, encodeSeparable(job), B * H, { minChunk: MIN_ROWS_PER_CHUNK, scratchThreads: n });
  free(be, S, AW, IC, HT, ONE);
}
