/**
 * Kernels written in plain JS over typed arrays, registered for both the `wasm` and `cpu` backends.
 *
 * Why: the sparse operators are irregular gathers over neighbour tables. On wasm, tf.gather is slow and its gradient
 * needs UnsortedSegmentSum, which wasm lacks; a JS loop over the tensors' memory (the wasm heap, or the cpu backend's
 * arrays) runs at the same speed on both backends, costs O(work) and needs no extra wasm kernels. Gradients are other
 * typed kernels, wired with tf.customGrad by the callers, so everything trains on wasm.
 */
import { tf, requireKernel } from "./tf";
import type { WasmBackend } from "./wasm-kernels/heap";

/** What runtime kernels read of a KernelMap (operators/kernel-map.ts), typed by shape so the runtime imports no operator. */
export interface KernelMapView {
  readonly K: number;
  readonly counts: Float32Array;
  readonly inverseCounts: Float32Array;
  readonly neighbours: Int32Array;
}

/** The typed arrays a typed kernel reads. */
export type TypedArrayIn = Float32Array | Int32Array;

/** A kernel written on plain typed arrays and registered for every CPU backend (name, inputs, output shapes, run). */
export interface TypedKernel<A> {
  name: string;
  /** names of the tensor inputs, in the order `run` receives them */
  inputNames: string[];
  /** output shapes (all float32) from input shapes and attrs */
  outputs(inputShapes: number[][], attrs: A): number[][];
  /** fills `outs`, which arrive zeroed */
  run(ins: TypedArrayIn[], outs: Float32Array[], attrs: A): void;
  /**
   * Optional fast path on the wasm backend (SIMD kernels over the heap, wasm-kernels/pointwise.ts): called with the
   * inputs and the freshly allocated, NOT zeroed outputs, which it must fill completely; returns false to fall back
   * to `run` (e.g. a shape it does not handle).
   */
  runWasm?(be: WasmBackend, ins: tf.TensorInfo[], outs: tf.TensorInfo[], attrs: A): boolean;
}

const sizeOf = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** Same contract as `runWasm`; tried first on the wasm backend (the native backend's C++ versions, runtime/native). */
export type TypedKernelOverride = (be: WasmBackend, ins: tf.TensorInfo[], outs: tf.TensorInfo[], attrs: unknown) => boolean;
const overrides = new Map<string, TypedKernelOverride>();

/** Installs (or, with null, removes) the wasm backend's override of typed kernel `name`. */
export function setTypedKernelOverride(name: string, fn: TypedKernelOverride | null): void {
  if (fn) overrides.set(name, fn);
  else overrides.delete(name);
}

/** Registers `k` for wasm and cpu (idempotent). Attributes may carry plain JS objects (tables): they are not tensors. */
export function registerTypedKernel<A>(k: TypedKernel<A>): void {
  for (const backendName of ["wasm", "cpu"]) {
    if (tf.getKernel(k.name, backendName) != null) continue;
    tf.registerKernel({
      kernelName: k.name,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const be = backend as any;
        const infos = k.inputNames.map((n) => inputs[n] as tf.TensorInfo);
        const shapes = k.outputs(infos.map((i) => i.shape), attrs as unknown as A);
        if (backendName === "wasm") {
          // allocate first: malloc may grow the heap and detach earlier views
          const outs: tf.TensorInfo[] = shapes.map((s) => be.makeOutput(s, "float32"));
          if (overrides.get(k.name)?.(be as WasmBackend, infos, outs, attrs)) return outs.length === 1 ? outs[0] : outs;
          if (k.runWasm?.(be as WasmBackend, infos, outs, attrs as unknown as A)) return outs.length === 1 ? outs[0] : outs;
          const ins = infos.map((i) => be.typedArrayFromHeap(i) as TypedArrayIn);
          const arrs = outs.map((o) => {
            const a = be.typedArrayFromHeap(o) as Float32Array;
            a.fill(0);
            return a;
          });
          k.run(ins, arrs, attrs as unknown as A);
          return outs.length === 1 ? outs[0] : outs;
        }
        const ins = infos.map((i) => be.data.get(i.dataId).values as TypedArrayIn);
        const arrs = shapes.map((s) => new Float32Array(sizeOf(s)));
        k.run(ins, arrs, attrs as unknown as A);
        const outs = shapes.map((s, j) => be.makeTensorInfo(s, "float32", arrs[j]) as tf.TensorInfo);
        return outs.length === 1 ? outs[0] : outs;
      },
    });
  }
}

/** Runs a registered typed kernel on tensors. */
export function runTypedKernel<A>(name: string, inputs: Record<string, tf.Tensor>, attrs: A): tf.Tensor | tf.Tensor[] {
  requireKernel(name); // a clear one-line error on a backend without it (e.g. tensorflow)
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as
    | tf.Tensor
    | tf.Tensor[];
}

/** tf.customGrad with positional tensor arguments (the last argument is the save function). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function customOp(f: (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }): (...xs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...xs: tf.Tensor[]) => tf.Tensor;
}
