/**
 * GatherV2 and UnsortedSegmentSum (gather's gradient) for the wasm backend as row copies / row sums on the heap.
 * wasm's GatherV2 copies element by element (~40 ms for 8192 rows of 64); it has no UnsortedSegmentSum at all.
 */
import { WasmBackend, TensorInfo, alloc, typed } from "./heap";

function prod(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

// out [...x.shape[:axis], ...indices.shape, ...x.shape[axis+1:]] from x and int32 indices (batchDims 0).
export function gatherRows(be: WasmBackend, x: TensorInfo, indices: TensorInfo, axis: number): TensorInfo {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const outer = prod(x.shape.slice(0, ax)), n = x.shape[ax], inner = prod(x.shape.slice(ax + 1));
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const out = alloc(be, outShape, x.dtype, false);
  const idx = typed(be, indices), src = typed(be, x), dst = typed(be, out);
  const k = idx.length;
  for (let t = 0; t < k; t++) {
    const v = idx[t];
    if (!(v >= 0 && v < n)) throw new Error(`GatherV2: the index value ${v} is not in [0, ${n - 1}]`);
  }
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < k; t++) {
      const s0 = (o * n + idx[t]) * inner;
      if (inner === 1) dst[o * k + t] = src[s0];
      else dst.set(src.subarray(s0, s0 + inner), (o * k + t) * inner);
    }
  }
  return out;
}

// out [numSegments, ...x.shape[ids.rank:]]: out[s] = Σ_{r: ids[r] = s} x[r]; negative ids are dropped (as in TF).
export function unsortedSegmentSum(be: WasmBackend, x: TensorInfo, ids: TensorInfo, numSegments: number): TensorInfo {
  const rows = prod(ids.shape), inner = prod(x.shape.slice(ids.shape.length));
  const out = alloc(be, [numSegments, ...x.shape.slice(ids.shape.length)], x.dtype);
  const seg = typed(be, ids), src = typed(be, x), dst = typed(be, out);
  for (let r = 0; r < rows; r++) {
    const s = seg[r];
    if (s < 0 || s >= numSegments) continue;
    const d0 = s * inner, s0 = r * inner;
    for (let c = 0; c < inner; c++) dst[d0 + c] += src[s0 + c];
  }
  return out;
}
