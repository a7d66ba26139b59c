/** The leak check every step function gets (STYLE §6): after a burn-in call, another call leaves tf.memory() unchanged. */
import { strict as assert } from "assert";
import { tf } from "infty-diff-lab";

export function assertNoLeak(run: () => void, what = "tensors after a second call"): void {
  run();
  const k = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, k, what);
}
