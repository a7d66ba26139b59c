/**
 * The control block shared by the parallel pool's main thread and workers (parallel.ts), and the chunk loop both
 * run. A job is cut into `chunks` ranges of units (splitRanges: the same cut on every thread); threads claim chunks
 * one at a time from CLAIM, so a worker that is slow to wake (its core busy, e.g. with XNNPACK's spinning pool
 * thread) only takes fewer chunks, and the main thread never waits for one that has not started.
 *
 * CLAIM packs the job's sequence number (low 16 bits, << 16) with the next chunk index: a claim is a
 * compareExchange on it, so a worker that wakes after its job is over fails its claim instead of running a chunk of
 * the next job. Only a successful claim makes the job's header and parameters safe to read: the main thread writes
 * the next job only after every chunk of this one is FINISHED.
 */
import { JOBS, Kernels } from "./jobs";

export const CTL = {
  /** bumped by the main thread for each job (the workers wait on it) */
  SEQ: 0,
  /** (seq & 0xffff) << 16 | next chunk index */
  CLAIM: 1,
  /** chunks written (the main thread waits on it) */
  FINISHED: 2,
  /** 1 + a chunk index that threw in a worker, else 0 */
  ERROR: 3,
  KIND: 4,
  UNITS: 5,
  CHUNKS: 6,
  GRAIN: 7,
  /** workers that have instantiated their kernels */
  READY: 8,
  /** chunks run by workers, all jobs together (a statistic: tests check the workers took part) */
  WORKER_CHUNKS: 9,
} as const;
export const CTL_INTS = 16;
/** Float64 parameters of one job (the separable conv needs 24 + 2k) */
export const PARAMS = 1024;
/** Chunks of one job at most (the claim's index field has 16 bits) */
export const MAX_CHUNKS = 256;

/** Splits [0, units) into n ranges at multiples of `grain` (the last range ends at units). */
export function splitRanges(units: number, n: number, grain: number): Array<[number, number]> {
  const cuts = [0];
  for (let i = 1; i < n; i++) cuts.push(Math.min(units, Math.round((units * i) / n / grain) * grain));
  cuts.push(units);
  return cuts.slice(0, -1).map((c, i) => [c, cuts[i + 1]] as [number, number]);
}

/**
 * Claims and runs chunks of job `seq` until none is left; thread `t` (0: main) uses scratch t. Returns the number
 * of chunks it ran. `onError(chunk)` is called instead of throwing (a worker reports, the main thread rethrows).
 */
export function runChunks(ctl: Int32Array, params: Float64Array, kernels: Kernels, seq: number, t: number, onError: (chunk: number, e: unknown) => void): number {
  const tag = (seq & 0xffff) << 16;
  let ranges: Array<[number, number]> | null = null, ran = 0;
  for (;;) {
    const claim = Atomics.load(ctl, CTL.CLAIM);
    if ((claim & ~0xffff) !== tag) return ran; // the job is over (a later one is posted)
    const idx = claim & 0xffff;
    if (idx >= Atomics.load(ctl, CTL.CHUNKS)) return ran;
    if (Atomics.compareExchange(ctl, CTL.CLAIM, claim, claim + 1) !== claim) continue;
    // chunk idx of job seq is ours: until it is FINISHED the header and parameters stay as written for seq
    ranges ??= splitRanges(ctl[CTL.UNITS], ctl[CTL.CHUNKS], ctl[CTL.GRAIN]);
    const [lo, hi] = ranges[idx], n = ctl[CTL.CHUNKS];
    try {
      JOBS[ctl[CTL.KIND]](kernels, params, lo, hi, t);
    } catch (e) {
      onError(idx, e);
    }
    ran++;
    // n read before the add: once every chunk is finished the main thread may post the next job
    if (Atomics.add(ctl, CTL.FINISHED, 1) + 1 === n) Atomics.notify(ctl, CTL.FINISHED);
  }
}
