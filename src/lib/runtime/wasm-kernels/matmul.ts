/**
 * BatchMatMul for the wasm backend that keeps every product on XNNPACK's fast path (one [M,K]·[K,N] with no
 * transpose): operands with transposeA/transposeB are transposed in JS first (wasm's transposed paths run at
 * 0.7 and 2 GFLOP/s against ~20 plain, and every dense layer's backward pass needs both), and batches are
 * multiplied one matrix at a time through views.
 */
import { WasmBackend, TensorInfo, alloc, dropView, f32, free, ptr, runOriginal, view } from "./heap";

// t [rows, cols] → [cols, rows], blocked so both sides stay in cache.
function transposeInto(src: Float32Array, s0: number, dst: Float32Array, d0: number, rows: number, cols: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const sr = s0 + r * cols;
        for (let c = c0; c < c1; c++) dst[d0 + c * rows + r] = src[sr + c];
      }
    }
  }
}

/** Returns null when the shapes need broadcasting beyond "equal batch or batch 1" (the original handles it). */
export function batchMatMul(
  be: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
): TensorInfo | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length, rb = b.shape.length;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((p, q) => p * q, 1), batchB = outerB.reduce((p, q) => p * q, 1);
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) {
    throw new Error(`Error in matMul: inner shapes (${K}) and (${Kb}) of Tensors with shapes ${a.shape} and ` +
      `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  let outer: number[];
  if (sameOuter) outer = outerA;
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
  else return null;
  const batch = Math.max(batchA, batchB);

  // plain row-major operands [batch, M, K] and [batch, K, N]
  let A = a, B = b;
  const temps: TensorInfo[] = [];
  if (transposeA) {
    A = alloc(be, [batchA, M, K], "float32", false);
    temps.push(A);
  }
  if (transposeB) {
    B = alloc(be, [batchB, K, N], "float32", false);
    temps.push(B);
  }
  if (transposeA) {
    const s = f32(be, a), d = f32(be, A);
    for (let q = 0; q < batchA; q++) transposeInto(s, q * M * K, d, q * M * K, K, M);
  }
  if (transposeB) {
    const s = f32(be, b), d = f32(be, B);
    for (let q = 0; q < batchB; q++) transposeInto(s, q * K * N, d, q * K * N, N, K);
  }
  let out: TensorInfo;
  if (batch === 1) {
    const av = view(be, ptr(be, A), [1, M, K]), bv = view(be, ptr(be, B), [1, K, N]);
    out = runOriginal(be, "BatchMatMul", { a: av, b: bv }, { transposeA: false, transposeB: false });
    dropView(be, av);
    dropView(be, bv);
  } else {
    out = alloc(be, [batch, M, N], "float32", false);
    for (let q = 0; q < batch; q++) {
      const av = view(be, ptr(be, A) + (batchA === 1 ? 0 : q * M * K * 4), [1, M, K]);
      const bv = view(be, ptr(be, B) + (batchB === 1 ? 0 : q * K * N * 4), [1, K, N]);
      const part = runOriginal(be, "BatchMatMul", { a: av, b: bv }, { transposeA: false, transposeB: false });
      dropView(be, av);
      dropView(be, bv);
      f32(be, out).set(f32(be, part), q * M * N);
      free(be, part);
    }
  }
  free(be, ...temps);
  out.shape = [...outer, M, N];
  return out;
}
