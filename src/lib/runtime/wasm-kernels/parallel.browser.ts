/**
 * The browser twin of parallel.ts: a page runs the lab's wasm kernels on its main thread (a worker pool there would
 * need a cross-origin-isolated page and the threaded build). Same exports; every job runs whole, so the bits are
 * those of the Node pool (whose chunks never split a reduction).
 */
import type { SplitOptions } from "./parallel";
import { WasmMemory } from "./asm";
import { JOBS, kernelsFor } from "./jobs";

export type { SplitOptions } from "./parallel";
export { splitRanges } from "./parallel-protocol";

export function wasmParallelCalls(): number {
  return 0;
}

export function wasmParallelWorkerChunks(): number {
  return 0;
}

/** Nothing to switch: there is no pool in a page. */
export function setWasmParallel(_on: boolean, _threads?: number): void {}

/** Runs job `job` over units [0, units) on this thread. */
export function splitJob(memory: WasmMemory, job: number, params: number[], units: number, _opts: SplitOptions): void {
  JOBS[job](kernelsFor(memory), Float64Array.from(params), 0, units, 0);
}

export function parallelThreads(_memory: WasmMemory): number {
  return 1;
}

/** As parallel.ts (unused here: nothing is split). */
export const POINTWISE_SPLIT: SplitOptions = { minChunk: 32768, minTotal: 1 << 20 };

export async function wasmParallelReady(): Promise<boolean> {
  return true;
}
