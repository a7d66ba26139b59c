/**
 * The lab's own wasm kernels on more than one core. With tfjs's threaded build (wasm-threads.ts) XNNPACK's conv and
 * matMul use every pool thread, while the lab's f32x4 kernels (the separable resampled depthwise conv, GELU, the
 * modulated LayerNorm) ran on the main thread alone: at 112² they were ≈ 40 % of a DDIM step with one core idle.
 *
 * A pool of `wasmThreads() − 1` worker_threads, started on first use, each holding the backend's SHARED
 * WebAssembly.Memory and its own instances of the same assembled kernels (jobs.ts). A call is cut into chunks of
 * independent output units (rows, vectors: never a reduction, so the bits do not depend on who computes which
 * chunk); the main thread posts the job in a SharedArrayBuffer control block (Atomics.notify), and it and the
 * workers claim chunks until none is left (parallel-protocol.ts); then it waits with Atomics.wait for the chunks
 * still running. No promise, no event-loop turn: kernels stay synchronous. Heap growth needs nothing: the workers
 * only run wasm on the shared memory (no JS views to refresh).
 *
 * Used only when the backend's memory is shared (the threaded build), `wasmThreads() ≥ 2` (the same rule as XNNPACK's
 * pool: INFTY_WASM_THREADS, or a free core), the workers have finished starting (until then calls run on the main
 * thread) and the call has at least two chunks of `minUnits` units. `setWasmParallel(false)` switches it off (for
 * before/after timings in one process and the equality tests).
 */
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";
import { tf } from "../backend";
import { WasmMemory, memoryOf } from "./asm";
import { JOBS, kernelsFor } from "./jobs";
import { CTL, CTL_INTS, MAX_CHUNKS, PARAMS, runChunks } from "./parallel-protocol";
import { wasmThreads } from "../wasm-threads";

export { splitRanges } from "./parallel-protocol";

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

/** Kernel calls posted to the pool so far in this process (tests check the pool ran). */
export function wasmParallelCalls(): number {
  return splitCalls;
}

/** Chunks the pool's workers have run so far (the rest of the posted calls' chunks ran on the main thread). */
export function wasmParallelWorkerChunks(): number {
  return pool == null ? 0 : Atomics.load(pool.ctl, CTL.WORKER_CHUNKS);
}

/**
 * Switches the pool on (default) or off; `threads` overrides wasmThreads() as the thread count (tests use it to
 * split across more threads than cores).
 */
export function setWasmParallel(on: boolean, threads?: number): void {
  enabled = on;
  threadsOverride = threads ?? null;
}

/** Chunks per thread: enough that a late or slowed worker costs at most about one chunk. */
const CHUNKS_PER_THREAD = 4;

/** A job slower than this is taken for a dead worker (the main thread recomputes the job alone). */
const WORKER_TIMEOUT_MS = 120_000;

const workerFile = path.join(__dirname, "parallel-worker.js");

function isShared(memory: WasmMemory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

function startPool(memory: WasmMemory, nWorkers: number): Pool {
  const control = new SharedArrayBuffer(CTL_INTS * 4);
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

/** Threads the pool would use now on `memory` (1: off), starting it on first use (its workers join once started). */
function poolThreads(memory: WasmMemory): number {
  if (!enabled || !isShared(memory)) return 1;
  const threads = threadsOverride ?? wasmThreads();
  if (threads < 2) return 1;
  if (pool != null && pool.memory === memory && pool.broken) return 1; // a worker failed: the main thread runs all
  if (pool != null && (pool.memory !== memory || pool.workers.length !== threads - 1)) {
    for (const w of pool.workers) void w.terminate();
    pool = null;
  }
  if (pool == null) {
    if (!fs.existsSync(workerFile)) return 1; // run from sources without a build: no worker script
    pool = startPool(memory, threads - 1);
  }
  return 1 + Atomics.load(pool.ctl, CTL.READY);
}

/** How splitJob may cut a call (units: the job's, e.g. rows or values). */
export interface SplitOptions {
  /** units per chunk at least */
  minChunk: number;
  /** units of the whole call below which it stays on the main thread (default: 2 chunks) */
  minTotal?: number;
  /** chunk boundaries at multiples of this (default 1) */
  grain?: number;
  /** threads that have scratch (a job with per-thread scratch runs on the pool only if every thread that may claim a chunk has some) */
  scratchThreads?: number;
}

/**
 * Runs job `job` (jobs.ts) over units [0, units): in chunks shared with the pool's workers when it applies, else in
 * one piece on the main thread. Returns when every unit is written. Thread t uses scratch t; units are
 * independent, so the result is the same bits.
 */
export function splitJob(memory: WasmMemory, job: number, params: number[], units: number, opts: SplitOptions): void {
  const { minChunk, minTotal = 0, grain = 1, scratchThreads = Infinity } = opts;
  let threads = poolThreads(memory);
  if (pool == null || scratchThreads < pool.workers.length + 1 || units < minTotal) threads = 1;
  const chunks = Math.min(MAX_CHUNKS, CHUNKS_PER_THREAD * threads, Math.floor(units / Math.max(1, minChunk)));
  const kernels = kernelsFor(memory);
  if (threads < 2 || chunks < 2 || pool == null) {
    JOBS[job](kernels, Float64Array.from(params), 0, units, 0);
    return;
  }
  if (params.length > PARAMS) throw new Error(`parallel: ${params.length} parameters, ${PARAMS} at most`);
  const P = pool, ctl = P.ctl;
  splitCalls++;
  // the previous job is fully FINISHED: nobody reads the header or parameters until the new CLAIM is published
  const seq = (P.seq = (P.seq + 1) & 0x7fff);
  P.params.set(params);
  ctl[CTL.KIND] = job;
  ctl[CTL.UNITS] = units;
  ctl[CTL.CHUNKS] = chunks;
  ctl[CTL.GRAIN] = grain;
  Atomics.store(ctl, CTL.ERROR, 0);
  Atomics.store(ctl, CTL.FINISHED, 0);
  Atomics.store(ctl, CTL.CLAIM, seq << 16);
  Atomics.store(ctl, CTL.SEQ, seq);
  Atomics.notify(ctl, CTL.SEQ);
  let mainError: unknown = null;
  runChunks(ctl, P.params, kernels, seq, 0, (_chunk, e) => { mainError ??= e; });
  const t0 = Date.now();
  for (;;) {
    const done = Atomics.load(ctl, CTL.FINISHED);
    if (done === chunks) break;
    if (Date.now() - t0 > WORKER_TIMEOUT_MS) { P.broken = true; break; }
    Atomics.wait(ctl, CTL.FINISHED, done, 1000);
  }
  if (mainError != null) throw mainError;
  if (P.broken || Atomics.load(ctl, CTL.ERROR) !== 0) {
    // a worker threw or died: the same function over every unit gives the same bits, only slower; and the pool
    // stays off from now on (the job's sequence number moves on, so a late worker claims nothing)
    P.broken = true;
    Atomics.store(ctl, CTL.CLAIM, ((seq + 1) & 0x7fff) << 16);
    JOBS[job](kernels, Float64Array.from(params), 0, units, 0);
  }
}

/**
 * Threads that may run chunks of a job on `memory` (thread indices 0 … n − 1): a job with per-thread scratch
 * (separable.ts) allocates n and passes n to splitJob as scratchThreads.
 */
export function parallelThreads(memory: WasmMemory): number {
  return poolThreads(memory) > 1 && pool != null ? pool.workers.length + 1 : 1;
}

/**
 * Pointwise kernels (GELU, the norms) in values: a chunk ≥ 32768 values (≈ 0.05 ms of GELU against a few µs per
 * chunk), and calls of < 2²⁰ values (≈ 1.5 ms of GELU, 0.7 ms of LayerNorm) stay on the main thread. Why a floor
 * that high: at 28² (batch 16: GELU 0.8 M values, LayerNorm 0.4 M) splitting made a DDIM step ≈ 4 % slower in
 * bench/vs-peer-ddim-parallel.json although the kernels alone ran ≈ 1.8× faster: between XNNPACK ops its pool
 * thread still spins on the second core, and a third runnable thread there costs more than these calls save.
 */
export const POINTWISE_SPLIT: SplitOptions = { minChunk: 32768, minTotal: 1 << 20 };

/**
 * Resolves true once `threads` threads can run a kernel on the wasm backend's heap (false if the pool does not apply
 * or has not started within timeoutMs). The pool starts on first use and joins when started; tests and benches wait
 * for it so that no timed call runs before it has joined.
 */
export async function wasmParallelReady(threads = threadsOverride ?? wasmThreads(), timeoutMs = 30_000): Promise<boolean> {
  if (threads <= 1) return true;
  const be = tf.findBackend("wasm") as unknown as Parameters<typeof memoryOf>[0] | null;
  if (be == null) return false;
  const memory = memoryOf(be), t0 = Date.now();
  while (poolThreads(memory) < threads) {
    if (Date.now() - t0 > timeoutMs || !enabled || !isShared(memory)) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
