/**
 * The `native` backend's kernels: the wasm backend (tensors stay in its heap) with its dense kernels handed to oneDNN
 * through the addon (addon.ts). Each kernel passes byte offsets into the heap: no copy in or out.
 *
 * Replaced on `wasm` while the native backend is active (restored by `setNativeKernels(false)`, i.e.
 * `INFTY_BACKEND=wasm` or `initBackend("wasm")`): Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter,
 * DepthwiseConv2dNative and its two gradients, BatchMatMul, Sum (over one block of adjacent axes: tfjs-wasm transposes
 * them to the end first, which made the bias gradients' sums over [B, H, W] ~8 % of a training step). What a kernel
 * does not handle (NCHW, non-float32, empty tensors, batch shapes that broadcast other than by 1, a shape oneDNN
 * refuses) goes to the kernel it replaced, the lab's wasm one.
 * The lab's own typed kernels InftySparseDwConv(+Backprop), InftyAdam, InftyEma and InftyModLayerNormGrad run as C++
 * (OpenMP over points or taps; the same arithmetic in the same order as their JS versions, so the same bits) through
 * typed-kernel overrides. (InftyGroupNormSiluGrad in C++ double with the C library's exp ran 3× slower than the
 * lab's f32x4 wasm kernel: left on wasm.)
 * Each is checked against tfjs-backend-cpu (and the typed kernels against their JS versions, bit for bit) in
 * tests/lib/runtime/native.test.ts.
 */
import { tf } from "../tf";
import { memoryOf } from "../wasm-kernels/asm";
import type { WasmBackend, TensorInfo } from "../wasm-kernels/heap";
import type { NativeAddon } from "./addon";
import { setTypedKernelOverride, TypedKernelOverride } from "../typed-kernels";
import type { KernelMapView as KernelMap } from "../typed-kernels";

/** The tfjs kernels the native backend runs with oneDNN (the rest fall back to wasm). */
export const NATIVE_KERNELS = [
  "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
  "DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
  "BatchMatMul", "Sum",
] as const;
type KernelName = (typeof NATIVE_KERNELS)[number];

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> };

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

/** Calls per kernel that went to oneDNN and that fell back (tests and benches read these). */
export const nativeStats = { native: {} as Record<string, number>, fallback: {} as Record<string, number> };
const count = (m: Record<string, number>, k: string) => { m[k] = (m[k] ?? 0) + 1; };

let heapView: Uint8Array | null = null;
/** A Uint8Array over the whole wasm heap (a new one only when the memory grew). */
function heap(be: WasmBackend): Uint8Array {
  const buf = memoryOf(be).buffer as ArrayBuffer;
  if (heapView == null || heapView.buffer !== buf || heapView.byteLength !== buf.byteLength) heapView = new Uint8Array(buf);
  return heapView;
}
const off = (be: WasmBackend, t: TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs, depthwise: boolean): tf.backend_util.Conv2DInfo | null {
  const fmt = a.dataFormat ?? "NHWC";
  if (fmt !== "NHWC" && fmt !== "channelsLast") return null;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise, "channelsLast",
  );
}

function convDims(c: tf.backend_util.Conv2DInfo, depthwise: boolean): Int32Array | null {
  const p = c.padInfo;
  const d = Int32Array.of(
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, p.top, p.left, p.bottom, p.right,
    c.dilationHeight, c.dilationWidth, depthwise ? 1 : 0,
  );
  // empty tensors, negative pads (tfjs allows some with explicit padding): the wasm kernel's to handle
  for (let i = 0; i < 17; i++) if (d[i] < (i >= 11 && i <= 14 ? 0 : 1)) return null;
  return d;
}

let addon: NativeAddon | null = null;

/**
 * Runs oneDNN: allocates the output, calls the addon; on a oneDNN refusal frees the output and returns null (the
 * caller falls back).
 */
function run(be: WasmBackend, name: string, outShape: number[], call: (h: Uint8Array, out: number) => boolean): TensorInfo | null {
  const out = be.makeOutput(outShape, "float32"); // allocate first: malloc may grow the heap
  try {
    if (call(heap(be), off(be, out))) {
      count(nativeStats.native, name);
      return out;
    }
  } catch (err) {
    be.disposeData(out.dataId);
    if ((err as { code?: string }).code === "ONEDNN") return null; // a shape oneDNN has no primitive for
    throw err; // a bad offset or argument is the lab's bug: loud
  }
  be.disposeData(out.dataId);
  return null;
}

type Impl = (be: WasmBackend, args: Args) => TensorInfo | null;

const f32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === "float32" && size(t.shape) > 0);

const impls: Record<KernelName, Impl> = {
  Conv2D: (be, { inputs: { x, filter }, attrs }) => {
    if (!f32(x, filter)) return null;
    const c = convInfo(x.shape, filter.shape, attrs as unknown as ConvAttrs, false);
    const d = c && convDims(c, false);
    return d && run(be, "Conv2D", c.outShape, (h, o) => addon!.conv(h, 0, off(be, x), off(be, filter), o, d));
  },
  Conv2DBackpropInput: (be, { inputs: { dy, filter }, attrs }) => {
    if (!f32(dy, filter)) return null;
    const inputShape = attrs.inputShape as number[];
    const c = convInfo(inputShape, filter.shape, attrs as unknown as ConvAttrs, false);
    const d = c && convDims(c, false);
    return d && run(be, "Conv2DBackpropInput", inputShape, (h, o) => addon!.conv(h, 1, off(be, dy), off(be, filter), o, d));
  },
  Conv2DBackpropFilter: (be, { inputs: { x, dy }, attrs }) => {
    if (!f32(x, dy)) return null;
    const filterShape = attrs.filterShape as number[];
    const c = convInfo(x.shape, filterShape, attrs as unknown as ConvAttrs, false);
    const d = c && convDims(c, false);
    return d && run(be, "Conv2DBackpropFilter", filterShape, (h, o) => addon!.conv(h, 2, off(be, x), off(be, dy), o, d));
  },
  DepthwiseConv2dNative: (be, { inputs: { x, filter }, attrs }) => {
    if (!f32(x, filter)) return null;
    const c = convInfo(x.shape, filter.shape, attrs as unknown as ConvAttrs, true);
    const d = c && convDims(c, true);
    return d && run(be, "DepthwiseConv2dNative", c.outShape, (h, o) => addon!.conv(h, 0, off(be, x), off(be, filter), o, d));
  },
  DepthwiseConv2dNativeBackpropInput: (be, { inputs: { dy, filter }, attrs }) => {
    if (!f32(dy, filter)) return null;
    const inputShape = attrs.inputShape as number[];
    const c = convInfo(inputShape, filter.shape, attrs as unknown as ConvAttrs, true);
    const d = c && convDims(c, true);
    return d && run(be, "DepthwiseConv2dNativeBackpropInput", inputShape, (h, o) => addon!.conv(h, 1, off(be, dy), off(be, filter), o, d));
  },
  DepthwiseConv2dNativeBackpropFilter: (be, { inputs: { x, dy }, attrs }) => {
    if (!f32(x, dy)) return null;
    const filterShape = attrs.filterShape as number[];
    const c = convInfo(x.shape, filterShape, attrs as unknown as ConvAttrs, true);
    const d = c && convDims(c, true);
    return d && run(be, "DepthwiseConv2dNativeBackpropFilter", filterShape, (h, o) => addon!.conv(h, 2, off(be, x), off(be, dy), o, d));
  },
  BatchMatMul: (be, { inputs: { a, b }, attrs }) => {
    if (!f32(a, b) || a.shape.length < 2 || b.shape.length < 2) return null;
    const ta = !!attrs.transposeA, tb = !!attrs.transposeB;
    const ra = a.shape.length, rb = b.shape.length;
    const M = ta ? a.shape[ra - 1] : a.shape[ra - 2], K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
    const K2 = tb ? b.shape[rb - 1] : b.shape[rb - 2], N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
    if (K !== K2) return null; // the original kernel gives tfjs's error message
    const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
    const Ba = size(batchA), Bb = size(batchB);
    // same outer shape, or one side without batch (all ones): other broadcasts are left to the wasm kernel
    let outBatch: number[];
    if (batchA.length === batchB.length && batchA.every((v, i) => v === batchB[i])) outBatch = batchA;
    else if (Bb === 1 && batchB.length <= batchA.length) outBatch = batchA;
    else if (Ba === 1 && batchA.length <= batchB.length) outBatch = batchB;
    else return null;
    const d = Int32Array.of(Ba, Bb, M, K, N, ta ? 1 : 0, tb ? 1 : 0);
    return run(be, "BatchMatMul", [...outBatch, M, N], (h, o) => addon!.matmul(h, off(be, a), off(be, b), o, d));
  },
  Sum: (be, { inputs: { x }, attrs }) => {
    if (!f32(x)) return null;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).slice().sort((p, q) => p - q);
    if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return null; // one block of adjacent axes
    const first = axes[0], last = axes[axes.length - 1];
    const O = size(x.shape.slice(0, first)), R = size(x.shape.slice(first, last + 1)), I = size(x.shape.slice(last + 1));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
    return run(be, "Sum", outShape, (h, o) => addon!.sum(h, off(be, x), o, Int32Array.of(O, R, I)));
  },
};

/** Native versions of the lab's typed kernels (same contract as `runWasm`: fill the outputs, or return false). */
const typedOverrides: Record<string, TypedKernelOverride> = {
  InftySparseDwConv: (be, [x, w, bias], [out], attrs) => {
    const { kmap } = attrs as { kmap: KernelMap };
    const P = kmap.inverseCounts.length, C = bias.shape[0];
    if (x.dtype !== "float32" || w.dtype !== "float32" || bias.dtype !== "float32" || size(x.shape) !== P * C) return false;
    const ok = addon!.sparseDw(heap(be), off(be, x), off(be, w), off(be, bias), off(be, out), kmap.neighbours, kmap.inverseCounts, Int32Array.of(P, kmap.K, C));
    if (ok) count(nativeStats.native, "InftySparseDwConv");
    return ok;
  },
  InftySparseDwConvBackprop: (be, [dy, x, w], [dx, dw], attrs) => {
    const { kmap } = attrs as { kmap: KernelMap };
    const P = kmap.inverseCounts.length, C = size(dy.shape) / P;
    if (dy.dtype !== "float32" || x.dtype !== "float32" || w.dtype !== "float32" || !Number.isInteger(C)) return false;
    const ok = addon!.sparseDwGrad(heap(be), off(be, dy), off(be, x), off(be, w), off(be, dx), off(be, dw), kmap.neighbours, kmap.inverseCounts, Int32Array.of(P, kmap.K, C));
    if (ok) count(nativeStats.native, "InftySparseDwConvBackprop");
    return ok;
  },
  InftyAdam: (be, ins, outs, attrs) => {
    if (ins.length !== 4 || ins.some((t) => t.dtype !== "float32")) return false; // the on-device variant reads the scale from a tensor
    const a = attrs as { scale: number; lr: number; b1: number; b2: number; bc1: number; bc2: number; eps: number };
    const n = size(ins[0].shape);
    const [p, m, v, g] = ins, [pOut, mOut, vOut] = outs;
    const ok = addon!.adam(heap(be), off(be, p), off(be, m), off(be, v), off(be, g), off(be, pOut), off(be, mOut), off(be, vOut), n,
      Float64Array.of(a.scale, a.lr, a.b1, a.b2, a.bc1, a.bc2, a.eps));
    if (ok) count(nativeStats.native, "InftyAdam");
    return ok;
  },
  InftyModLayerNormGrad: (be, ins, outs, attrs) => {
    const { B, M, C } = attrs as { B: number; M: number; C: number };
    if ([...ins, ...outs].some((t) => t.dtype !== "float32")) return false;
    const ok = addon!.modLayerNormGrad(heap(be), Float64Array.from([...ins, ...outs], (t) => off(be, t)), Int32Array.of(B, M, C));
    if (ok) count(nativeStats.native, "InftyModLayerNormGrad");
    return ok;
  },
  InftyEma: (be, [e, s], [out], attrs) => {
    if (e.dtype !== "float32" || s.dtype !== "float32") return false;
    const ok = addon!.ema(heap(be), off(be, e), off(be, s), off(be, out), size(e.shape), (attrs as { decay: number }).decay);
    if (ok) count(nativeStats.native, "InftyEma");
    return ok;
  },
};

/** The kernels the native ones replaced (the lab's wasm kernels or tfjs-wasm's), captured when first swapped in. */
const replaced = new Map<string, tf.KernelConfig | null>();
let active = false;

function register(name: string, kernelFunc: tf.KernelFunc, setupFunc?: tf.KernelSetupFunc, disposeFunc?: tf.KernelDisposeFunc): void {
  if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc, setupFunc, disposeFunc });
}

/**
 * Swaps the native kernels in (true) or the replaced ones back (false) on the registered wasm backend. The backend
 * module calls it when `native` or `wasm` is chosen; tests call it to compare both paths in one process.
 */
export function setNativeKernels(on: boolean, lib?: NativeAddon): void {
  if (on === active) return;
  if (on) {
    if (lib == null) throw new Error("setNativeKernels(true) needs the addon");
    addon = lib;
    for (const name of NATIVE_KERNELS) {
      const prev = tf.getKernel(name, "wasm") ?? null;
      if (!replaced.has(name)) replaced.set(name, prev ? { ...prev } : null);
      const orig = replaced.get(name);
      const impl = impls[name];
      register(name, ((args: Args) => {
        const out = impl(args.backend as WasmBackend, args);
        if (out) return out;
        count(nativeStats.fallback, name);
        if (!orig) throw new Error(`kernel ${name}: oneDNN cannot run this case and the wasm backend has no kernel for it`);
        return orig.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
      }) as unknown as tf.KernelFunc, orig?.setupFunc, orig?.disposeFunc); // setup: tfjs-wasm's cwraps, should the backend re-initialise
    }
    for (const [name, fn] of Object.entries(typedOverrides)) setTypedKernelOverride(name, fn);
  } else {
    for (const name of NATIVE_KERNELS) {
      const orig = replaced.get(name);
      if (orig) register(name, orig.kernelFunc, orig.setupFunc, orig.disposeFunc);
      else if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
    }
    for (const name of Object.keys(typedOverrides)) setTypedKernelOverride(name, null);
  }
  active = on;
}

/** True while the native kernels are the wasm backend's. */
export function nativeKernelsActive(): boolean {
  return active;
}
