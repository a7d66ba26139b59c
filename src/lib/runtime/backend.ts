/**
 * Tensor backend selection: one call picks the fastest backend that loads.
 *
 * Order: `tensorflow` (libtensorflow through @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node)
 * → `webgpu` (dawn's Node bindings, npm `webgpu`, + @tensorflow/tfjs-backend-webgpu; only when the adapter is a
 *   hardware GPU — a software adapter such as SwiftShader is used only when `webgpu` is asked for by name)
 * → `native` (the wasm backend with its dense kernels — convolutions, their gradients, BatchMatMul — run by oneDNN
 *   through the lab's N-API addon, native/infty_dnnl.cc, on the wasm heap without copies; runtime/native/; when the
 *   addon cannot load, one line says why and the choice goes on to wasm)
 * → `wasm` (SIMD; threaded XNNPACK pool in Node's main thread, see wasm-threads.ts; the lab registers the gradient
 *   kernels it lacks)
 * → `cpu` (pure JS, slow but complete). `INFTY_BACKEND=<name>` forces one.
 *
 * Everything in the lab imports `tf` from this module (re-exported by the package index), so the
 * library and every backend share one tfjs-core instance.
 */
// The union package, not bare tfjs-core: tfjs-core's CommonJS bundle (what Node and tslab load) registers neither
// gradients nor chained ops (x.add(y)); @tensorflow/tfjs registers both onto the same tfjs-core instance.
import { BackendError, requireKernel, tf } from "./tf";
import { runOnBackend } from "./switch-backend";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { note } from "./notebook";

import { defaultWasmThreads, registerThreadedWasm } from "./wasm-threads";

export { BackendError, requireKernel, tf };

/** A tensor backend the lab can run on. */
export type BackendName = "tensorflow" | "webgpu" | "native" | "wasm" | "cpu";
/** Every backend name, fastest first. */
export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "webgpu", "native", "wasm", "cpu"];

/** The WebGPU adapter dawn picked (GPUAdapterInfo) and whether it is a software (fallback) adapter. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** true for a CPU emulating a GPU (SwiftShader, lavapipe/llvmpipe): correct, not fast */
  software: boolean;
}

/** The backend picked: its name, tfjs's name, threads and the GPU adapter if any. */
export interface BackendInfo {
  /** the lab's name for it */
  name: BackendName;
  /** tfjs's registered backend name (`tensorflow`, `wasm`, `cpu`) */
  tfName: string;
  /** the npm package that provides it */
  pkg: string;
  /** true when kernels run on a GPU */
  gpu: boolean;
  /** webgpu only: the adapter */
  adapter?: AdapterInfo;
  /** native only: the oneDNN library under the kernels */
  onednn?: { version: string; cpuIsa: string; threads: number };
  /** chosen automatically after the native backend could not load: why (one line) */
  nativeUnavailable?: string;
}

/** One line naming the backend (and, for webgpu, the adapter): what the CLI reports and `infty backend` prints. */
export function describeBackend(info: BackendInfo): string {
  const a = info.adapter;
  const where = a
    ? `${a.software ? "software adapter" : "GPU"}: ${[a.vendor, a.architecture].filter(Boolean).join(" / ") || "unknown"}` +
      `${a.description ? `, ${a.description}` : ""}`
    : info.gpu ? "GPU" : "CPU";
  if (info.onednn) {
    const o = info.onednn;
    return `${info.name} (oneDNN ${o.version}, ${o.cpuIsa}, ${o.threads} OpenMP thread${o.threads === 1 ? "" : "s"}; on ${info.pkg}, ${where})`;
  }
  return `${info.name} (${info.pkg}, ${where})`;
}

let chosen: BackendInfo | null = null;
let reported = false;
let nativeReported = false;

/** Hooks run once after the wasm backend is registered (e.g. the lab's extra gradient kernels). */
const wasmHooks: Array<() => void> = [];
let wasmHooksRan = false;
/** Runs `hook` once the wasm backend is ready (at once if it already is). */
export function onWasmReady(hook: () => void): void {
  wasmHooks.push(hook);
  if (wasmHooksRan) hook();
}


function parseBackendName(raw: string): BackendName {
  const name = raw.trim().toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new BackendError(`unknown backend '${raw}': expected one of ${BACKEND_NAMES.join(", ")}`);
  }
  return name as BackendName;
}

/** Debian's chromium ships SwiftShader, a Vulkan driver that runs on the CPU (null when absent). */
export const SWIFTSHADER_ICD_PATHS = ["/usr/lib/chromium/vk_swiftshader_icd.json", "/usr/lib/chromium-browser/vk_swiftshader_icd.json"];
/** The path of SwiftShader's Vulkan driver manifest where Chromium ships it, or null. */
export function findSwiftShader(): string | null {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const fs = require("fs") as typeof import("fs");
  return SWIFTSHADER_ICD_PATHS.find((p) => fs.existsSync(p)) ?? null;
}

/**
 * Points the Vulkan loader at SwiftShader (VK_ICD_FILENAMES) and gives dawn the XDG_RUNTIME_DIR it wants; must run
 * before the first `webgpu` backend initialisation in the process. Returns the ICD file, or null when none exists.
 */
export function useSwiftShader(): string | null {
  const icd = findSwiftShader();
  if (icd == null) return null;
  process.env.VK_ICD_FILENAMES = icd;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = (require("os") as typeof import("os")).tmpdir();
  return icd;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let gpuAdapter: { adapter: any; info: AdapterInfo } | null = null;

/**
 * Asks dawn for an adapter. Null when the `webgpu` package is not installed (optional dependency); throws
 * BackendError when dawn finds no adapter, or only a software one and `allowSoftware` is false.
 */
async function probeWebgpu(allowSoftware: boolean): Promise<AdapterInfo | null> {
  if (gpuAdapter == null) {
    let mod: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      mod = require("webgpu");
    } catch {
      return null;
    }
    // asked for by name on a Linux machine without a GPU device: the software adapter is what exists
    if (allowSoftware && !process.env.VK_ICD_FILENAMES && !mayHaveGpu()) useSwiftShader();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const gpu = mod.create([]) as any;
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter == null) {
      throw new BackendError(
        "no WebGPU adapter (dawn found no Vulkan, Metal or D3D12 device; for SwiftShader set VK_ICD_FILENAMES to its vk_swiftshader_icd.json)",
      );
    }
    const i = adapter.info ?? {};
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    const info: AdapterInfo = {
      vendor: str(i.vendor), architecture: str(i.architecture), device: str(i.device), description: str(i.description),
      software: i.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|software/i.test(`${i.architecture} ${i.description} ${i.device}`),
    };
    // tfjs-backend-webgpu looks for the browser's globals (GPUBufferUsage, navigator.gpu, …)
    Object.assign(globalThis, mod.globals);
    Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
    gpuAdapter = { adapter, info };
  }
  if (gpuAdapter.info.software && !allowSoftware) {
    throw new BackendError(`only a software adapter (${gpuAdapter.info.architecture || gpuAdapter.info.description}); ask for it with INFTY_BACKEND=webgpu`);
  }
  return gpuAdapter.info;
}

/** False on webgpu: there, read tensors with `await t.data()`, never `dataSync`/`arraySync`. */
export function syncReadsAvailable(): boolean {
  // tfjs-backend-webgpu's readSync needs a canvas (OffscreenCanvas), which Node lacks: read with `await t.data()`
  return tf.getBackend() !== "webgpu";
}

/**
 * tfjs-backend-webgpu reads synchronously through a canvas, which Node lacks ("OffscreenCanvas is not defined"):
 * a synchronous read of data that lives only on the GPU becomes an error that says what to do instead.
 */
function guardSyncReads(backend: unknown): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const be = backend as any;
  if (be.labGuarded || typeof be.readSync !== "function") return;
  const readSync = be.readSync.bind(be);
  be.readSync = (dataId: object) => {
    const d = be.tensorMap?.get(dataId);
    if (d && d.values == null && d.dtype !== "string" && typeof OffscreenCanvasProbe() === "undefined") {
      throw new BackendError("a synchronous read (dataSync/arraySync) of a GPU tensor is not possible on webgpu in Node: use `await tensor.data()` (e.g. Trainer.trainStepAsync)");
    }
    return readSync(dataId);
  };
  be.labGuarded = true;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const OffscreenCanvasProbe = () => (globalThis as any).OffscreenCanvas;


/** Tries to register libtensorflow; returns its info or null when neither package loads. */
function tryTensorflow(): BackendInfo | null {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      // tfjs-node registers the `tensorflow` backend with the tfjs-core it resolves; it must be the same
      // tfjs-core as ours, which holds when both are installed at the same version.
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      require(pkg);
      if (tf.findBackend("tensorflow") == null) continue;
      return { name: "tensorflow", tfName: "tensorflow", pkg, gpu: pkg.endsWith("-gpu") };
    } catch {
      /* not installed or libtensorflow missing: try the next */
    }
  }
  return null;
}

function registerWasm(): void {
  // Importing registers the backend; in Node its Emscripten loader reads the .wasm beside it with fs
  // (setWasmPaths would make it fetch() a file path, which Node rejects).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require("@tensorflow/tfjs-backend-wasm");
  // XNNPACK threads in this process when there are cores for them (INFTY_WASM_THREADS=1: single-threaded build).
  const threads = defaultWasmThreads();
  if (threads >= 2) registerThreadedWasm(threads);
}

/**
 * Selects and initialises a backend. With no argument: `INFTY_BACKEND` if set, else the fastest that loads.
 * Idempotent: later calls with the same (or no) request return the current choice.
 */
export async function initBackend(request?: string, opts: { quiet?: boolean } = {}): Promise<BackendInfo> {
  const requested = request ?? process.env.INFTY_BACKEND;
  const want = requested != null && requested !== "" ? parseBackendName(requested) : null;
  if (chosen && (want == null || want === chosen.name)) return chosen;

  const order: BackendName[] = want ? [want] : [...BACKEND_NAMES];
  const forced = want != null;
  const failures: string[] = [];
  for (const name of order) {
    try {
      const info = await activate(name, forced);
      if (info) {
        const nativeFailure = failures.find((f) => f.startsWith("native: "));
        if (nativeFailure && info.name === "wasm") {
          info.nativeUnavailable = nativeFailure.slice("native: ".length);
          if (!opts.quiet && !nativeReported) {
            nativeReported = true;
            note(`[infty] native backend unavailable: ${info.nativeUnavailable}; using wasm`);
          }
        }
        chosen = info;
        if (!opts.quiet && !reported) {
          reported = true;
          note(`[infty] backend: ${describeBackend(info)}`);
        }
        return info;
      }
      failures.push(`${name}: not installed`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (forced) throw new BackendError(`backend ${want} unavailable: ${failures.join("; ").replace(/^\w+: /, "")}`);
  throw new Error(`no tensor backend could be initialised (${failures.join("; ")})`);
}

/**
 * Whether an automatic choice should ask dawn at all: on Linux only when a GPU device node exists (DRM render node or
 * NVIDIA), so machines without a GPU neither load dawn (~100 MB) nor see its Vulkan warnings; macOS (Metal) and
 * Windows (D3D12) always have a driver to ask.
 */
function mayHaveGpu(): boolean {
  if (process.platform !== "linux") return true;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const fs = require("fs") as typeof import("fs");
  const list = (dir: string) => { try { return fs.readdirSync(dir); } catch { return []; } };
  return list("/dev/dri").some((f) => f.startsWith("renderD")) || list("/dev").some((f) => /^nvidia\d/.test(f));
}

async function activateWasm(): Promise<void> {
  if (tf.findBackend("wasm") == null) registerWasm();
  if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed to initialise");
  if (!wasmHooksRan) {
    wasmHooksRan = true;
    for (const hook of wasmHooks) hook();
  }
}

async function activate(name: BackendName, forced: boolean): Promise<BackendInfo | null> {
  switch (name) {
    case "webgpu": {
      if (!forced && !mayHaveGpu()) throw new BackendError("no GPU device node (/dev/dri/renderD*, /dev/nvidia*)");
      const adapter = await probeWebgpu(forced);
      if (adapter == null) return null;
      if (tf.findBackend("webgpu") == null) {
        try {
          // eslint-disable-next-line @typescript-eslint/no-var-requires
          require("@tensorflow/tfjs-backend-webgpu");
        } catch {
          return null;
        }
      }
      if (!(await tf.setBackend("webgpu"))) throw new Error("webgpu backend failed to initialise");
      guardSyncReads(tf.backend());
      // the lab's WGSL kernels (required here: that module imports this one)
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      (require("./webgpu-kernels") as { registerWebgpuKernels: () => void }).registerWebgpuKernels();
      return { name: "webgpu", tfName: "webgpu", pkg: "@tensorflow/tfjs-backend-webgpu", gpu: !adapter.software, adapter };
    }
    case "tensorflow": {
      const info = tryTensorflow();
      if (!info) return null;
      if (!(await tf.setBackend("tensorflow"))) return null;
      return info;
    }
    case "native": {
      // required here: these modules import this one
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { loadNative } = require("./native/addon") as typeof import("./native/addon");
      const lib = loadNative();
      if ("reason" in lib) throw new BackendError(lib.reason);
      await activateWasm();
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      (require("./native/kernels") as typeof import("./native/kernels")).setNativeKernels(true, lib.addon);
      const i = lib.addon.info();
      return {
        name: "native", tfName: "wasm", pkg: "native/infty_dnnl + @tensorflow/tfjs-backend-wasm", gpu: false,
        onednn: { version: i.version, cpuIsa: i.cpuIsa, threads: i.threads },
      };
    }
    case "wasm": {
      await activateWasm();
      // the native kernels (if an earlier choice swapped them in) give the wasm ones back
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      (require("./native/kernels") as typeof import("./native/kernels")).setNativeKernels(false);
      return { name: "wasm", tfName: "wasm", pkg: "@tensorflow/tfjs-backend-wasm", gpu: false };
    }
    case "cpu": {
      if (!(await tf.setBackend("cpu"))) throw new Error("cpu backend failed to initialise");
      return { name: "cpu", tfName: "cpu", pkg: "@tensorflow/tfjs-backend-cpu", gpu: false };
    }
  }
}

/**
 * tfjs's cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js …" on its first tensor, also
 * when tfjs starts it on its own (code that makes a tensor before initBackend) or re-creates it. The lab reports its
 * backend itself, so the flag is pinned to false on the class: every instance, present or future, stays quiet.
 */
function silenceCpuBanner(): void {
  const proto = MathBackendCPU.prototype as unknown as { firstUse?: boolean };
  if (Object.getOwnPropertyDescriptor(proto, "firstUse")?.get) return;
  Object.defineProperty(proto, "firstUse", { get: () => false, set: () => undefined, configurable: true });
  const cpu = tf.findBackend("cpu") as unknown as Record<string, unknown> | null;
  if (cpu && Object.prototype.hasOwnProperty.call(cpu, "firstUse")) delete cpu.firstUse; // made before the pin
}
silenceCpuBanner();

/** The backend chosen by `initBackend`, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return chosen;
}

/** Test helper: switch to another backend that is already registered (e.g. cpu for a reference). */
export function withBackend<T>(name: BackendName, fn: () => Promise<T> | T): Promise<T> {
  return runOnBackend(initBackend, chosen, name, fn);
}
