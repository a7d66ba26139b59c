/**
 * The lab's own wasm kernels on more than one core. With tfjs's threaded build (wasm-threads.ts) XNNPACK's conv and
 * matMul use every pool thread, while the lab's f32x4 kernels (the separable resampled depthwise conv, GELU, the
 * modulated LayerNorm) ran on the main thread alone: at 112² they were ≈ 40 % of a DDIM step with one core idle.
 *
 * A pool of `wasmThreads() − 1` worker_threads, started on first use, each holding the backend's SHARED
 * WebAssembly.Memory and its own instances of the same assembled kernels (jobs.ts). A call is split into ranges of
 * independent output units (rows, vectors: never a reduction, so the bits do not depend on the split); the main
 * thread posts each worker its range in a SharedArrayBuffer control block (Atomics.notify, ≈ 13 µs a round trip
 * here), runs the first range itself and waits with Atomics.wait: no promise, no event-loop turn, so kernels stay
 * synchronous. Heap growth needs nothing: the workers only run wasm on the shared memory (no JS views to refresh).
 *
 * Used only when the backend's memory is shared (the threaded build), `wasmThreads() ≥ 2` (the same rule as XNNPACK's
 * pool: INFTY_WASM_THREADS, or a free core), the workers have finished starting (until then calls run on the main
 * thread) and the call has at least `minUnits` units per thread. `setWasmParallel(false)` switches it off (for
 * before/after timings in one process and the equality tests).
 */
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";
import { tf } from "../backend";
import { WasmMemory, memoryOf } from "./asm";
import { JOBS, Kernels, kernelsFor } from "./jobs";
import { CTL, CTL_INTS, PARAMS } from "./parallel-protocol";
import { wasmThreads } from "../wasm-threads";

interface Pool {
  memory: WasmMemory;
  workers: Worker[];
  ctl: Int32Array;
  params: Float64Array;
  seq: number;
  broken: boolean;
}

let pool: Pool | null = null;
let enabled = true;
let threadsOverride: number | null = null;
let splitCalls = 0;

/** Kernel calls split across ≥ 2 threads so far in this process (tests check the pool really ran). */
export function wasmParallelCalls(): number {
  return splitCalls;
}

/**
 * Switches the pool on (default) or off; `threads` overrides wasmThreads() as the thread count (tests use it to
 * split across more threads than cores).
 */
export function setWasmParallel(on: boolean, threads?: number): void {
  enabled = on;
  threadsOverride = threads ?? null;
}

/** A job slower than this is taken for a dead worker (its slice is recomputed on the main thread). */
const WORKER_TIMEOUT_MS = 120_000;

const workerFile = path.join(__dirname, "parallel-worker.js");

function isShared(memory: WasmMemory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

function startPool(memory: WasmMemory, nWorkers: number): Pool {
  const control = new SharedArrayBuffer(nWorkers * CTL_INTS * 4);
  const params = new SharedArrayBuffer(PARAMS * 8);
  const p: Pool = { memory, workers: [], ctl: new Int32Array(control), params: new Float64Array(params), seq: 0, broken: false };
  for (let slot = 0; slot < nWorkers; slot++) {
    const w = new Worker(workerFile, { workerData: { memory, control, params, slot } });
    w.unref(); // never keeps the process alive (it waits in Atomics.wait forever)
    const fail = () => { p.broken = true; };
    w.on("error", fail);
    w.on("exit", fail);
    p.workers.push(w);
  }
  return p;
}

/**
 * Threads (≥ 1) a call of `units` units on `memory` will be split across: 1 unless the pool applies and every thread
 * gets ≥ minUnits units. Starts the pool on first use (its workers join once started; until then: 1).
 */
export function parallelThreads(memory: WasmMemory, units: number, minUnits: number): number {
  if (!enabled || !isShared(memory)) return 1;
  const want = Math.min(threadsOverride ?? wasmThreads(), Math.floor(units / minUnits));
  if (want < 2) return 1;
  if (pool != null && pool.memory === memory && pool.broken) return 1; // a worker failed: the main thread runs all
  if (pool != null && (pool.memory !== memory || pool.workers.length < want - 1)) {
    for (const w of pool.workers) void w.terminate();
    pool = null;
  }
  if (pool == null) {
    if (!fs.existsSync(workerFile)) return 1; // run from sources without a build: no worker script
    pool = startPool(memory, (threadsOverride ?? wasmThreads()) - 1);
  }
  let ready = 1;
  while (ready < want && ready - 1 < pool.workers.length && Atomics.load(pool.ctl, (ready - 1) * CTL_INTS + CTL.READY) === 1) ready++;
  return ready;
}

/** Splits [0, units) into n ranges at multiples of `grain` (the last range ends at units). */
export function splitRanges(units: number, n: number, grain: number): Array<[number, number]> {
  const cuts = [0];
  for (let i = 1; i < n; i++) cuts.push(Math.min(units, Math.round((units * i) / n / grain) * grain));
  cuts.push(units);
  return cuts.slice(0, -1).map((c, i) => [c, cuts[i + 1]] as [number, number]);
}

/**
 * Runs job `job` (jobs.ts) over units [0, units) on n threads (from parallelThreads; thread t's range uses scratch
 * t), the main thread taking the first range. Returns when every range is written.
 */
export function runJob(memory: WasmMemory, job: number, params: number[], units: number, n: number, grain = 1): void {
  const kernels: Kernels = kernelsFor(memory);
  if (n <= 1 || pool == null || pool.memory !== memory) {
    JOBS[job](kernels, Float64Array.from(params), 0, units, 0);
    return;
  }
  if (params.length > PARAMS) throw new Error(`parallel: ${params.length} parameters, ${PARAMS} at most`);
  const P = pool, ranges = splitRanges(units, n, grain);
  splitCalls++;
  P.params.set(params);
  const seq = ++P.seq;
  for (let w = 0; w < n - 1; w++) {
    const c = w * CTL_INTS, [lo, hi] = ranges[w + 1];
    P.ctl[c + CTL.KIND] = job;
    P.ctl[c + CTL.LO] = lo;
    P.ctl[c + CTL.HI] = hi;
    P.ctl[c + CTL.T] = w + 1;
    Atomics.store(P.ctl, c + CTL.SEQ, seq); // publishes the writes above and the parameter block
    Atomics.notify(P.ctl, c + CTL.SEQ);
  }
  JOBS[job](kernels, P.params, ranges[0][0], ranges[0][1], 0);
  for (let w = 0; w < n - 1; w++) {
    const c = w * CTL_INTS, t0 = Date.now();
    for (;;) {
      const done = Atomics.load(P.ctl, c + CTL.DONE);
      if (done === seq) break;
      if (Date.now() - t0 > WORKER_TIMEOUT_MS) { P.broken = true; break; }
      Atomics.wait(P.ctl, c + CTL.DONE, done, 1000);
    }
    if (P.broken || Atomics.load(P.ctl, c + CTL.ERROR) !== 0) {
      // the same function on the same range: the same bits, only slower
      P.broken = true;
      JOBS[job](kernels, P.params, ranges[w + 1][0], ranges[w + 1][1], w + 1);
    }
  }
}

/**
 * Resolves true once `threads` threads can run a kernel on the wasm backend's heap (false if the pool does not apply
 * or has not started within timeoutMs). The pool starts on first use and joins when started; tests and benches wait
 * for it so that no timed call runs before it has joined.
 */
export async function wasmParallelReady(threads = threadsOverride ?? wasmThreads(), timeoutMs = 30_000): Promise<boolean> {
  const be = tf.findBackend("wasm") as unknown as Parameters<typeof memoryOf>[0] | null;
  if (threads <= 1) return true;
  if (be == null) return false;
  const memory = memoryOf(be), t0 = Date.now();
  while (parallelThreads(memory, threads, 1) < threads) {
    if (Date.now() - t0 > timeoutMs || !enabled || !isShared(memory)) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** runJob on as many threads as give each ≥ minUnits units (parallelThreads), ranges cut at multiples of grain. */
export function splitJob(memory: WasmMemory, job: number, params: number[], units: number, minUnits: number, grain = 1): void {
  runJob(memory, job, params, units, parallelThreads(memory, units, minUnits), grain);
}

/**
 * Float32 values per thread below which GELU stays on one thread (≈ 0.1 ms of work against ≈ 15–50 µs to hand a
 * slice over); the norms use the same figure in values (rows × C).
 */
export const MIN_VALUES_PER_THREAD = 32768;
