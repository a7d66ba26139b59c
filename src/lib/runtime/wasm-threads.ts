/**
 * XNNPACK threads inside one Node process: registers tfjs-backend-wasm's threaded SIMD build as the `wasm` backend.
 *
 * Why tfjs does not do this itself in Node, and what this module changes (tfjs 4.22):
 * 1. `WASM_HAS_MULTITHREAD_SUPPORT` is false in Node, and forcing it makes tfjs hand its pthread workers `blob:` URLs,
 *    which Node's `Worker` refuses. Here the Emscripten factory gets real file paths instead: the worker script
 *    (tfjs ships it as a string; written once to the temp folder) and the factory's own `.js` as the main script.
 * 2. The C++ side caps the pool at `emscripten_num_logical_cores() / 2` ("2 hyper-threads per core"), so on a
 *    2-core machine `init_with_threads_count(2)` silently builds a 1-thread pool. The wasm import that answers that
 *    question is replaced (through Emscripten's `instantiateWasm` hook) to report twice the threads asked for.
 * 3. Emscripten `ref()`s a pthread's worker while it runs; pool threads never end, so they are `unref()`ed (the
 *    process can exit when its work is done).
 *
 * Results are bit-identical to the single-threaded build for the kernels tested (XNNPACK splits work by output
 * tiles, not by reduction; tests/lib/runtime/wasm-threads.test.ts). Settings: `INFTY_WASM_THREADS=<n>` (1 = the
 * single-threaded build). Default: the number of cores, capped at 8 (tfjs pre-spawns 8 pthread workers), on the
 * main thread only (the lab's gradient workers, worker_threads one per core, stay single-threaded), and only when
 * the 1-minute load average leaves a core free (see defaultWasmThreads). Results do not depend on the choice.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isMainThread } from "worker_threads";
// tfjs itself, not ./backend (which imports this module): the same tfjs-core instance either way.
import * as tf from "@tensorflow/tfjs";

/** Threads the pool gets when nothing is set: all cores on the main thread (≤ 8), 1 inside a worker thread. */
export function defaultWasmThreads(): number {
  const raw = process.env.INFTY_WASM_THREADS;
  if (raw != null && raw.trim() !== "") {
    const n = Number(raw);
    if (!(Number.isInteger(n) && n >= 1 && n <= 8)) {
      throw new Error(`INFTY_WASM_THREADS must be an integer in 1..8, got '${raw}'`);
    }
    return n;
  }
  if (!isMainThread) return 1;
  const cores = os.cpus().length;
  // A pool thread that loses its core stalls every op at the pool's barrier: measured here at load ≈ 13 on 2 cores,
  // 2 threads made a training step 1.2–1.7× slower. So the default takes the cores only when one is free.
  if (cores < 2 || os.loadavg()[0] > cores - 0.5) return 1;
  return Math.min(8, cores);
}

let activeThreads = 1;

/** Threads in the active wasm backend's XNNPACK pool (1 for the single-threaded build). */
export function wasmThreads(): number {
  return activeThreads;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { runningWorkers: Array<{ unref?: () => void }>; unusedWorkers: Array<{ unref?: () => void }> };
  tfjs?: Record<string, unknown>;
}
type Factory = (opts: Record<string, unknown>) => Promise<EmscriptenModule>;
type WasmInstantiate = (imports: { env: Record<string, unknown> }, receive: (i: unknown, m: unknown) => void) => object;

/** Writes tfjs's pthread worker script to a real file (content-addressed, atomic: other processes may race). */
function workerScript(dir: string): string {
  // tfjs escapes newlines the same way before making its blob: the script holds "\n" inside string literals.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const contents = (require(path.join(dir, "tfjs-backend-wasm-threaded-simd.worker.js")) as { wasmWorkerContents: string })
    .wasmWorkerContents.replace(/\n/g, "\\n");
  let h = 0;
  for (let i = 0; i < contents.length; i++) h = (Math.imul(h, 31) + contents.charCodeAt(i)) | 0;
  const file = path.join(os.tmpdir(), `infty-tfjs-wasm-worker-${(h >>> 0).toString(16)}.js`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, contents);
    fs.renameSync(tmp, file);
  }
  return file;
}

/**
 * Replaces the registered `wasm` backend factory with the threaded SIMD build and `threads` pool threads (≥ 2).
 * Call after `@tensorflow/tfjs-backend-wasm` is imported (its kernels stay registered under `wasm`) and before
 * the backend is first set.
 */
export function registerThreadedWasm(threads: number): void {
  if (!(Number.isInteger(threads) && threads >= 2 && threads <= 8)) {
    throw new Error(`registerThreadedWasm: threads must be an integer in 2..8, got ${threads}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const W = require("@tensorflow/tfjs-backend-wasm") as {
    BackendWasm: new (m: EmscriptenModule) => tf.KernelBackend;
    setThreadsCount(n: number): void;
  };
  const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js"));
  const mainScript = path.join(dir, "tfjs-backend-wasm-threaded-simd.js");
  const wasmFile = path.join(dir, "tfjs-backend-wasm-threaded-simd.wasm");
  const worker = workerScript(dir);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const factory = require(mainScript) as Factory;
  W.setThreadsCount(threads);
  if (tf.findBackendFactory("wasm") != null) tf.removeBackend("wasm");
  tf.registerBackend(
    "wasm",
    async () => {
      const instantiateWasm: WasmInstantiate = (imports, receive) => {
        // See 2. above: backend.cc halves this count and caps the pool at the result.
        imports.env.emscripten_num_logical_cores = () => 2 * threads;
        const WA = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: unknown; module: unknown }> } }).WebAssembly;
        WA.instantiate(fs.readFileSync(wasmFile), imports).then((r) => receive(r.instance, r.module));
        return {};
      };
      const module = await factory({
        locateFile: (p: string) => (p.endsWith(".worker.js") ? worker : path.join(dir, p)),
        mainScriptUrlOrBlob: mainScript,
        instantiateWasm,
      });
      // The same C entry points tfjs's own init() wraps.
      module.tfjs = {
        init: module.cwrap("init", null, []),
        initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
        getThreadsCount: module.cwrap("get_threads_count", "number", []),
        registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
        disposeData: module.cwrap("dispose_data", null, ["number"]),
        dispose: module.cwrap("dispose", null, []),
      };
      const backend = new W.BackendWasm(module); // builds the pthreadpool (init_with_threads_count)
      activeThreads = (module.tfjs.getThreadsCount as () => number)();
      for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) w.unref?.();
      return backend;
    },
    2, // tfjs-backend-wasm's own priority
  );
}
