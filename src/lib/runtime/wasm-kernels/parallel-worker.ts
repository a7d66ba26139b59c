/**
 * A worker of the parallel pool (parallel.ts): instantiates the lab's kernels on the shared wasm heap once, then
 * for each job the main thread posts claims and runs chunks of it (parallel-protocol.ts), forever. It waits with
 * Atomics.wait and never returns to its event loop; it is unref'ed, so it never keeps the process alive.
 */
import { workerData } from "worker_threads";
import { kernelsFor } from "./jobs";
import { CTL, runChunks } from "./parallel-protocol";

const { memory, control, params, slot } = workerData as { memory: never; control: SharedArrayBuffer; params: SharedArrayBuffer; slot: number };
const ctl = new Int32Array(control);
const p = new Float64Array(params);
const kernels = kernelsFor(memory);
Atomics.add(ctl, CTL.READY, 1);
let seen = Atomics.load(ctl, CTL.SEQ);
for (;;) {
  Atomics.wait(ctl, CTL.SEQ, seen);
  seen = Atomics.load(ctl, CTL.SEQ);
  // the main thread recomputes every chunk of a job that reports an error, and stops using the pool
  const ran = runChunks(ctl, p, kernels, seen, slot + 1, (chunk) => { Atomics.store(ctl, CTL.ERROR, 1 + chunk); });
  if (ran > 0) Atomics.add(ctl, CTL.WORKER_CHUNKS, ran);
}
