/**
 * The row loop of the separable resampled depthwise conv (separable.ts has the maths and the set-up): output rows
 * [r0, r1) of the flattened [B·H] rows, with one thread's scratch. Kept free of tfjs imports so that the parallel
 * worker (parallel-worker.ts) can load it: every pointer is a byte offset into the shared wasm heap, and every value
 * a row depends on is computed from the inputs alone, so any split of the rows gives the same bits.
 */
import type { Simd } from "./simd";
import type { Pointwise } from "./pointwise";

/** One call's geometry and heap pointers (bytes); `scratch` is thread t's V, U, G, Z at `+ t·scratchStride`. */
export interface SeparableJob {
  H: number; W: number; C: number; k: number; k2: number;
  /** the shifted-hat plan (separable.ts hatPlan) without h (its taps are in HT), or null */
  plan: { i0: number; i1: number; s: number; L: number; d0: number } | null;
  /** [lo, hi] of the non-zeros of each column of A */
  sup: Array<[number, number]>;
  X: number; K: number; Bi: number; O: number; AW: number; IC: number; HT: number; ONE: number;
  V: number; U: number; G: number; Z: number; scratchStride: number;
}

const HEAD = 24;

/** The job as numbers (the parallel pool's parameter block). */
export function encodeSeparable(j: SeparableJob): number[] {
  const p = j.plan;
  return [
    j.H, j.W, j.C, j.k, j.k2, p ? 1 : 0, p?.i0 ?? 0, p?.i1 ?? 0, p?.s ?? 0, p?.L ?? 0, p?.d0 ?? 0,
    j.X, j.K, j.Bi, j.O, j.AW, j.IC, j.HT, j.ONE, j.V, j.U, j.G, j.Z, j.scratchStride,
    ...j.sup.flat(),
  ];
}

export function decodeSeparable(q: Float64Array): SeparableJob {
  const k = q[3];
  return {
    H: q[0], W: q[1], C: q[2], k, k2: q[4],
    plan: q[5] ? { i0: q[6], i1: q[7], s: q[8], L: q[9], d0: q[10] } : null,
    X: q[11], K: q[12], Bi: q[13], O: q[14], AW: q[15], IC: q[16], HT: q[17], ONE: q[18],
    V: q[19], U: q[20], G: q[21], Z: q[22], scratchStride: q[23],
    sup: Array.from({ length: k }, (_, i) => [q[HEAD + 2 * i], q[HEAD + 2 * i + 1]] as [number, number]),
  };
}

/** Output rows [r0, r1) of the flattened [B·H] (see separable.ts for the formulas), with thread t's scratch. */
export function separableRows(simd: Simd, pw: Pointwise, j: SeparableJob, r0: number, r1: number, t: number): void {
  const { H, W, C, k, k2, plan, sup } = j;
  const h2 = (k2 - 1) / 2, Wpw = W + 2 * h2;
  const inner = (i: number) => plan != null && i >= plan.i0 && i <= plan.i1;
  const L = plan ? plan.L : 0, ni = plan ? plan.i1 - plan.i0 + 1 : 0;
  const Gh = plan ? H + plan.s * (ni - 1) : 0;
  const off = t * j.scratchStride;
  const Vp = j.V + off, Up = j.U + off, Gp = j.G + off, Zp = j.Z + off;
  const { X, K, Bi, O, AW: AWp, IC: ICp, HT: HTp, ONE: ONEp } = j;
  const row = W * C * 4, c4 = C * 4;
  for (let b = Math.floor(r0 / H); b * H < r1; b++) {
    const y0 = Math.max(0, r0 - b * H), y1 = Math.min(H, r1 - b * H);
    if (plan) {
      // G[gi] = Σ_t h[t] x[g + t] for image rows g = gi + d₀ − h' (rows outside the image are zero); rows y of the
      // output read G[y + s·(i − i₀)], i₀ ≤ i ≤ i₁: only those are computed
      const g1 = Math.min(Gh, y1 + plan.s * (ni - 1));
      for (let gi = y0; gi < g1; gi++) {
        const g = gi + plan.d0 - h2, t0 = Math.max(0, -g), t1 = Math.min(L - 1, H - 1 - g);
        simd.rowSet(Gp + gi * row, X + (b * H + g + t0) * row, HTp + t0 * c4, W, C, C, C, Math.max(0, t1 - t0 + 1), W * C, C);
      }
    }
    for (let y = y0; y < y1; y++) {
      for (let i = 0; i < k; i++) {
        if (inner(i)) continue;
        const p0 = Math.max(sup[i][0], h2 - y), p1 = Math.min(sup[i][1], H - 1 - y + h2);
        const J = Math.max(0, p1 - p0 + 1);
        simd.rowSet(Vp + i * row, X + (b * H + y + p0 - h2) * row, AWp + (p0 * k + i) * c4, W, C, C, C, J, W * C, k * C);
      }
      for (let jj = 0; jj < k; jj++) {
        const u = Up + (jj * Wpw + h2) * c4;
        if (plan) {
          // U_j = Σ_{i interior} κ[i, j] G[y + s·(i − i₀)] + Σ_{i boundary} κ[i, j] V_i
          simd.rowSet(u, Gp + y * row, K + (plan.i0 * k + jj) * c4, W, C, C, C, ni, plan.s * W * C, k * C);
          for (let i = 0; i < k; i++) if (!inner(i)) simd.rowFma(u, Vp + i * row, K + (i * k + jj) * c4, W, C, C, C, 1, W * C, k * C);
        } else {
          simd.rowSet(u, Vp, K + jj * c4, W, C, C, C, k, W * C, k * C);
        }
      }
      const o = O + (b * H + y) * row;
      let first = true;
      if (plan) {
        // Z[z] = Σ_{j interior} U_j[z + d_j] (padded columns), then out[x] = Σ_t h[t] Z[x + t]
        simd.rowSet(Zp, Up + (plan.i0 * Wpw + plan.d0) * c4, ONEp, W + L - 1, C, C, C, ni, (Wpw + plan.s) * C, 0);
        simd.rowSet(o, Zp, HTp, W, C, C, C, L, C, C);
        first = false;
      }
      for (let jj = 0; jj < k; jj++) {
        const [lo, hi] = sup[jj];
        if (inner(jj) || hi < lo) continue;
        (first ? simd.rowSet : simd.rowFma)(o, Up + (jj * Wpw + lo) * c4, AWp + (lo * k + jj) * c4, W, C, C, C, hi - lo + 1, C, k * C);
        first = false;
      }
      if (first) simd.rowSet(o, Up, AWp, W, C, C, C, 0, C, k * C); // A all zero: out = bias
      pw.scaleShift(o, o, ICp + y * W * 4, Bi, W, C);
    }
  }
}
