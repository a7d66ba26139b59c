/**
 * Kernel maps (as TorchSparse builds them, ∞-Diff §4.2): for a coordinate set and a k×k kernel, the table of
 * neighbour indices and the per-point count of present neighbours (the normaliser of Eq. 20, Appendix A).
 *
 * Taps are ordered row-major over offsets δ = (dy, dx), dy, dx ∈ −h…h, h = (k−1)/2, so tap t has offset δ and tap
 * K−1−t has −δ: the reverse neighbour used by the gradients is `neighbours[j*K + K−1−t]`. Built in O(B·(H·W + M·K))
 * through a cell→point lookup; cached per (set, k). Holds typed arrays only (no tensors); dispose() drops the cache.
 */
import { CoordSet, cellLookup } from "../coords/coordinates";

const cache = new WeakMap<CoordSet, Map<number, KernelMap>>();

/** For every point of a coordinate set, which neighbours fall on which tap of a k×k kernel (Eq. 20's neighbourhood). */
export class KernelMap {
  /** [B*M] number of present neighbours, the point itself included (≥ 1) */
  readonly counts: Float32Array;
  /** taps k·k */
  readonly K: number;
  private disposed = false;
  private table: Int32Array | null = null;
  private inverse: Float32Array | null = null;

  private constructor(readonly set: CoordSet, readonly k: number) {
    this.K = k * k;
    this.counts = new Float32Array(set.B * set.M);
    // counts are needed by every path; the neighbour table only by the tap loops (the dense full-grid path at
    // sampling time never reads it, and at 112×112 it would be ~675 MB), so it is built on first use
    if (set.M === set.H * set.W) this.fullGridCounts();
    else {
      this.walk((p, t, q) => {
        if (q >= 0) this.counts[p]++;
      });
    }
  }

  /**
   * On a full grid (every cell a point: M = H·W distinct cells) the count is a product of the taps inside the grid per
   * axis: O(B·H·W) instead of the walk's O(B·H·W·k²) (at 448×448 with a 113×113 kernel, 2.6 G visits).
   */
  private fullGridCounts(): void {
    const { H, W, cells } = this.set;
    const h = (this.k - 1) / 2;
    const inside = (i: number, n: number) => Math.min(n - 1, i + h) - Math.max(0, i - h) + 1;
    for (let p = 0; p < cells.length; p++) {
      const r = Math.floor(cells[p] / W);
      this.counts[p] = inside(r, H) * inside(cells[p] - r * W, W);
    }
  }

  /** [B*M] 1 / counts: the normaliser of Eq. 20 (Appendix A) as the tap loops multiply by it, built on first use */
  get inverseCounts(): Float32Array {
    if (!this.inverse) {
      const inv = new Float32Array(this.counts.length);
      for (let i = 0; i < inv.length; i++) inv[i] = 1 / this.counts[i];
      this.inverse = inv;
    }
    return this.inverse;
  }

  /** [B*M*K] index into the flattened [B*M] points (b*M + j), −1 where the neighbour cell holds no point */
  get neighbours(): Int32Array {
    if (!this.table) {
      const nb = new Int32Array(this.set.B * this.set.M * this.K);
      this.walk((p, t, q) => {
        nb[p * this.K + t] = q;
      });
      this.table = nb;
    }
    return this.table;
  }

  /** Visits every (point p, tap t, neighbour q or −1) in O(B·(H·W + M·K)) through a cell→point lookup. */
  private walk(visit: (p: number, t: number, q: number) => void): void {
    const { B, H, W, M, cells } = this.set;
    const k = this.k, h = (k - 1) / 2, G = H * W;
    const look = cellLookup(this.set);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < M; i++) {
        const p = b * M + i;
        const r = Math.floor(cells[p] / W), c = cells[p] - r * W;
        let t = 0;
        for (let dy = -h; dy <= h; dy++) {
          const rr = r + dy;
          for (let dx = -h; dx <= h; dx++, t++) {
            const cc = c + dx;
            let q = -1;
            if (rr >= 0 && rr < H && cc >= 0 && cc < W) {
              const j = look[b * G + rr * W + cc];
              if (j >= 0) q = b * M + j;
            }
            visit(p, t, q);
          }
        }
      }
    }
  }

  /** The kernel map of `set` for an odd k×k kernel (cached per set and k). */
  static build(set: CoordSet, k: number): KernelMap {
    if (!(Number.isInteger(k) && k >= 1 && k % 2 === 1)) throw new Error(`kernel size ${k} must be a positive odd integer`);
    let perSet = cache.get(set);
    if (!perSet) { perSet = new Map(); cache.set(set, perSet); }
    let km = perSet.get(k);
    if (!km || km.disposed) { km = new KernelMap(set, k); perSet.set(k, km); }
    return km;
  }

  get isDisposed(): boolean { return this.disposed; }

  /** Removes it from the cache; further use throws. */
  dispose(): void {
    this.disposed = true;
    const perSet = cache.get(this.set);
    if (perSet && perSet.get(this.k) === this) perSet.delete(this.k);
  }

  /** @internal */
  check(): void {
    if (this.disposed) throw new Error("KernelMap used after dispose()");
  }
}
