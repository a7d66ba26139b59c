/**
 * Kernel maps (as TorchSparse builds them, ∞-Diff §4.2): for a coordinate set and a k×k kernel, the table of
 * neighbour indices and the per-point count of present neighbours (the normaliser of Eq. 20, Appendix A).
 *
 * Taps are ordered row-major over offsets δ = (dy, dx), dy, dx ∈ −h…h, h = (k−1)/2, so tap t has offset δ and tap
 * K−1−t has −δ: the reverse neighbour used by the gradients is `neighbours[j*K + K−1−t]`. Built in O(B·(H·W + M·K))
 * through a cell→point lookup; cached per (set, k). Holds typed arrays only (no tensors); dispose() drops the cache.
 */
import { CoordSet, cellLookup } from "./coordinates";

const cache = new WeakMap<CoordSet, Map<number, KernelMap>>();

export class KernelMap {
  /** [B*M*K] index into the flattened [B*M] points (b*M + j), −1 where the neighbour cell holds no point */
  readonly neighbours: Int32Array;
  /** [B*M] number of present neighbours, the point itself included (≥ 1) */
  readonly counts: Float32Array;
  /** taps k·k */
  readonly K: number;
  private disposed = false;

  private constructor(readonly set: CoordSet, readonly k: number) {
    const { B, H, W, M, cells } = set;
    const K = k * k, h = (k - 1) / 2, G = H * W;
    this.K = K;
    this.neighbours = new Int32Array(B * M * K);
    this.counts = new Float32Array(B * M);
    const look = cellLookup(set);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < M; i++) {
        const p = b * M + i;
        const r = Math.floor(cells[p] / W), c = cells[p] - r * W;
        let n = 0, t = p * K;
        for (let dy = -h; dy <= h; dy++) {
          const rr = r + dy;
          for (let dx = -h; dx <= h; dx++, t++) {
            const cc = c + dx;
            let q = -1;
            if (rr >= 0 && rr < H && cc >= 0 && cc < W) {
              const j = look[b * G + rr * W + cc];
              if (j >= 0) { q = b * M + j; n++; }
            }
            this.neighbours[t] = q;
          }
        }
        this.counts[p] = n;
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
