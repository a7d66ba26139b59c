/**
 * Moving features between a coordinate set and a regular grid (the "k-NN lerp" of ∞-Diff Fig. 4), and the Table 2
 * "sparse downsample" alternative.
 *
 * All positions are (y, x) in [0,1]², cell centres as in coordinates.ts; a gh×gw grid's cell (i, j) sits at
 * ((i+½)/gh, (j+½)/gw) on the same domain (decided: one convention for both directions, unlike the authors' code).
 * Each operator is a sparse PointTable (typed arrays, built once per set) applied by a typed kernel whose gradient is
 * the transposed table, so they are differentiable and train on wasm. Cost O(B·(G·k + M·4)·C) per apply, at any
 * resolution (dense [B,G,M] matrices would be O(B·G·M·C) and too large for full grids at sampling time).
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { CoordSet, cellLookup, positions } from "../coords/coordinates";
import { PointTable, applyPointTable } from "../runtime/point-table";

/** kNN weights points → grid: the authors' inverse squared distance (PointNet++ Eq. 2) or inverse distance */
export type KnnWeights = "inverse-squared-distance" | "inverse-distance";

/**
 * Weights before normalisation: "inverse-squared-distance" 1/max(d², 1e-16), the authors' rule (PointNet++ Eq. 2,
 * `1 / clamp(squared_distance, 1e-16)`), the default; "inverse-distance" 1/max(d, 1e-9) (what models trained before
 * the choice became `model.knnWeights` use). Either way a target on a source point copies it exactly.
 */
function knnWeight(d: number, weights: KnnWeights): number {
  return weights === "inverse-distance" ? 1 / Math.max(d, 1e-9) : 1 / Math.max(d * d, 1e-16);
}

/**
 * k nearest points of `source` (per batch element) to N targets, with normalised inverse-(squared-)distance weights.
 * targets: [B*N*2] (y, x). Search: rings of cells around the target on the source's H×W lattice, stopping once the
 * k-th distance is below the ring's lower bound — O(k) cells per target for dense sets.
 */
export function knnTable(source: CoordSet, targets: Float32Array, N: number, k: number, weights: KnnWeights = "inverse-squared-distance"): PointTable {
  const { B, H, W, M } = source;
  const T = Math.min(k, M);
  const idx = new Int32Array(B * N * T).fill(-1);
  const w = new Float32Array(B * N * T);
  const look = cellLookup(source), G = H * W;
  const minStep = Math.min(1 / H, 1 / W);
  const bd = new Float64Array(T), bi = new Int32Array(T);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const ty = targets[2 * (b * N + n)], tx = targets[2 * (b * N + n) + 1];
      const r0 = Math.min(H - 1, Math.max(0, Math.round(ty * H - 0.5)));
      const c0 = Math.min(W - 1, Math.max(0, Math.round(tx * W - 0.5)));
      bd.fill(Infinity); bi.fill(-1);
      let found = 0;
      const consider = (r: number, c: number) => {
        const j = look[b * G + r * W + c];
        if (j < 0) return;
        const dy = (r + 0.5) / H - ty, dx = (c + 0.5) / W - tx;
        const d = Math.sqrt(dy * dy + dx * dx);
        if (d >= bd[T - 1]) return;
        let q = T - 1; // insertion into the sorted best-T list
        while (q > 0 && bd[q - 1] > d) { bd[q] = bd[q - 1]; bi[q] = bi[q - 1]; q--; }
        bd[q] = d; bi[q] = j;
        found++;
      };
      const Rmax = Math.max(H, W);
      for (let R = 0; R <= Rmax; R++) {
        for (let r = r0 - R; r <= r0 + R; r++) {
          if (r < 0 || r >= H) continue;
          const edge = r === r0 - R || r === r0 + R;
          for (let c = c0 - R; c <= c0 + R; c += edge ? 1 : 2 * R || 1) {
            if (c >= 0 && c < W) consider(r, c);
          }
        }
        // unvisited cells are > R cells away in some axis: at least (R + ½) steps of the finer spacing
        if (found >= T && bd[T - 1] <= (R + 0.5) * minStep) break;
      }
      let sum = 0;
      const base = (b * N + n) * T;
      for (let q = 0; q < T; q++) { const wq = knnWeight(bd[q], weights); w[base + q] = wq; idx[base + q] = bi[q]; sum += wq; }
      for (let q = 0; q < T; q++) w[base + q] /= sum;
    }
  }
  return { B, S: M, N, T, idx, w };
}

/** Cell-centre positions of a gh×gw grid repeated for B elements: [B*gh*gw*2] (y, x). */
export function gridPositions(B: number, gh: number, gw: number): Float32Array {
  const out = new Float32Array(B * gh * gw * 2);
  for (let b = 0; b < B; b++) for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) {
    const q = ((b * gh + i) * gw + j) * 2;
    out[q] = (i + 0.5) / gh; out[q + 1] = (j + 0.5) / gw;
  }
  return out;
}

/** Points → grid by k-NN (default k = 3) inverse-(squared-)distance interpolation (Fig. 4 "k-NN lerp"). */
export class KnnToGrid {
  private table: PointTable | null;
  private constructor(readonly set: CoordSet, readonly gh: number, readonly gw: number, readonly k: number, readonly weighting: KnnWeights) {
    this.table = knnTable(set, gridPositions(set.B, gh, gw), gh * gw, k, weighting);
  }
  /** The kNN interpolation of a coordinate set onto a gh×gw grid (k neighbours, the chosen weights). */
  static build(set: CoordSet, gh: number, gw: number, k = 3, weighting: KnnWeights = "inverse-squared-distance"): KnnToGrid {
    return new KnnToGrid(set, gh, gw, k, weighting);
  }
  /** The weight table (indices into each element's points, weights summing to 1 per grid cell). */
  get weights(): PointTable {
    if (!this.table) throw new Error("KnnToGrid used after dispose()");
    return this.table;
  }
  /** feats [B, M, C] → [B, gh, gw, C]; differentiable wrt feats. */
  apply(feats: tf.Tensor3D): tf.Tensor4D {
    const t = this.weights;
    return tf.tidy(() => tf.reshape(applyPointTable(t, feats), [t.B, this.gh, this.gw, feats.shape[2]]) as tf.Tensor4D);
  }
  /** Holds typed arrays only; dispose() releases them. */
  dispose(): void { this.table = null; }
}

/**
 * Bilinear weights from a gh×gw grid to positions, border-clamped (a point outside the hull of the grid centres
 * takes the nearest edge value: replicate padding, no extrapolation).
 */
export function bilinearTable(B: number, N: number, pos: Float32Array, gh: number, gw: number): PointTable {
  const T = 4;
  const idx = new Int32Array(B * N * T), w = new Float32Array(B * N * T);
  const axis = (v: number, g: number): [number, number] => {
    const u = Math.min(g - 1, Math.max(0, v * g - 0.5));
    const i0 = Math.min(Math.max(g - 2, 0), Math.floor(u));
    return [i0, u - i0];
  };
  for (let p = 0; p < B * N; p++) {
    const [i0, fy] = axis(pos[2 * p], gh), [j0, fx] = axis(pos[2 * p + 1], gw);
    const i1 = Math.min(i0 + 1, gh - 1), j1 = Math.min(j0 + 1, gw - 1);
    const q = p * T;
    idx[q] = i0 * gw + j0; w[q] = (1 - fy) * (1 - fx);
    idx[q + 1] = i0 * gw + j1; w[q + 1] = (1 - fy) * fx;
    idx[q + 2] = i1 * gw + j0; w[q + 2] = fy * (1 - fx);
    idx[q + 3] = i1 * gw + j1; w[q + 3] = fy * fx;
  }
  return { B, S: gh * gw, N, T, idx, w };
}

/** Grid → points by bilinear interpolation at the points' positions. */
export class GridToPoints {
  private table: PointTable | null;
  private constructor(readonly set: CoordSet, readonly gh: number, readonly gw: number) {
    this.table = bilinearTable(set.B, set.M, positions(set), gh, gw);
  }
  /** The bilinear interpolation from a gh×gw grid back to a coordinate set's points. */
  static build(set: CoordSet, gh: number, gw: number): GridToPoints {
    return new GridToPoints(set, gh, gw);
  }
  get weights(): PointTable {
    if (!this.table) throw new Error("GridToPoints used after dispose()");
    return this.table;
  }
  /** grid [B, gh, gw, C] → [B, M, C]; differentiable wrt grid. */
  apply(grid: tf.Tensor4D): tf.Tensor3D {
    const t = this.weights;
    const [B, gh, gw, C] = grid.shape;
    if (gh !== this.gh || gw !== this.gw) throw new Error(`GridToPoints: grid ${gh}×${gw} vs built for ${this.gh}×${this.gw}`);
    return tf.tidy(() => applyPointTable(t, tf.reshape(grid, [B, gh * gw, C]) as tf.Tensor3D));
  }
  /** Drops the interpolation table. */
  dispose(): void { this.table = null; }
}

/**
 * The Table 2 "sparse downsample" ablation: the coarse level is a random subset of the current points (per batch
 * element, without replacement, on the same H×W lattice so kernel maps keep the physical tap spacing).
 * down: feats [B, M, C] → [B, Mc, C] (selection); up: [B, Mc, C] → [B, M, C] (k-NN weighted from the coarse
 * points; points kept in the subset copy their coarse value exactly).
 */
export class SparseDownsample {
  private downT: PointTable | null;
  private upT: PointTable | null;
  private constructor(readonly fine: CoordSet, readonly coarse: CoordSet, readonly pick: Int32Array, k: number, weighting: KnnWeights) {
    const { B, M } = fine, Mc = coarse.M;
    this.downT = { B, S: M, N: Mc, T: 1, idx: pick, w: new Float32Array(B * Mc).fill(1) };
    this.upT = knnTable(coarse, positions(fine), M, k, weighting);
  }
  /** A sparse downsampling level: keeps `ratio` of the fine points, and kNN weights to bring values back up. */
  static build(fine: CoordSet, rng: Rng, ratio: number, k = 3, weighting: KnnWeights = "inverse-squared-distance"): SparseDownsample {
    const { B, M } = fine;
    const Mc = Math.max(1, Math.min(M, Math.round(ratio * M)));
    const pick = new Int32Array(B * Mc), cells = new Int32Array(B * Mc), perm = new Int32Array(M);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < M; i++) perm[i] = i;
      for (let i = 0; i < Mc; i++) { const j = i + rng.int(M - i); const t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
      const sel = perm.slice(0, Mc).sort(); // ascending indices ↔ ascending cells (fine cells are sorted)
      pick.set(sel, b * Mc);
      for (let i = 0; i < Mc; i++) cells[b * Mc + i] = fine.cells[b * M + sel[i]];
    }
    const coarse: CoordSet = Object.freeze({ B, H: fine.H, W: fine.W, M: Mc, cells });
    return new SparseDownsample(fine, coarse, pick, k, weighting);
  }
  /** Values at the kept points [B, M', C] from values at the fine points [B, M, C]. */
  down(feats: tf.Tensor3D): tf.Tensor3D {
    if (!this.downT) throw new Error("SparseDownsample used after dispose()");
    return applyPointTable(this.downT, feats);
  }
  /** Values at the fine points [B, M, C] interpolated from the kept points [B, M', C]. */
  up(feats: tf.Tensor3D): tf.Tensor3D {
    if (!this.upT) throw new Error("SparseDownsample used after dispose()");
    return applyPointTable(this.upT, feats);
  }
  /** Drops the level's tables. */
  dispose(): void { this.downT = null; this.upT = null; }
}

/** `sparseDownsample(set, rng, ratio)`: the name the network codes against. */
export function sparseDownsample(set: CoordSet, rng: Rng, ratio: number, k = 3, weighting: KnnWeights = "inverse-squared-distance"): SparseDownsample {
  return SparseDownsample.build(set, rng, ratio, k, weighting);
}
