/**
 * Coordinate sets (∞-Diff §3.1): m points of an H×W pixel lattice on the unit square, per batch element.
 *
 * Conventions (decided here, used by every sparse module): a point is an integer cell `r*W + c`; its continuous
 * position is the cell centre (y, x) = ((r + ½)/H, (c + ½)/W) ∈ (0,1)², row first. The same (y, x) convention is used
 * for grids of any size, so point sets and coarse grids share one domain (the authors' code mixes (row, col) in [0,1]
 * with (x, y) in [−1,1]; we do not). A CoordSet is immutable: tables derived from it are cached by identity.
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { PointTable, applyPointTable } from "../runtime/point-table";

/** A batch of coordinate subsets on an H×W grid: per image M pixel indices and their positions in [0, 1]². */
export interface CoordSet {
  B: number;
  H: number;
  W: number;
  /** points per batch element */
  M: number;
  /** [B*M] flat cells r*W + c, each batch element's M cells distinct and sorted ascending */
  cells: Int32Array;
}

/** How many points a subset has: a fraction of the grid (`ratio`) or an absolute count (`count`). */
export interface SubsetSize {
  /** fraction of the H·W cells (rounded to the nearest count, at least 1) */
  ratio?: number;
  /** exact number of cells */
  count?: number;
}

/** Points per batch element for a ratio or count; one place for the rounding rule. */
export function subsetCount(H: number, W: number, size: SubsetSize): number {
  const G = H * W;
  let m: number;
  if (size.count != null) m = size.count;
  else if (size.ratio != null) {
    if (!(size.ratio > 0 && size.ratio <= 1)) throw new Error(`subset ratio ${size.ratio} not in (0, 1]`);
    m = Math.max(1, Math.round(size.ratio * G));
  } else throw new Error("subset size needs a ratio or a count");
  if (!Number.isInteger(m) || m < 1 || m > G) throw new Error(`subset count ${m} not in 1..${G}`);
  return m;
}

function makeSet(B: number, H: number, W: number, M: number, cells: Int32Array): CoordSet {
  return Object.freeze({ B, H, W, M, cells });
}

/** Every cell of the H×W grid for each of B elements (M = H·W). */
export function fullGrid(B: number, H: number, W: number): CoordSet {
  const G = H * W;
  const cells = new Int32Array(B * G);
  for (let b = 0; b < B; b++) for (let i = 0; i < G; i++) cells[b * G + i] = i;
  return makeSet(B, H, W, G, cells);
}

/** Uniform random subsets without replacement, drawn independently per batch element (∞-Diff §3.1). */
export function uniformSubset(rng: Rng, B: number, H: number, W: number, size: SubsetSize): CoordSet {
  const G = H * W;
  const M = subsetCount(H, W, size);
  const cells = new Int32Array(B * M);
  const perm = new Int32Array(G);
  for (let b = 0; b < B; b++) {
    // partial Fisher–Yates: the first M entries are a uniform M-subset
    for (let i = 0; i < G; i++) perm[i] = i;
    for (let i = 0; i < M; i++) {
      const j = i + rng.int(G - i);
      const t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    const row = perm.slice(0, M).sort();
    cells.set(row, b * M);
  }
  return makeSet(B, H, W, M, cells);
}

/** i-th element of the van der Corput sequence in `base` (radical inverse). */
export function radicalInverse(i: number, base: number): number {
  let f = 1, r = 0;
  while (i > 0) {
    f /= base;
    r += f * (i % base);
    i = Math.floor(i / base);
  }
  return r;
}

/**
 * Quasi-Monte Carlo subsets (the paper's QMC ablation): the 2-D Halton sequence (bases 2, 3) with a random
 * Cranley–Patterson shift per batch element, mapped to cells. Decision: a Halton point landing on a cell already
 * taken is skipped, so the M cells are distinct (the authors' code keeps the repeats, which double-counts pixels and
 * breaks the kernel map). If the sequence has not filled M cells after 16·H·W draws (only near ratio 1), the rest are
 * taken from the free cells in random order.
 */
export function qmcSubset(rng: Rng, B: number, H: number, W: number, size: SubsetSize): CoordSet {
  const G = H * W;
  const M = subsetCount(H, W, size);
  const cells = new Int32Array(B * M);
  const taken = new Uint8Array(G);
  for (let b = 0; b < B; b++) {
    taken.fill(0);
    const oy = rng.next(), ox = rng.next();
    const start = rng.int(1024); // a random start also decorrelates elements beyond the shift
    let n = 0;
    for (let i = 0; n < M && i < 16 * G; i++) {
      const y = (radicalInverse(start + i + 1, 2) + oy) % 1;
      const x = (radicalInverse(start + i + 1, 3) + ox) % 1;
      const cell = Math.min(H - 1, Math.floor(y * H)) * W + Math.min(W - 1, Math.floor(x * W));
      if (taken[cell]) continue;
      taken[cell] = 1;
      cells[b * M + n++] = cell;
    }
    if (n < M) {
      const perm = rng.permutation(G);
      for (let i = 0; n < M; i++) if (!taken[perm[i]]) { taken[perm[i]] = 1; cells[b * M + n++] = perm[i]; }
    }
    cells.subarray(b * M, (b + 1) * M).sort();
  }
  return makeSet(B, H, W, M, cells);
}

/** Continuous positions: [B*M*2] (y, x) cell centres in (0,1)². */
export function positions(set: CoordSet): Float32Array {
  const { B, H, W, M, cells } = set;
  const out = new Float32Array(B * M * 2);
  for (let i = 0; i < B * M; i++) {
    const r = Math.floor(cells[i] / W), c = cells[i] - r * W;
    out[2 * i] = (r + 0.5) / H;
    out[2 * i + 1] = (c + 0.5) / W;
  }
  return out;
}

/**
 * Lattice star discrepancy of each element's points: max over anchored boxes [0, i/H)×[0, j/W) of
 * |#points inside / M − area| (exact over lattice-aligned boxes, via a 2-D prefix sum). Returns [B] values.
 */
export function starDiscrepancy(set: CoordSet): Float64Array {
  const { B, H, W, M, cells } = set;
  const out = new Float64Array(B);
  const P = new Int32Array((H + 1) * (W + 1));
  for (let b = 0; b < B; b++) {
    P.fill(0);
    for (let i = 0; i < M; i++) {
      const cell = cells[b * M + i];
      const r = Math.floor(cell / W);
      P[(r + 1) * (W + 1) + (cell - r * W) + 1] += 1;
    }
    let d = 0;
    for (let i = 1; i <= H; i++) {
      for (let j = 1; j <= W; j++) {
        const k = i * (W + 1) + j;
        P[k] += P[k - 1] + P[k - (W + 1)] - P[k - (W + 1) - 1];
        d = Math.max(d, Math.abs(P[k] / M - (i / H) * (j / W)));
      }
    }
    out[b] = d;
  }
  return out;
}

/** [B*H*W] point index (within its batch element) at each cell, −1 where the set has no point. */
export function cellLookup(set: CoordSet): Int32Array {
  const { B, H, W, M, cells } = set;
  const G = H * W;
  const look = new Int32Array(B * G).fill(-1);
  for (let b = 0; b < B; b++) for (let i = 0; i < M; i++) look[b * G + cells[b * M + i]] = i;
  return look;
}

const gatherTables = new WeakMap<CoordSet, PointTable>();
const scatterTables = new WeakMap<CoordSet, PointTable>();

function gatherTable(set: CoordSet): PointTable {
  let t = gatherTables.get(set);
  if (!t) {
    const idx = new Int32Array(set.cells);
    t = { B: set.B, S: set.H * set.W, N: set.M, T: 1, idx, w: new Float32Array(idx.length).fill(1) };
    gatherTables.set(set, t);
  }
  return t;
}

function scatterTable(set: CoordSet): PointTable {
  let t = scatterTables.get(set);
  if (!t) {
    const idx = cellLookup(set);
    const w = new Float32Array(idx.length);
    for (let i = 0; i < idx.length; i++) w[i] = idx[i] >= 0 ? 1 : 0;
    t = { B: set.B, S: set.M, N: set.H * set.W, T: 1, idx, w };
    scatterTables.set(set, t);
  }
  return t;
}

/** Image → point features. img [B, H, W, C] → [B, M, C]; differentiable wrt img (trains on wasm). */
export function gatherPoints(img: tf.Tensor4D, set: CoordSet): tf.Tensor3D {
  const [B, H, W, C] = img.shape;
  if (B !== set.B || H !== set.H || W !== set.W) throw new Error(`gatherPoints: image [${img.shape}] vs set ${B}×${set.H}×${set.W}`);
  return tf.tidy(() => applyPointTable(gatherTable(set), tf.reshape(img, [B, H * W, C]) as tf.Tensor3D));
}

/** Point features → image with `fill` at cells without a point. feats [B, M, C] → [B, H, W, C]; differentiable. */
export function scatterPoints(feats: tf.Tensor3D, set: CoordSet, fill = 0): tf.Tensor4D {
  const [B, M, C] = feats.shape;
  if (B !== set.B || M !== set.M) throw new Error(`scatterPoints: feats [${feats.shape}] vs set B=${set.B}, M=${set.M}`);
  return tf.tidy(() => {
    let img: tf.Tensor = applyPointTable(scatterTable(set), feats);
    if (fill !== 0) {
      const t = scatterTable(set);
      const empty = new Float32Array(t.w.length);
      for (let i = 0; i < empty.length; i++) empty[i] = fill * (1 - t.w[i]);
      img = tf.add(img, tf.tensor3d(empty, [B, set.H * set.W, 1]));
    }
    return tf.reshape(img, [B, set.H, set.W, C]) as tf.Tensor4D;
  });
}
