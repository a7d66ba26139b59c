/** Comparing tensors or arrays: the one number a check prints (tests, notebooks, benchmarks). */
import { tf } from "./backend";

type Values = tf.Tensor | ArrayLike<number>;

const valuesOf = (x: Values): ArrayLike<number> => (x instanceof tf.Tensor ? (x.dataSync() as Float32Array) : x);

/** max |a − b| over all values; a and b hold the same number of values (shapes are not compared). */
export function maxAbsDiff(a: Values, b: Values): number {
  const x = valuesOf(a), y = valuesOf(b);
  if (x.length !== y.length) throw new Error(`maxAbsDiff: ${x.length} vs ${y.length} values`);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** max |a − b| / max |b| (b the reference; 0/0 → 0): the relative error every kernel-vs-reference test asserts. */
export function maxRelDiff(a: Values, b: Values): number {
  const y = valuesOf(b);
  let m = 0;
  for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(y[i]));
  const d = maxAbsDiff(a, y);
  return m === 0 ? d : d / m;
}
