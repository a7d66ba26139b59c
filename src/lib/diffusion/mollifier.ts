/**
 * The mollifier T of ∞-Diff §3.2: a Gaussian blur defined on the continuous domain [0,1]², discretised on any
 * H×W grid and applied in the DCT-II domain (reflective boundary), so that T is symmetric (Tᵗ = T) and exactly
 * invertible on the grid.
 *
 * Width: `stdRef` pixels at a reference resolution `resRef`. On an H×W grid the std per axis is
 *   σ_h = stdRef·H/resRef,  σ_w = stdRef·W/resRef   (pixels of that grid),
 * i.e. the same continuous std stdRef/resRef on [0,1] for every grid, so every grid discretises one operator.
 *
 * Frequency response (derivation). The DCT-II basis vector k on N pixels samples cos(ω_k (n + ½)) with
 * ω_k = πk/N radians per pixel; it is the restriction of the 2N-periodic even (half-sample reflective) extension
 * of the signal. Convolving cos(ω(x + ½)) with a continuous Gaussian of std σ px multiplies it by the Gaussian's
 * Fourier transform exp(−σ²ω²/2), so on the grid
 *   g_N(k) = exp(−σ² π² k² / (2 N²)) = exp(−π² k² stdRef² / (2 resRef²)),
 * which depends only on the continuous frequency k (not on N): the same T at every resolution.
 * The 2D response is g(k_h)·g(k_w) (the Gaussian is separable), and T = Dᵗ diag(g) D per axis with D the
 * orthonormal DCT-II matrix — a symmetric matrix, applied with 2D matMuls: one dense [H·W, H·W] matrix on small
 * grids (≤ DENSE_MAX_PIXELS), per-axis matrices otherwise.
 *
 * Wiener filter (undoing T on a sampled Tx₀). For y = T x + n with signal power S and noise power N per DCT
 * coefficient, the MMSE linear inverse is W = G·S/(G²·S + N) = G / (G² + N/S). As in the authors' code, the
 * parameter `invSnr` (default 0.05) is an amplitude ratio, so N/S = invSnr²:
 *   W(k) = G(k) / (G(k)² + invSnr²),   G(k) = g(k_h)·g(k_w).
 * Its known bias: E[W T x] = (W G) x with W G = G²/(G² + invSnr²) ∈ (0, 1) (a low-pass, ≈1 where G ≫ invSnr).
 *
 * The white-noise process of §3.1 is `Mollifier.identity()` (T = I; its Wiener filter and inverse are I too).
 */
import { tf } from "../runtime/backend";

/** Mollifier width: std `stdRef` pixels at resolution `resRef` (the paper: 1.0 px at the training resolution). */
export interface MollifierConfig {
  stdRef: number;
  resRef: number;
}

/** The Wiener filter's inverse SNR used by the authors' code (0.05). */
export const DEFAULT_INV_SNR = 0.05;

/** Orthonormal DCT-II matrix D [N, N] (row k = basis k), float64: D[k,n] = s_k·cos(πk(n+½)/N). */
export function dctMatrix(N: number): Float64Array {
  const D = new Float64Array(N * N);
  for (let k = 0; k < N; k++) {
    const s = k === 0 ? Math.sqrt(1 / N) : Math.sqrt(2 / N);
    for (let n = 0; n < N; n++) D[k * N + n] = s * Math.cos((Math.PI * k * (n + 0.5)) / N);
  }
  return D;
}

/** Per-axis DCT gain g_N(k) = exp(−σ²π²k²/(2N²)) of a Gaussian with std σ px on N pixels. */
export function gaussianDctGain(N: number, sigmaPx: number): Float64Array {
  const g = new Float64Array(N);
  for (let k = 0; k < N; k++) g[k] = Math.exp(-(sigmaPx * sigmaPx * Math.PI * Math.PI * k * k) / (2 * N * N));
  return g;
}

/** Dᵗ diag(d) D for an orthonormal D [N,N], float64 [N,N] (symmetric). */
function conjugateDiag(D: Float64Array, d: Float64Array, N: number): Float64Array {
  const M = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = i; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < N; k++) acc += D[k * N + i] * d[k] * D[k * N + j];
      M[i * N + j] = acc;
      M[j * N + i] = acc;
    }
  return M;
}

/**
 * Noise multiplier for sampling at resolution r with a model trained at r₀: c = r/r₀ (∞-Diff §3.2 / Fig. 2).
 * White noise ξ is multiplied by c BEFORE mollifying, so T(cξ) keeps the per-pixel variance it had at r₀
 * (T's std in pixels grows with r, which alone would shrink the variance by (r₀/r)² in 2D).
 * For an H×W grid pass [H, W]: c = √(H·W)/r₀ (variance ∝ 1/(σ_h σ_w)).
 */
export function noiseMultiplier(r: number | readonly [number, number], r0: number): number {
  if (!(r0 > 0)) throw new Error(`reference resolution must be > 0 (got ${r0})`);
  const rr = typeof r === "number" ? r : Math.sqrt(r[0] * r[1]);
  return rr / r0;
}

/** Grids with at most this many pixels apply each operator as one dense [H·W, H·W] matMul. */
export const DENSE_MAX_PIXELS = 256;

/**
 * A linear operator on H×W grids, stored either as one dense matrix K [H·W, H·W] (small grids) or as the per-axis
 * pair (M_H [H,H], M_W [W,W]) with K = M_H ⊗ M_W. Stored TRANSPOSED (rows · Mᵗ is one 2D matMul), float32, kept.
 */
type GridOp = { kind: "dense"; Kt: tf.Tensor2D } | { kind: "separable"; MHt: tf.Tensor2D; MWt: tf.Tensor2D };

function keep2d(a: Float64Array, n: number, m: number, transpose: boolean): tf.Tensor2D {
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[transpose ? j * n + i : i * m + j] = a[i * m + j];
  // cached operators may be created lazily inside a caller's tf.tidy and must outlive it
  return tf.keep(tf.tensor2d(out, transpose ? [m, n] : [n, m]));
}

/** K = A ⊗ B for row-major float64 matrices A [H,H], B [W,W]. */
function kron(A: Float64Array, H: number, B: Float64Array, W: number): Float64Array {
  const n = H * W;
  const K = new Float64Array(n * n);
  for (let i = 0; i < H; i++)
    for (let k = 0; k < H; k++) {
      const a = A[i * H + k];
      for (let j = 0; j < W; j++) for (let l = 0; l < W; l++) K[(i * W + j) * n + (k * W + l)] = a * B[j * W + l];
    }
  return K;
}

/** x [B,H,W,C] → rows [B·C, H·W]-shaped view (transposes only when C > 1). */
function toRows(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, W, C] = x.shape;
  return C === 1 ? tf.reshape(x, [B, H, W]) : tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [B * C, H, W]);
}
function fromRows(y: tf.Tensor, B: number, H: number, W: number, C: number): tf.Tensor4D {
  return C === 1 ? tf.reshape(y, [B, H, W, 1]) : tf.transpose(tf.reshape(y, [B, C, H, W]), [0, 2, 3, 1]);
}

/** y = K x on every (batch, channel) image of x [B,H,W,C]; matMuls and transposes only (fast on every backend). */
function applyOp(op: GridOp, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const rows = toRows(x); // [B·C, H, W]
    if (op.kind === "dense") return fromRows(tf.matMul(tf.reshape(rows, [B * C, H * W]), op.Kt), B, H, W, C);
    // along W: rows (b,c,h) · M_Wᵗ; along H: transpose to (b,c,w) rows · M_Hᵗ
    const yW = tf.reshape(tf.matMul(tf.reshape(rows, [B * C * H, W]), op.MWt), [B * C, H, W]);
    const yWt = tf.reshape(tf.transpose(yW, [0, 2, 1]), [B * C * W, H]);
    const yH = tf.transpose(tf.reshape(tf.matMul(yWt, op.MHt), [B * C, W, H]), [0, 2, 1]);
    return fromRows(yH, B, H, W, C);
  });
}

function disposeOp(op: GridOp | null): void {
  if (!op) return;
  if (op.kind === "dense") op.Kt.dispose();
  else tf.dispose([op.MHt, op.MWt]);
}

/** T on one H×W grid: cached float32 operators, `dispose()` frees them. */
export class GridMollifier {
  readonly H: number;
  readonly W: number;
  /** Gaussian std in pixels of this grid, per axis */
  readonly stdH: number;
  readonly stdW: number;
  /** per-axis DCT gains g(k), float64 */
  readonly gainH: Float64Array;
  readonly gainW: Float64Array;
  readonly isIdentity: boolean;
  /** true when operators are single dense matrices (H·W ≤ DENSE_MAX_PIXELS) */
  readonly dense: boolean;
  private readonly DH: Float64Array;
  private readonly DW: Float64Array;
  private tOp: GridOp | null = null;
  private invOp: GridOp | null = null;
  private dctOp: GridOp | null = null;
  private idctOp: GridOp | null = null;
  private readonly wienerOps = new Map<number, GridOp>();
  private readonly wienerGainTensors = new Map<number, tf.Tensor3D>();
  private disposed = false;

  constructor(H: number, W: number, stdH: number, stdW: number) {
    if (!(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0)) throw new Error(`bad grid ${H}×${W}`);
    this.H = H;
    this.W = W;
    this.stdH = stdH;
    this.stdW = stdW;
    this.isIdentity = stdH === 0 && stdW === 0;
    this.dense = H * W <= DENSE_MAX_PIXELS;
    this.gainH = gaussianDctGain(H, stdH);
    this.gainW = gaussianDctGain(W, stdW);
    this.DH = dctMatrix(H);
    this.DW = dctMatrix(W);
  }

  /** The operator with per-axis matrices A [H,H], B [W,W] (float64), as dense kron or separable. */
  private makeOp(A: Float64Array, B: Float64Array): GridOp {
    const { H, W } = this;
    if (this.dense) return { kind: "dense", Kt: keep2d(kron(A, H, B, W), H * W, H * W, true) };
    return { kind: "separable", MHt: keep2d(A, H, H, true), MWt: keep2d(B, W, W, true) };
  }

  private check(x: tf.Tensor): void {
    if (this.disposed) throw new Error("GridMollifier used after dispose()");
    if (x.rank !== 4 || x.shape[1] !== this.H || x.shape[2] !== this.W)
      throw new Error(`expected [B, ${this.H}, ${this.W}, C], got [${x.shape}]`);
  }

  /** T x — x [B, H, W, C] → [B, H, W, C]. ∞-Diff §3.2 (Gaussian mollifier, DCT domain). */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    this.check(x);
    if (this.isIdentity) return tf.clone(x);
    if (!this.tOp) this.tOp = this.makeOp(conjugateDiag(this.DH, this.gainH, this.H), conjugateDiag(this.DW, this.gainW, this.W));
    return applyOp(this.tOp, x);
  }

  /** T⁻¹ x, exact on the grid (ill-conditioned for wide kernels: gain ≥ exp(−σ²π²/2) per axis). */
  inverse(x: tf.Tensor4D): tf.Tensor4D {
    this.check(x);
    if (this.isIdentity) return tf.clone(x);
    if (!this.invOp)
      this.invOp = this.makeOp(
        conjugateDiag(this.DH, this.gainH.map((g) => 1 / g), this.H),
        conjugateDiag(this.DW, this.gainW.map((g) => 1 / g), this.W),
      );
    return applyOp(this.invOp, x);
  }

  /** 2D DCT-II of x [B, H, W, C] → coefficients [B, H(k_h), W(k_w), C]. */
  dct(x: tf.Tensor4D): tf.Tensor4D {
    this.check(x);
    if (!this.dctOp) this.dctOp = this.makeOp(this.DH, this.DW);
    return applyOp(this.dctOp, x);
  }

  /** inverse of `dct` */
  idct(X: tf.Tensor4D): tf.Tensor4D {
    this.check(X);
    if (!this.idctOp) {
      const tr = (D: Float64Array, N: number) => {
        const o = new Float64Array(N * N);
        for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) o[i * N + j] = D[j * N + i];
        return o;
      };
      this.idctOp = this.makeOp(tr(this.DH, this.H), tr(this.DW, this.W));
    }
    return applyOp(this.idctOp, X);
  }

  /** Wiener gain W(k) = G/(G² + invSnr²) as float64 [H·W] (row-major k_h, k_w). */
  wienerGain(invSnr = DEFAULT_INV_SNR): Float64Array {
    const out = new Float64Array(this.H * this.W);
    for (let i = 0; i < this.H; i++)
      for (let j = 0; j < this.W; j++) {
        const G = this.gainH[i] * this.gainW[j];
        out[i * this.W + j] = G / (G * G + invSnr * invSnr);
      }
    return out;
  }

  /**
   * Wiener-filtered inverse of T (see the file header): x [B, H, W, C] → [B, H, W, C].
   * Used to turn a sampled Tx₀ into x₀. The identity mollifier returns x unchanged.
   */
  wiener(x: tf.Tensor4D, invSnr = DEFAULT_INV_SNR): tf.Tensor4D {
    this.check(x);
    if (this.isIdentity) return tf.clone(x);
    if (!(invSnr > 0)) throw new Error(`invSnr must be > 0 (got ${invSnr}); use inverse() for the exact inverse`);
    const { H, W } = this;
    if (this.dense) {
      // one dense matrix D2ᵗ diag(W(k)) D2, D2 = D_H ⊗ D_W
      let op = this.wienerOps.get(invSnr);
      if (!op) {
        const n = H * W, D2 = kron(this.DH, H, this.DW, W), wg = this.wienerGain(invSnr);
        const K = new Float64Array(n * n);
        for (let p = 0; p < n; p++)
          for (let q = p; q < n; q++) {
            let acc = 0;
            for (let k = 0; k < n; k++) acc += D2[k * n + p] * wg[k] * D2[k * n + q];
            K[p * n + q] = K[q * n + p] = acc;
          }
        op = { kind: "dense", Kt: keep2d(K, n, n, true) };
        this.wienerOps.set(invSnr, op);
      }
      return applyOp(op, x);
    }
    let gain = this.wienerGainTensors.get(invSnr);
    if (!gain) {
      gain = tf.keep(tf.tensor3d(Float32Array.from(this.wienerGain(invSnr)), [H, W, 1]));
      this.wienerGainTensors.set(invSnr, gain);
    }
    const g = gain;
    return tf.tidy(() => this.idct(tf.mul(this.dct(x), g) as tf.Tensor4D));
  }

  /** Dense float64 matrix of T on one channel, [H·W, H·W] row-major over (h, w) — for tests and analysis. */
  denseMatrix(): Float64Array {
    const { H, W } = this;
    return kron(conjugateDiag(this.DH, this.gainH, H), H, conjugateDiag(this.DW, this.gainW, W), W);
  }

  /** Frees this grid's cached tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const op of [this.tOp, this.invOp, this.dctOp, this.idctOp, ...this.wienerOps.values()]) disposeOp(op);
    tf.dispose([...this.wienerGainTensors.values()]);
    this.wienerOps.clear();
    this.wienerGainTensors.clear();
  }
}

/**
 * The mollifier as one continuous operator: `at(H, W)` gives (and caches) its discretisation on an H×W grid;
 * `apply`, `wiener`, `inverse` pick the grid from the input's shape. `dispose()` frees every cached grid.
 */
export class Mollifier {
  readonly stdRef: number;
  readonly resRef: number;
  private readonly grids = new Map<string, GridMollifier>();

  constructor(cfg: MollifierConfig) {
    const keys = Object.keys(cfg);
    for (const k of keys) if (k !== "stdRef" && k !== "resRef") throw new Error(`unknown mollifier option '${k}'`);
    if (!(cfg.stdRef >= 0 && Number.isFinite(cfg.stdRef))) throw new Error(`stdRef must be ≥ 0 (got ${cfg.stdRef})`);
    if (!(cfg.resRef > 0)) throw new Error(`resRef must be > 0 (got ${cfg.resRef})`);
    this.stdRef = cfg.stdRef;
    this.resRef = cfg.resRef;
  }

  /** T = I: the white-noise diffusion of ∞-Diff §3.1. */
  static identity(resRef = 1): Mollifier {
    return new Mollifier({ stdRef: 0, resRef });
  }

  get isIdentity(): boolean {
    return this.stdRef === 0;
  }

  /** Gaussian std in pixels on an H×W grid: [stdRef·H/resRef, stdRef·W/resRef]. */
  stdAt(H: number, W: number): [number, number] {
    return [(this.stdRef * H) / this.resRef, (this.stdRef * W) / this.resRef];
  }

  /**
   * Multiplier for white noise drawn on an H×W grid (see `noiseMultiplier`): √(H·W)/resRef, and 1 for T = I
   * (white noise has no width to keep consistent).
   */
  noiseMultiplier(H: number, W: number): number {
    return this.isIdentity ? 1 : noiseMultiplier([H, W], this.resRef);
  }

  /** The mollifier's operators on an H×W grid (made once per grid, then cached). */
  at(H: number, W: number): GridMollifier {
    const key = `${H}x${W}`;
    let g = this.grids.get(key);
    if (!g) {
      const [sh, sw] = this.stdAt(H, W);
      g = new GridMollifier(H, W, sh, sw);
      this.grids.set(key, g);
    }
    return g;
  }

  /** T x, x [B, H, W, C] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.at(x.shape[1], x.shape[2]).apply(x);
  }

  /** Wiener inverse of T, x [B, H, W, C] */
  wiener(x: tf.Tensor4D, invSnr = DEFAULT_INV_SNR): tf.Tensor4D {
    return this.at(x.shape[1], x.shape[2]).wiener(x, invSnr);
  }

  /** exact T⁻¹ x, x [B, H, W, C] */
  inverse(x: tf.Tensor4D): tf.Tensor4D {
    return this.at(x.shape[1], x.shape[2]).inverse(x);
  }

  /** Frees every grid's cached tensors. */
  dispose(): void {
    for (const g of this.grids.values()) g.dispose();
    this.grids.clear();
  }
}
