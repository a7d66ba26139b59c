/**
 * Tensor backend selection in a browser page: the twin of backend.ts that browser bundles get in its place (see
 * src/lib/browser.ts; the same exports, no Node modules).
 *
 * Order: `webgpu` (navigator.gpu, any adapter the browser offers — hardware, or a software one such as SwiftShader,
 * reported as such) → `wasm` (SIMD; its .wasm binaries fetched from `wasmPaths`, default the page's own folder, so
 * nothing leaves the origin) → `cpu`. The lab's own wasm and WGSL kernels are registered as in Node, so a page runs
 * the same kernels as `infty sample`.
 */
import { BackendError, requireKernel, tf } from "./tf";
import { runOnBackend } from "./switch-backend";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { registerWebgpuKernels } from "./webgpu-kernels";

export { BackendError, requireKernel, tf };
export type { AdapterInfo, BackendInfo, BackendName } from "./backend";
import type { AdapterInfo, BackendInfo, BackendName } from "./backend";

export const BACKEND_NAMES: readonly BackendName[] = ["webgpu", "wasm", "cpu"];

/** One line naming the backend and, for webgpu, the adapter. */
export function describeBackend(info: BackendInfo): string {
  const a = info.adapter;
  if (!a) return `${info.name} (${info.pkg}, CPU)`;
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(" / ") || "unknown adapter";
  return `${info.name} (${a.software ? "software adapter" : "GPU"}: ${name}${a.description ? `, ${a.description}` : ""})`;
}

let chosen: BackendInfo | null = null;
const wasmHooks: Array<() => void> = [];
let wasmHooksRan = false;

/** Hooks run once after the wasm backend is initialised (the lab's wasm kernels). */
export function onWasmReady(hook: () => void): void {
  wasmHooks.push(hook);
  if (wasmHooksRan) hook();
}

/** True except on webgpu, where tensors are read with `await t.data()`. */
export function syncReadsAvailable(): boolean {
  return tf.getBackend() !== "webgpu";
}

/** The backend chosen by `initBackend`, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return chosen;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const gpuOf = (): any => (globalThis as any).navigator?.gpu;

/** The adapter the browser offers (null when it offers none). */
async function probeAdapter(): Promise<AdapterInfo | null> {
  const gpu = gpuOf();
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return null;
  const i = adapter.info ?? (typeof adapter.requestAdapterInfo === "function" ? await adapter.requestAdapterInfo() : {});
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    vendor: str(i.vendor), architecture: str(i.architecture), device: str(i.device), description: str(i.description),
    software: adapter.isFallbackAdapter === true || i.isFallbackAdapter === true ||
      /swiftshader|llvmpipe|lavapipe|software/i.test(`${i.architecture} ${i.description} ${i.device}`),
  };
}

export interface BrowserBackendOptions {
  quiet?: boolean;
  /** folder (URL, ending in "/") holding tfjs-backend-wasm's .wasm files; default: the page's own folder */
  wasmPaths?: string;
}

async function activate(name: BackendName, opts: BrowserBackendOptions): Promise<BackendInfo> {
  switch (name) {
    case "webgpu": {
      const adapter = await probeAdapter();
      if (!adapter) throw new BackendError(gpuOf() ? "the browser found no WebGPU adapter" : "this browser offers no WebGPU (navigator.gpu)");
      if (!(await tf.setBackend("webgpu"))) throw new BackendError("webgpu backend failed to initialise");
      registerWebgpuKernels();
      return { name: "webgpu", tfName: "webgpu", pkg: "@tensorflow/tfjs-backend-webgpu", gpu: !adapter.software, adapter };
    }
    case "wasm": {
      setWasmPaths(opts.wasmPaths ?? new URL("./", (globalThis as unknown as { location: { href: string } }).location.href).href);
      if (!(await tf.setBackend("wasm"))) throw new BackendError("wasm backend failed to initialise");
      if (!wasmHooksRan) {
        wasmHooksRan = true;
        for (const hook of wasmHooks) hook();
      }
      return { name: "wasm", tfName: "wasm", pkg: "@tensorflow/tfjs-backend-wasm", gpu: false };
    }
    case "cpu": {
      if (!(await tf.setBackend("cpu"))) throw new BackendError("cpu backend failed to initialise");
      return { name: "cpu", tfName: "cpu", pkg: "@tensorflow/tfjs-backend-cpu", gpu: false };
    }
    default:
      throw new BackendError(`backend '${name}' does not exist in a browser: expected one of ${BACKEND_NAMES.join(", ")}`);
  }
}

/**
 * Selects and initialises a backend: `request` if given ("webgpu", "wasm", "cpu"), else the first that works in
 * BACKEND_NAMES order. Idempotent for the same (or no) request. Failures of the ones tried are in the error.
 */
export async function initBackend(request?: string, opts: BrowserBackendOptions = {}): Promise<BackendInfo> {
  const want = request ? (request.trim().toLowerCase() as BackendName) : null;
  if (want && !BACKEND_NAMES.includes(want)) throw new BackendError(`unknown backend '${request}': expected one of ${BACKEND_NAMES.join(", ")}`);
  if (chosen && (want == null || want === chosen.name)) return chosen;
  const failures: string[] = [];
  for (const name of want ? [want] : BACKEND_NAMES) {
    try {
      chosen = await activate(name, opts);
      if (!opts.quiet) console.info(`[infty] backend: ${describeBackend(chosen)}`);
      return chosen;
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new BackendError(`no tensor backend could be initialised (${failures.join("; ")})`);
}

/** Switches to another backend for the duration of `fn` (tests: a reference on cpu). */
export function withBackend<T>(name: BackendName, fn: () => Promise<T> | T): Promise<T> {
  return runOnBackend(initBackend, chosen, name, fn);
}
