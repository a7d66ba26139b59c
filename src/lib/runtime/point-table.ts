/**
 * Sparse row-mixing tables: out[b, n, :] = Σ_t w[b, n, t] · src[b, idx[b, n, t], :].
 *
 * One primitive behind gather/scatter of points, kNN points→grid, bilinear grid→points and the sparse-downsample
 * resampling. The table is a plain JS object (typed arrays, no tensors), built once per coordinate set and reused;
 * forward and gradient are typed kernels (O(B·N·T·C)), the gradient being the transposed table (a scatter-add in JS),
 * so it trains on wasm without UnsortedSegmentSum.
 */
import { tf } from "./tf";
import { customOp, registerTypedKernel, runTypedKernel } from "./typed-kernels";

/** A gather table: for each output row, which source rows it reads and with what weights. */
export interface PointTable {
  B: number;
  /** source rows per batch element */
  S: number;
  /** output rows per batch element */
  N: number;
  /** taps per output row */
  T: number;
  /** [B*N*T] source row within its batch element, −1 for an absent tap */
  idx: Int32Array;
  /** [B*N*T] tap weights */
  w: Float32Array;
}

interface Attrs { table: PointTable }

/**
 * The table's one loop: for each tap of each output row, out[row] += w·a[col] (gather, the forward) or, transposed,
 * out[col] += w·a[row] (scatter-add, the gradient). `a` and `out` are [B, S or N, C] flat.
 */
function tableLoop(table: PointTable, a: ArrayLike<number>, out: Float32Array, C: number, transposed: boolean): void {
  const { B, S, N, T, idx, w } = table;
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const row = (b * N + n) * C;
      for (let t = 0; t < T; t++) {
        const q = (b * N + n) * T + t;
        const j = idx[q];
        if (j < 0) continue;
        const wt = w[q];
        const col = (b * S + j) * C;
        if (transposed) for (let c = 0; c < C; c++) out[col + c] += wt * a[row + c];
        else for (let c = 0; c < C; c++) out[row + c] += wt * a[col + c];
      }
    }
  }
}

registerTypedKernel<Attrs>({
  name: "InftyTableGather",
  inputNames: ["src"],
  outputs: ([s], { table }) => [[table.B, table.N, s[2]]],
  run: ([src], [out], { table }) => tableLoop(table, src, out, out.length / (table.B * table.N), false),
});

registerTypedKernel<Attrs>({
  name: "InftyTableScatter",
  inputNames: ["dy"],
  outputs: ([s], { table }) => [[table.B, table.S, s[2]]],
  run: ([dy], [out], { table }) => tableLoop(table, dy, out, dy.length / (table.B * table.N), true),
});

/** Applies a table: src [B, S, C] → [B, N, C]; differentiable wrt src (gradient = transposed table). */
export function applyPointTable(table: PointTable, src: tf.Tensor3D): tf.Tensor3D {
  if (src.shape[0] !== table.B || src.shape[1] !== table.S) {
    throw new Error(`applyPointTable: src shape [${src.shape}] does not match table [B=${table.B}, S=${table.S}]`);
  }
  const op = customOp((x: tf.Tensor) => ({
    value: runTypedKernel("InftyTableGather", { src: x }, { table }) as tf.Tensor3D,
    gradFunc: (dy: tf.Tensor) => runTypedKernel("InftyTableScatter", { dy }, { table }) as tf.Tensor,
  }));
  return op(src) as tf.Tensor3D;
}
