/**
 * Typed access to the tfjs wasm backend's heap for the lab's kernels: allocate outputs, view tensors as typed
 * arrays, call the backend's own kernels (XNNPACK conv and matMul) on heap tensors, free temporaries.
 *
 * The wasm backend exposes these as public methods of `BackendWasm` (`makeOutput`, `disposeData`,
 * `typedArrayFromHeap`) and as `wasm.HEAPF32`; views go stale when the heap grows, so each helper re-reads them
 * after any allocation.
 */
import { tf } from "../tf";
import { WasmMemory, memoryOf } from "./asm";

// memoryOf lives in asm.ts (no tfjs import there: the parallel worker loads the kernels without tfjs)
export { memoryOf };

export type TensorInfo = tf.TensorInfo;
type DataId = TensorInfo["dataId"];

/** The slice of `BackendWasm` these kernels rely on (tfjs-backend-wasm 4.22). */
export interface WasmBackend {
  wasm: {
    HEAPU8: Uint8Array;
    asm: Record<string, unknown>;
    wasmMemory?: WasmMemory;
    tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, offset: number): void };
  };
  dataIdMap: { get(dataId: DataId): { id: number; memoryOffset: number } ; set(dataId: DataId, v: object): void; delete(dataId: DataId): void };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

/** Byte offset of a tensor's data in the heap. */
export function ptr(be: WasmBackend, t: TensorInfo): number {
  return be.dataIdMap.get(t.dataId).memoryOffset;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A fresh float32 view of a tensor (re-read after any allocation: the heap may have moved). */
export function f32(be: WasmBackend, t: TensorInfo): Float32Array {
  return new Float32Array(be.wasm.HEAPU8.buffer, ptr(be, t), size(t.shape));
}

/** A fresh typed view matching the tensor's dtype (float32, int32; bool as uint8). */
export function typed(be: WasmBackend, t: TensorInfo): Float32Array | Int32Array | Uint8Array {
  const buf = be.wasm.HEAPU8.buffer;
  const n = size(t.shape);
  if (t.dtype === "float32") return new Float32Array(buf, ptr(be, t), n);
  if (t.dtype === "int32") return new Int32Array(buf, ptr(be, t), n);
  if (t.dtype === "bool") return new Uint8Array(buf, ptr(be, t), n);
  throw new Error(`wasm-kernels: unsupported dtype ${t.dtype}`);
}

/** Allocates a heap tensor; zero-filled unless `zero` is false (malloc'd memory is not cleared). */
export function alloc(be: WasmBackend, shape: number[], dtype: tf.DataType = "float32", zero = true): TensorInfo {
  const t = be.makeOutput(shape, dtype);
  if (zero) typed(be, t).fill(0);
  return t;
}

/** Frees temporaries made by `alloc` or returned by a backend kernel. */
export function free(be: WasmBackend, ...ts: TensorInfo[]): void {
  for (const t of ts) be.disposeData(t.dataId);
}

/**
 * A tensor that aliases `byteOffset` (no copy). Release it with `dropView`, never `free` (which would free
 * memory it does not own).
 */
export function view(be: WasmBackend, byteOffset: number, shape: number[], dtype: tf.DataType = "float32"): TensorInfo {
  return be.makeOutput(shape, dtype, byteOffset);
}

export function dropView(be: WasmBackend, t: TensorInfo): void {
  const id = be.dataIdMap.get(t.dataId).id;
  be.wasm.tfjs.disposeData(id);
  be.dataIdMap.delete(t.dataId);
}

/** The backend's own kernels, captured before the lab replaces any of them. */
const originals = new Map<string, tf.KernelFunc>();

export function saveOriginal(name: string): void {
  if (originals.has(name)) return;
  const k = tf.getKernel(name, "wasm");
  if (k) originals.set(name, k.kernelFunc);
}

/** Runs the backend's original kernel `name` (e.g. XNNPACK Conv2D, BatchMatMul) on heap tensors. */
export function runOriginal(
  be: WasmBackend,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
): TensorInfo {
  const fn = originals.get(name) ?? tf.getKernel(name, "wasm")?.kernelFunc;
  if (!fn) throw new Error(`wasm-kernels: the wasm backend has no kernel ${name}`);
  return fn({ inputs, backend: be as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}
