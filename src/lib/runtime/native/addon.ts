/**
 * Loading the native addon (native/infty_dnnl.cc → native/build/infty_dnnl.node, built by scripts/build-native.sh):
 * oneDNN under the wasm backend's tensors. `loadNative()` never throws: it returns the addon or the one-line reason
 * it could not be loaded (not built, oneDNN missing, another OS), which the backend choice reports before falling
 * back to wasm.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isMainThread } from "worker_threads";

/** What native/infty_dnnl.cc exports. */
export interface NativeAddon {
  /** fwd (kind 0): a = x, b = filter, c = y; bwd-data (1): a = dy, b = filter, c = dx; bwd-weights (2): a = x, b = dy, c = dW */
  conv(heap: Uint8Array, kind: 0 | 1 | 2, a: number, b: number, c: number, dims: Int32Array): boolean;
  /** c [B, M, N] = a [Ba, M, K] · b [Bb, K, N] (dims: Ba, Bb, M, K, N, transposeA, transposeB) */
  matmul(heap: Uint8Array, a: number, b: number, c: number, dims: Int32Array): boolean;
  /** InftySparseDwConv: out [P, C] from x [P, C], kernel [K, C], bias [C] and the kernel map's tables (dims: P, K, C) */
  sparseDw(heap: Uint8Array, x: number, kernel: number, bias: number, out: number, neighbours: Int32Array, inverseCounts: Float32Array, dims: Int32Array): boolean;
  /** InftySparseDwConvBackprop: dx [P, C] and dKernel [K, C] */
  sparseDwGrad(heap: Uint8Array, dy: number, x: number, kernel: number, dx: number, dKernel: number, neighbours: Int32Array, inverseCounts: Float32Array, dims: Int32Array): boolean;
  /** InftyAdam on n floats; attrs: scale, lr, b1, b2, bc1, bc2, eps */
  adam(heap: Uint8Array, p: number, m: number, v: number, g: number, pOut: number, mOut: number, vOut: number, n: number, attrs: Float64Array): boolean;
  /** out [O, I] = Σ_r x [O, R, I] (dims: O, R, I) */
  sum(heap: Uint8Array, x: number, out: number, dims: Int32Array): boolean;
  /** InftyModLayerNormGrad; offsets: dy, x, stats, gamma, beta, scale, dx, dGamma, dBeta, dScale, dShift; dims B, M, C */
  modLayerNormGrad(heap: Uint8Array, offsets: Float64Array, dims: Int32Array): boolean;
  /** InftyEma on n floats */
  ema(heap: Uint8Array, e: number, s: number, out: number, n: number, decay: number): boolean;
  /** oneDNN's version and the instruction set its JIT targets here. */
  info(): NativeInfo;
  /** "kind [dims] impl" for every cached primitive: which oneDNN implementation runs each shape */
  impls(): string[];
  /** Sets OpenMP's thread count; returns the previous one. */
  setThreads(n: number): number;
  /** Drops the cached oneDNN primitives; returns how many there were. */
  clearCache(): number;
}

/** What the native addon reports about oneDNN. */
export interface NativeInfo {
  /** oneDNN version, e.g. "2.6.3" */
  version: string;
  hash: string;
  /** the instruction set oneDNN's JIT targets here (avx512_core, avx2, …) */
  cpuIsa: string;
  /** OpenMP threads of the calling thread */
  threads: number;
  /** primitives in the per-shape cache */
  cached: number;
  calls: number;
  hits: number;
}

/** Where the addon is looked for: INFTY_NATIVE_ADDON, else native/build/ at the package root. */
export function nativeAddonPath(): string {
  const env = process.env.INFTY_NATIVE_ADDON;
  if (env != null && env !== "") return path.resolve(env);
  // dist/src/lib/runtime/native/addon.js → package root
  return path.resolve(__dirname, "..", "..", "..", "..", "..", "native", "build", "infty_dnnl.node");
}

/**
 * OpenMP threads for oneDNN in this thread: `INFTY_NATIVE_THREADS` if set; 1 inside a gradient/sampling worker (one per
 * core already); else all cores (≤ 8) when the 1-minute load average leaves a core free, 1 when it does not. Why the
 * load: measured here at load 5–7 on 2 cores, a 2-thread oneDNN kernel whose partner thread lost its core waited at
 * each barrier, up to 60× slower (backward-weights 8×8×32→32: 8.8 ms against 0.13 ms on 1 thread). The count does not
 * change results: tests/lib/runtime/native.test.ts checks 1 and 2 threads bit for bit on the U-Net's shapes.
 */
export function defaultNativeThreads(): number {
  const raw = process.env.INFTY_NATIVE_THREADS;
  if (raw != null && raw.trim() !== "") {
    const n = Number(raw);
    if (!(Number.isInteger(n) && n >= 1 && n <= 256)) throw new Error(`INFTY_NATIVE_THREADS must be an integer in 1..256, got '${raw}'`);
    return n;
  }
  if (!isMainThread) return 1;
  const cores = os.cpus().length;
  if (cores < 2 || os.loadavg()[0] > cores - 0.5) return 1;
  return Math.min(8, cores);
}

let loaded: { addon: NativeAddon } | { reason: string } | null = null;

/** The addon, or why it cannot be used (cached: the first answer stays). */
export function loadNative(): { addon: NativeAddon } | { reason: string } {
  if (loaded) return loaded;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    loaded = { reason: `native addon not built (${file} missing: run scripts/build-native.sh, which needs g++ and oneDNN)` };
    return loaded;
  }
  // OpenMP threads that spin after a kernel would take the cores from the wasm threads that run the next op:
  // sleep at once unless the user chose otherwise (read when libgomp loads, i.e. with the addon).
  if (process.env.OMP_WAIT_POLICY == null) process.env.OMP_WAIT_POLICY = "PASSIVE";
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(file) as NativeAddon;
    if (typeof addon.conv !== "function" || typeof addon.matmul !== "function") throw new Error("not the lab's addon (no conv/matmul)");
    addon.info(); // runs oneDNN once: a broken libdnnl fails here, not in the first kernel
    addon.setThreads(defaultNativeThreads());
    loaded = { addon };
  } catch (err) {
    const msg = ((err as Error).message ?? String(err)).split("\n")[0];
    loaded = { reason: `native addon failed to load (${msg})` };
  }
  return loaded;
}
