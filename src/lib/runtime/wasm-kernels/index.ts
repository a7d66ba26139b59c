/**
 * The lab's wasm kernels: registered once the wasm backend is initialised (through `onWasmReady`), so that every
 * model the lab builds can train on wasm, and fast.
 *
 * Added (wasm has none): Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 *   DepthwiseConv2dNativeBackpropInput, UnsortedSegmentSum.
 * Replaced (too slow on the training path): Conv2DBackpropInput, DepthwiseConv2dNative, BatchMatMul (transposed
 *   operands), GatherV2, Slice (off the leading axis), Concat (a JS subarray per row; concat.ts). Identity (too much memory): wasm's copies the data, and the
 *   gradient tape clones every tensor it saves for the backward pass, which doubled a training step's peak heap;
 *   the lab's shares the data (reference-counted, as Reshape already does on wasm and Identity on cpu; no wasm
 *   kernel writes into its inputs). Each is checked against tfjs-backend-cpu in tests/lib/runtime/wasm-kernels.test.ts.
 * The lab's own typed kernels take f32x4 paths here through `runWasm` (typed-kernels.ts): GELU and the modulated
 * LayerNorm (pointwise.ts, tests/lib/runtime/pointwise.test.ts) and the separable resampled depthwise conv
 * (separable.ts, tests/lib/operators/resampled-depthwise.test.ts).
 */
import { tf, onWasmReady } from "../backend";
import { WasmBackend, TensorInfo, memoryOf, runOriginal, saveOriginal } from "./heap";
import { simdFor, Simd } from "./simd";
import { conv2dBackpropFilter, conv2dBackpropInput } from "./conv2d";
import { depthwiseBackpropFilter, depthwiseBackpropInput, depthwiseForward } from "./depthwise";
import { gatherRows, unsortedSegmentSum } from "./gather";
import { batchMatMul } from "./matmul";
import { slice } from "./slice";
import { concat } from "./concat";

export { setWasmPointwise } from "./pointwise";
export { setWasmParallel, wasmParallelReady, wasmParallelCalls, wasmParallelWorkerChunks, splitRanges } from "./parallel";
export { hatPlan } from "./separable";
export { setWasmConcat } from "./concat";
export { setWasmConvGradFast } from "./conv2d";

/** Kernel names the lab registers for wasm (added or replaced). */
export const LAB_WASM_KERNELS = [
  "Conv2DBackpropFilter", "Conv2DBackpropInput",
  "DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput",
  "BatchMatMul", "GatherV2", "UnsortedSegmentSum", "Slice", "Identity", "Concat",
] as const;

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> };
type Impl = (be: WasmBackend, simd: Simd, args: Args) => TensorInfo;

/* eslint-disable @typescript-eslint/no-explicit-any */
const impls: Record<(typeof LAB_WASM_KERNELS)[number], Impl> = {
  Conv2DBackpropFilter: (be, s, { inputs, attrs }) =>
    conv2dBackpropFilter(be, s, inputs.x, inputs.dy, attrs.filterShape as number[], attrs as any),
  Conv2DBackpropInput: (be, _s, { inputs, attrs }) =>
    conv2dBackpropInput(be, inputs.dy, inputs.filter, attrs.inputShape as number[], attrs as any),
  DepthwiseConv2dNative: (be, s, { inputs, attrs }) => depthwiseForward(be, s, inputs.x, inputs.filter, attrs as any),
  DepthwiseConv2dNativeBackpropFilter: (be, s, { inputs, attrs }) =>
    depthwiseBackpropFilter(be, s, inputs.x, inputs.dy, attrs.filterShape as number[], attrs as any),
  DepthwiseConv2dNativeBackpropInput: (be, s, { inputs, attrs }) =>
    depthwiseBackpropInput(be, s, inputs.dy, inputs.filter, attrs.inputShape as number[], attrs as any),
  BatchMatMul: (be, _s, { inputs, attrs }) =>
    batchMatMul(be, inputs.a, inputs.b, !!attrs.transposeA, !!attrs.transposeB) ??
    runOriginal(be, "BatchMatMul", inputs, attrs),
  GatherV2: (be, _s, { inputs, attrs }) =>
    (attrs.batchDims as number | undefined ?? 0) === 0
      ? gatherRows(be, inputs.x, inputs.indices, attrs.axis as number)
      : runOriginal(be, "GatherV2", inputs, attrs),
  UnsortedSegmentSum: (be, _s, { inputs, attrs }) =>
    unsortedSegmentSum(be, inputs.x, inputs.segmentIds, attrs.numSegments as number),
  Identity: (be, _s, { inputs, attrs }) => {
    const x = inputs.x;
    if (x.dtype === "string") return runOriginal(be, "Identity", inputs, attrs);
    be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
  Concat: (be, _s, { inputs, attrs }) =>
    concat(be, Object.values(inputs), attrs.axis as number | number[]) ?? runOriginal(be, "Concat", inputs, attrs),
  Slice: (be, _s, { inputs, attrs }) =>
    inputs.x.dtype === "string"
      ? runOriginal(be, "Slice", inputs, attrs)
      : slice(be, inputs.x, attrs.begin as number[], attrs.size as number[]),
};
/* eslint-enable @typescript-eslint/no-explicit-any */

let registered = false;

/**
 * Registers the lab's kernels for the `wasm` backend (idempotent). `initBackend("wasm")` calls it; call it
 * yourself only if you registered the wasm backend some other way.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  const be = tf.findBackend("wasm") as unknown as WasmBackend | null;
  if (be == null) throw new Error("registerWasmKernels: the wasm backend is not initialised");
  const simd = simdFor(memoryOf(be));
  for (const name of LAB_WASM_KERNELS) {
    saveOriginal(name);
    if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
    const impl = impls[name];
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: ((args: Args) => impl(args.backend as WasmBackend, simd, args)) as unknown as tf.KernelFunc,
    });
  }
  registered = true;
}

onWasmReady(registerWasmKernels);
