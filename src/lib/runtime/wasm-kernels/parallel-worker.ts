/**
 * A worker of the parallel pool (parallel.ts): instantiates the lab's kernels on the shared wasm heap once, then
 * runs the slices the main thread posts in its control block, forever (it is unref'ed: it never keeps the process
 * alive). It waits with Atomics.wait and never returns to its event loop; the protocol is in parallel.ts.
 */
import { workerData } from "worker_threads";
import { JOBS, kernelsFor } from "./jobs";
import { CTL, CTL_INTS } from "./parallel-protocol";

const { memory, control, params, slot } = workerData as { memory: never; control: SharedArrayBuffer; params: SharedArrayBuffer; slot: number };
const ctl = new Int32Array(control, slot * CTL_INTS * 4, CTL_INTS);
const p = new Float64Array(params);
const kernels = kernelsFor(memory);
Atomics.store(ctl, CTL.READY, 1);
let seen = Atomics.load(ctl, CTL.SEQ);
for (;;) {
  Atomics.wait(ctl, CTL.SEQ, seen);
  seen = Atomics.load(ctl, CTL.SEQ);
  try {
    JOBS[ctl[CTL.KIND]](kernels, p, ctl[CTL.LO], ctl[CTL.HI], ctl[CTL.T]);
  } catch {
    Atomics.store(ctl, CTL.ERROR, 1); // the main thread recomputes this slice and stops using the pool
  }
  Atomics.store(ctl, CTL.DONE, seen);
  Atomics.notify(ctl, CTL.DONE);
}
