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
 * orthonormal DCT-II matrix — a symmetric matrix, applied with matMuls.
 *
 * Wiener filter (undoing T on a sampled Tx₀). For y = T x + n with signal power S and noise power N per DCT
 * coefficient, the MMSE linear inverse is W = G·S/(G²·S + N) = G / (G² + N/S). As in the authors' code, the
 * parameter `invSnr` (default 0.05) is an amplitude ratio, so N/S = invSnr²:
 *   W(k) = G(k) / (G(k)² + invSnr²),   G(k) = g(k_h)·g(k_w).
 * Its known bias: E[W T x] = (W G) x with W G = G²/(G² + invSnr²) ∈ (0, 1) (a low-pass, ≈1 where G ≫ invSnr).
 *
 * The white-noise process of §3.1 is `Mollifier.identity()` (T = I; its Wiener filter and inverse are I too).
 */
import { tf } from "./backend";

/** Mollifier width: std `stdRef` pixels at resolution `resRef` (the paper: 1.0 px at the training resolution). */
export interface MollifierConfig {
  stdRef: number;
  resRef: number;
}

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

/** x [B, H, W, C] multiplied along H by M [H, H]: y[b,i,w,c] = Σ_j M[i,j] x[b,j,w,c]. */
function alongH(x: tf.Tensor4D, M: tf.Tensor3D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.matMul(M, tf.reshape(x, [B, H, W * C])).reshape([B, H, W, C]) as tf.Tensor4D;
}

/** x [B, H, W, C] multiplied along W by M [W, W]. */
function alongW(x: tf.Tensor4D, M: tf.Tensor3D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.matMul(M, tf.reshape(x, [B * H, W, C])).reshape([B, H, W, C]) as tf.Tensor4D;
}

/** T on one H×W grid: cached float32 matrices, `dispose()` frees them. */
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
  // [1, N, N] float32 operators (broadcast over batch in matMul)
  private readonly tH: tf.Tensor3D | null;
  private readonly tW: tf.Tensor3D | null;
  private invH: tf.Tensor3D | null = null;
  private invW: tf.Tensor3D | null = null;
  private dH: tf.Tensor3D | null = null;
  private dW: tf.Tensor3D | null = null;
  private dHt: tf.Tensor3D | null = null;
  private dWt: tf.Tensor3D | null = null;
  private readonly wienerGains = new Map<number, tf.Tensor3D>();
  private disposed = false;

  constructor(H: number, W: number, stdH: number, stdW: number) {
    if (!(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0)) throw new Error(`bad grid ${H}×${W}`);
    this.H = H;
    this.W = W;
    this.stdH = stdH;
    this.stdW = stdW;
    this.isIdentity = stdH === 0 && stdW === 0;
    this.gainH = gaussianDctGain(H, stdH);
    this.gainW = gaussianDctGain(W, stdW);
    if (this.isIdentity) {
      this.tH = this.tW = null;
    } else {
      this.tH = this.operator(H, this.gainH);
      this.tW = this.operator(W, this.gainW);
    }
  }

  // Cached tensors are kept: they may be created lazily inside a caller's tf.tidy and must outlive it.
  private operator(N: number, d: Float64Array): tf.Tensor3D {
    return tf.keep(tf.tensor3d(Float32Array.from(conjugateDiag(dctMatrix(N), d, N)), [1, N, N]));
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
    return tf.tidy(() => alongW(alongH(x, this.tH!), this.tW!));
  }

  /** T⁻¹ x, exact on the grid (ill-conditioned for wide kernels: gain ≥ exp(−σ²π²/2) per axis). */
  inverse(x: tf.Tensor4D): tf.Tensor4D {
    this.check(x);
    if (this.isIdentity) return tf.clone(x);
    if (!this.invH) {
      this.invH = this.operator(this.H, this.gainH.map((g) => 1 / g));
      this.invW = this.operator(this.W, this.gainW.map((g) => 1 / g));
    }
    return tf.tidy(() => alongW(alongH(x, this.invH!), this.invW!));
  }

  /** 2D DCT-II of x [B, H, W, C] → coefficients [B, H(k_h), W(k_w), C]. */
  dct(x: tf.Tensor4D): tf.Tensor4D {
    this.check(x);
    this.ensureDct();
    return tf.tidy(() => alongW(alongH(x, this.dH!), this.dW!));
  }

  /** inverse of `dct` */
  idct(X: tf.Tensor4D): tf.Tensor4D {
    this.check(X);
    this.ensureDct();
    return tf.tidy(() => alongW(alongH(X, this.dHt!), this.dWt!));
  }

  private ensureDct(): void {
    if (this.dH) return;
    const mk = (N: number, transpose: boolean) => {
      const D = dctMatrix(N);
      const out = new Float32Array(N * N);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) out[i * N + j] = transpose ? D[j * N + i] : D[i * N + j];
      return tf.keep(tf.tensor3d(out, [1, N, N]));
    };
    this.dH = mk(this.H, false);
    this.dW = mk(this.W, false);
    this.dHt = mk(this.H, true);
    this.dWt = mk(this.W, true);
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
    let gain = this.wienerGains.get(invSnr);
    if (!gain) {
      gain = tf.keep(tf.tensor3d(Float32Array.from(this.wienerGain(invSnr)), [this.H, this.W, 1]));
      this.wienerGains.set(invSnr, gain);
    }
    const g = gain;
    return tf.tidy(() => this.idct(tf.mul(this.dct(x), g) as tf.Tensor4D));
  }

  /** Dense float64 matrix of T on one channel, [H·W, H·W] row-major over (h, w) — for tests and analysis. */
  denseMatrix(): Float64Array {
    const { H, W } = this;
    const MH = conjugateDiag(dctMatrix(H), this.gainH, H);
    const MW = conjugateDiag(dctMatrix(W), this.gainW, W);
    const n = H * W;
    const out = new Float64Array(n * n);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let k = 0; k < H; k++)
          for (let l = 0; l < W; l++) out[(i * W + j) * n + (k * W + l)] = MH[i * H + k] * MW[j * W + l];
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const ts = [this.tH, this.tW, this.invH, this.invW, this.dH, this.dW, this.dHt, this.dWt, ...this.wienerGains.values()];
    tf.dispose(ts.filter((t): t is tf.Tensor3D => t != null));
    this.wienerGains.clear();
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

  dispose(): void {
    for (const g of this.grids.values()) g.dispose();
    this.grids.clear();
  }
}
