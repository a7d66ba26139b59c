/**
 * Tensor backend selection: one call picks the fastest backend that loads.
 *
 * Order: `tensorflow` (libtensorflow through @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node)
 * → `wasm` (SIMD; threaded XNNPACK pool in Node's main thread, see wasm-threads.ts; the lab registers the gradient
 *   kernels it lacks)
 * → `cpu` (pure JS, slow but complete). `INFTY_BACKEND=<name>` forces one.
 *
 * Everything in the lab imports `tf` from this module (re-exported by the package index), so the
 * library and every backend share one tfjs-core instance.
 */
// The union package, not bare tfjs-core: tfjs-core's CommonJS bundle (what Node and tslab load) registers neither
// gradients nor chained ops (x.add(y)); @tensorflow/tfjs registers both onto the same tfjs-core instance.
import * as tf from "@tensorflow/tfjs";

import { defaultWasmThreads, registerThreadedWasm } from "./wasm-threads";

export { tf };

export type BackendName = "tensorflow" | "wasm" | "cpu";
export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

export interface BackendInfo {
  /** the lab's name for it */
  name: BackendName;
  /** tfjs's registered backend name (`tensorflow`, `wasm`, `cpu`) */
  tfName: string;
  /** the npm package that provides it */
  pkg: string;
  /** true when kernels run on a GPU */
  gpu: boolean;
}

let chosen: BackendInfo | null = null;
let reported = false;

/** Hooks run once after the wasm backend is registered (e.g. the lab's extra gradient kernels). */
const wasmHooks: Array<() => void> = [];
let wasmHooksRan = false;
export function onWasmReady(hook: () => void): void {
  wasmHooks.push(hook);
  if (wasmHooksRan) hook();
}

function parseBackendName(raw: string): BackendName {
  const name = raw.trim().toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown backend '${raw}': expected one of ${BACKEND_NAMES.join(", ")}`);
  }
  return name as BackendName;
}

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
  const failures: string[] = [];
  for (const name of order) {
    try {
      const info = await activate(name);
      if (info) {
        chosen = info;
        if (!opts.quiet && !reported) {
          reported = true;
          console.error(`[infty] backend: ${info.name} (${info.pkg}, ${info.gpu ? "GPU" : "CPU"})`);
        }
        return info;
      }
      failures.push(`${name}: not installed`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no tensor backend could be initialised (${failures.join("; ")})`);
}

async function activate(name: BackendName): Promise<BackendInfo | null> {
  switch (name) {
    case "tensorflow": {
      const info = tryTensorflow();
      if (!info) return null;
      if (!(await tf.setBackend("tensorflow"))) return null;
      return info;
    }
    case "wasm": {
      if (tf.findBackend("wasm") == null) registerWasm();
      if (!(await tf.setBackend("wasm"))) throw new Error("wasm backend failed to initialise");
      if (!wasmHooksRan) {
        wasmHooksRan = true;
        for (const hook of wasmHooks) hook();
      }
      return { name: "wasm", tfName: "wasm", pkg: "@tensorflow/tfjs-backend-wasm", gpu: false };
    }
    case "cpu": {
      if (!(await tf.setBackend("cpu"))) throw new Error("cpu backend failed to initialise");
      // The cpu backend's first-use banner ("install tfjs-node") repeats what the report above says.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      return { name: "cpu", tfName: "cpu", pkg: "@tensorflow/tfjs-backend-cpu", gpu: false };
    }
  }
}

/** The backend chosen by `initBackend`, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return chosen;
}

/** Test helper: switch to another backend that is already registered (e.g. cpu for a reference). */
export async function withBackend<T>(name: BackendName, fn: () => Promise<T> | T): Promise<T> {
  const before = chosen;
  await initBackend(name, { quiet: true });
  try {
    return await fn();
  } finally {
    if (before) await initBackend(before.name, { quiet: true });
  }
}
