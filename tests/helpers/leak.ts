/** The leak check every step function gets (STYLE §6): after a burn-in call, another call leaves tf.memory() unchanged. */
import { strict as assert } from "assert";
import { tf, cosineSchedule, Mollifier, Rng, Schedule } from "infty-diff-lab";

export function assertNoLeak(run: () => void, what = "tensors after a second call"): void {
  run();
  const k = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, k, what);
}

/** A small process for leak tests: cosine schedule (T = 100), the mollifier at r₀ = 8, a zero batch x [2,8,8,1]. */
export interface LeakProcess {
  schedule: Schedule;
  mollifier: Mollifier;
  x: tf.Tensor4D;
  rng: Rng;
}

/** assertNoLeak over `run` on a fresh LeakProcess, disposed afterwards. */
export function assertNoLeakOnProcess(run: (p: LeakProcess) => void): void {
  const p: LeakProcess = { schedule: cosineSchedule(100), mollifier: new Mollifier({ stdRef: 1, resRef: 8 }), x: tf.zeros([2, 8, 8, 1]), rng: new Rng(1) };
  try {
    assertNoLeak(() => run(p));
  } finally {
    p.x.dispose();
    p.mollifier.dispose();
  }
}
