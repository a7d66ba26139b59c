/**
 * Additions whose gradients need no saved tensors. tfjs's Add gradient saves both inputs (only to read their shapes
 * for the broadcast reduction), which keeps every residual branch and every pre-bias matMul output alive until the
 * backward pass. These two cases know their shapes up front, so they save nothing; forward values and gradients are
 * the very ops tfjs would run (tf.add; dy, and tf.sum over the broadcast axes), so results are unchanged bit for bit.
 */
import { tf } from "../runtime/backend";
import { customOp } from "../runtime/typed-kernels";

const addSameOp = customOp((a: tf.Tensor, b: tf.Tensor) => ({
  value: tf.add(a, b),
  gradFunc: (dy: tf.Tensor) => [dy, dy],
}));

/** a + b for tensors of the same shape (residual connections). */
export function addSame<T extends tf.Tensor>(a: T, b: T): T {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`addSame: shapes [${a.shape}] and [${b.shape}] differ`);
  }
  return addSameOp(a, b) as T;
}

const biasOps = new Map<number, (y: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/** y [..., C] + bias [C] (a Linear layer's bias). */
export function addBias<T extends tf.Tensor>(y: T, bias: tf.Tensor): T {
  const C = y.shape[y.rank - 1];
  if (bias.rank !== 1 || bias.shape[0] !== C) throw new Error(`addBias: bias [${bias.shape}] vs y [${y.shape}]`);
  let op = biasOps.get(y.rank);
  if (!op) {
    const axes = Array.from({ length: y.rank - 1 }, (_, i) => i);
    op = customOp((a: tf.Tensor, b: tf.Tensor) => ({
      value: tf.add(a, b),
      gradFunc: (dy: tf.Tensor) => [dy, tf.sum(dy, axes)],
    }));
    biasOps.set(y.rank, op);
  }
  return op(y, bias) as T;
}
