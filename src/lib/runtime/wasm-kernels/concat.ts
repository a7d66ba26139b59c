/**
 * Concat for the wasm backend: tfjs-wasm's copies each input's slice of each outer row with a fresh subarray in
 * JS (at 112² a DDIM step spent ≈ 9 % of its time there: [5, 12544, ·] channel concats, one subarray per pixel).
 * Here every input is one strided memory.copy loop in wasm (simd.ts copyRows), rows shared by the parallel pool's
 * threads for large calls. A copy: the result equals the original kernel's bit for bit.
 */
import { tf } from "../backend";
import { WasmBackend, TensorInfo, memoryOf, ptr } from "./heap";
import { JOB } from "./jobs";
import { POINTWISE_SPLIT, splitJob } from "./parallel";
import { PARAMS } from "./parallel-protocol";

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

let enabled = true;

/** Values of a concat below which it stays on the main thread. */
const CONCAT_MIN_TOTAL = 1 << 22;

/** Switches between this kernel (default) and tfjs-wasm's own Concat: for before/after timings in one process. */
export function setWasmConcat(on: boolean): void {
  enabled = on;
}

/** Returns null where the original kernel should run (other dtypes, fewer than two non-empty inputs, too many inputs). */
export function concat(be: WasmBackend, inputs: TensorInfo[], axisAttr: number | number[]): TensorInfo | null {
  if (!enabled || inputs.length === 0) return null;
  const dtype = inputs[0].dtype;
  if ((dtype !== "float32" && dtype !== "int32") || inputs.some((t) => t.dtype !== dtype)) return null;
  const axis = tf.util.parseAxisParam(axisAttr, inputs[0].shape)[0];
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  const parts = inputs.filter((t) => size(t.shape) > 0);
  if (parts.length < 2 || 3 + 2 * parts.length > PARAMS) return null;
  const outShape = tf.backend_util.computeOutShape(shapes, axis);
  const out = be.makeOutput(outShape, dtype); // may grow the heap: pointers are read after it
  const rows = size(outShape.slice(0, axis));
  const inner = parts.map((t) => size(t.shape.slice(axis)));
  const rowBytes = 4 * inner.reduce((a, b) => a + b, 0);
  const params = [ptr(be, out), rowBytes, parts.length, ...parts.flatMap((t, i) => [ptr(be, t), 4 * inner[i]])];
  // a copy is bound by memory bandwidth, not arithmetic: split only large calls (≥ 2²² values: 56² and up at batch 16)
  const perRow = rowBytes / 4;
  splitJob(memoryOf(be), JOB.concat, params, rows, { minChunk: Math.ceil(POINTWISE_SPLIT.minChunk / perRow), minTotal: Math.ceil(CONCAT_MIN_TOTAL / perRow) });
  return out;
}
