/**
 * Slice for the wasm backend as copies of contiguous runs. wasm's generic Slice (anything but a leading-axis
 * slice) moves one element at a time, ~35 ms per million floats — as much as a conv layer — and it is on the
 * U-Net's training path: the gradient of every channel concat (skip connections) and the forward of split/qkv.
 */
import { tf } from "../backend";
import { WasmBackend, TensorInfo, alloc, typed } from "./heap";

// out [size] = x[begin : begin + size] (sizes of −1 resolved by tfjs's slice_util).
export function slice(be: WasmBackend, x: TensorInfo, beginIn: number | number[], sizeIn: number | number[]): TensorInfo {
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, beginIn, sizeIn);
  const shape = x.shape, r = shape.length;
  const out = alloc(be, size, x.dtype, false);
  if (size.some((d) => d === 0)) return out;
  // k: the last axis the slice does not take whole; everything after it is one contiguous run per index
  let k = r - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  let inner = 1;
  for (let a = k + 1; a < r; a++) inner *= shape[a];
  const run = size[k] * inner;
  const strides = new Array<number>(r).fill(0);
  for (let a = r - 1, s = 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a];
  }
  const src = typed(be, x), dst = typed(be, out);
  const idx = new Array<number>(k).fill(0);
  let d = 0;
  for (;;) {
    let s0 = begin[k] * inner;
    for (let a = 0; a < k; a++) s0 += (begin[a] + idx[a]) * strides[a];
    if (run === 1) dst[d] = src[s0];
    else dst.set(src.subarray(s0, s0 + run), d);
    d += run;
    // odometer over the axes before k
    let a = k - 1;
    while (a >= 0 && ++idx[a] === size[a]) idx[a--] = 0;
    if (a < 0) break;
  }
  return out;
}
