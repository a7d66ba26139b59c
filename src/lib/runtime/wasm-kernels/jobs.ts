/**
 * The kernel calls the parallel pool (parallel.ts) can split, as functions of (kernels, parameter block, units
 * [lo, hi), thread index). The main thread and the worker threads run the same function on their own ranges; units
 * are independent outputs (rows, vectors), never parts of a reduction, so a split changes no bit of the result.
 * Free of tfjs imports: the worker loads this file.
 */
import { WasmMemory } from "./asm";
import { Simd, simdFor } from "./simd";
import { Pointwise, pointwiseFor } from "./pointwise";
import { decodeSeparable, separableRows } from "./separable-rows";

export interface Kernels { simd: Simd; pw: Pointwise }

export function kernelsFor(memory: WasmMemory): Kernels {
  return { simd: simdFor(memory), pw: pointwiseFor(memory) };
}

export type Job = (k: Kernels, p: Float64Array, lo: number, hi: number, t: number) => void;

/** Job ids (the index into JOBS). */
export const JOB = { separable: 0, geluForward: 1, geluGrad: 2, modLayerNorm: 3, concat: 4 } as const;

export const JOBS: Job[] = [
  // units: output rows of [B·H]; p: encodeSeparable
  (k, p, lo, hi, t) => separableRows(k.simd, k.pw, decodeSeparable(p), lo, hi, t),
  // units: float32 values; p: [y, x, n]
  (k, p, lo, hi) => k.pw.geluForward(p[0] + 4 * lo, p[1] + 4 * lo, hi - lo),
  // units: float32 values; p: [dx, dy, x, n]
  (k, p, lo, hi) => k.pw.geluGrad(p[0] + 4 * lo, p[1] + 4 * lo, p[2] + 4 * lo, hi - lo),
  // units: rows of [B·M]; p: [y, stats, x, g, be, sc, sh, M, C, eps] (sc, sh per image)
  (k, p, lo, hi) => {
    const [Y, S, X, G, Bt, Sc, Sh, M, C, eps] = p;
    for (let b = Math.floor(lo / M); b * M < hi; b++) {
      const m0 = Math.max(lo, b * M), m1 = Math.min(hi, (b + 1) * M);
      k.pw.modLayerNorm(Y + m0 * C * 4, S + m0 * 8, X + m0 * C * 4, G, Bt, Sc + b * C * 4, Sh + b * C * 4, m1 - m0, C, eps);
    }
  },
  // units: rows of the outer dims; p: [out, out row bytes, n, (in_i, row bytes of in_i) × n]
  (k, p, lo, hi) => {
    const [O, row, n] = p;
    for (let i = 0, off = 0; i < n; i++) {
      const a = p[3 + 2 * i], bytes = p[4 + 2 * i];
      k.simd.copyRows(O + lo * row + off, a + lo * bytes, hi - lo, bytes, row, bytes);
      off += bytes;
    }
  },
];
