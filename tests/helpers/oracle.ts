import { tf, Denoiser, Schedule, Rng } from "infty-diff-lab";
import { Mat, mat, matmul, transpose, solve, eye, add, scale, matvec, refT2d } from "./dense";

/**
 * Gaussian data x₀ ~ N(μ, Σ) on an 8×8 grid. With x_t = √ᾱ T x₀ + √(1−ᾱ) T ξ, T⁻¹x_t = √ᾱ x₀ + √(1−ᾱ) ξ, so the
 * optimal mollified-ε denoiser (the minimiser of Eq. 46) is
 *   f*(x_t) = E[Tξ | x_t] = √(1−ᾱ) T P⁻¹ (T⁻¹x_t − √ᾱ μ),  P = ᾱΣ + (1−ᾱ)I,
 * computed here in float64 with an independent dense T.
 */
export class GaussianOracle {
  readonly n: number;
  readonly mu: Float64Array;
  readonly Sigma: Mat;
  readonly T: Mat;
  private readonly Tinv: Mat;
  private readonly cache = new Map<number, { A: tf.Tensor2D; b: tf.Tensor2D }>();
  constructor(readonly H: number, readonly W: number, sigmaPx: number, readonly schedule: Schedule, rng: Rng) {
    const n = (this.n = H * W);
    this.T = refT2d(H, W, sigmaPx, sigmaPx);
    this.Tinv = refT2d(H, W, sigmaPx, sigmaPx, -1);
    // non-stationary covariance: a smooth RBF field with a spatially varying scale, plus a white floor
    const scaleAt = (p: number) => 0.5 + 0.7 * (Math.floor(p / W) / (H - 1));
    this.Sigma = mat(n, n, (p, q) => {
      const d2 = (Math.floor(p / W) - Math.floor(q / W)) ** 2 + ((p % W) - (q % W)) ** 2;
      return 0.2 * scaleAt(p) * scaleAt(q) * Math.exp(-d2 / (2 * 1.5 * 1.5)) + (p === q ? 0.03 : 0);
    });
    this.mu = Float64Array.from(rng.normals(n)).map((v, p) => 0.3 * v + 0.2 * Math.cos((Math.PI * (p % W)) / W));
  }
  private readonly cache64 = new Map<number, { A: Mat; b: Float64Array }>();
  /** the oracle as f*(x) = A x + b, float64 */
  coefs64(t: number): { A: Mat; b: Float64Array } {
    let c = this.cache64.get(t);
    if (!c) {
      const ab = this.schedule.alphasCumprod[t];
      const P = add(scale(this.Sigma, ab), scale(eye(this.n), 1 - ab));
      const TPinv = transpose(solve(P, this.T)); // (P⁻¹ Tᵗ)ᵗ = T P⁻¹ (P, T symmetric)
      const A = scale(matmul(TPinv, this.Tinv), Math.sqrt(1 - ab));
      const b = matvec(TPinv, this.mu).map((v) => -Math.sqrt(1 - ab) * Math.sqrt(ab) * v);
      c = { A, b };
      this.cache64.set(t, c);
    }
    return c;
  }
  private coefs(t: number) {
    let c = this.cache.get(t);
    if (!c) {
      const { A, b } = this.coefs64(t);
      c = {
        A: tf.keep(tf.tensor2d(Float32Array.from(transpose(A).a), [this.n, this.n])),
        b: tf.keep(tf.tensor2d(Float32Array.from(b), [1, this.n])),
      };
      this.cache.set(t, c);
    }
    return c;
  }
  /**
   * Exact output law of a sampler driven by this (linear) oracle, by Gaussian propagation in float64 — an
   * independent re-statement of the DDPM (Eqs. 12/40, σ² = β or β̃) and DDIM updates on dense matrices.
   * Starts from x_T ~ N(0, c²TTᵗ); returns the mean and covariance of the final Tx₀.
   */
  propagate(timesteps: number[], kind: "ddpm" | "ddim", opt: { sigma?: "beta" | "betaTilde"; eta?: number; c?: number } = {}) {
    const n = this.n, I = eye(n), TT = matmul(this.T, this.T), c2 = (opt.c ?? 1) ** 2;
    let m: Float64Array = new Float64Array(n);
    let C = scale(TT, c2);
    for (let i = 0; i < timesteps.length; i++) {
      const t = timesteps[i], s = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
      const abT = this.schedule.alphasCumprod[t], abS = s < 0 ? 1 : this.schedule.alphasCumprod[s];
      const { A, b } = this.coefs64(t);
      // Tx̂₀ = P x + p with P = (I − √(1−ᾱ_t) A)/√ᾱ_t, p = −√(1−ᾱ_t) b/√ᾱ_t
      const P = scale(add(I, scale(A, -Math.sqrt(1 - abT))), 1 / Math.sqrt(abT));
      const p = b.map((v) => (-Math.sqrt(1 - abT) * v) / Math.sqrt(abT));
      const beta = 1 - abT / abS, betaTilde = ((1 - abS) / (1 - abT)) * beta;
      let L: Mat, l: Float64Array, noiseVar: number;
      if (kind === "ddpm") {
        const cx0 = (Math.sqrt(abS) * beta) / (1 - abT), cxt = (Math.sqrt(1 - beta) * (1 - abS)) / (1 - abT);
        L = add(scale(P, cx0), scale(I, cxt));
        l = p.map((v) => cx0 * v);
        noiseVar = s < 0 ? 0 : opt.sigma === "betaTilde" ? betaTilde : beta;
      } else {
        const eta = opt.eta ?? 0, sig2 = eta * eta * betaTilde, dir = Math.sqrt(Math.max(1 - abS - sig2, 0));
        L = add(scale(P, Math.sqrt(abS)), scale(A, dir));
        l = p.map((v, k) => Math.sqrt(abS) * v + dir * b[k]);
        noiseVar = s < 0 ? 0 : sig2;
      }
      const Lm = matvec(L, m);
      m = Lm.map((v, k) => v + l[k]);
      C = add(matmul(L, matmul(C, transpose(L))), scale(TT, noiseVar * c2));
    }
    return { mean: m, cov: C };
  }
  readonly denoise: Denoiser = async (xt, t) => {
    const tv = (await t.data())[0];
    const { A, b } = this.coefs(tv);
    const [B, H, W, C] = xt.shape;
    return tf.tidy(() => tf.reshape(tf.add(tf.matMul(tf.reshape(xt, [B, this.n]), A), b), [B, H, W, C]) as tf.Tensor4D);
  };
  /** draws x₀ [N, H, W, 1] */
  sample(N: number, rng: Rng): tf.Tensor4D {
    // Cholesky factor of Σ (SPD)
    const n = this.n, L = new Float64Array(n * n), S = this.Sigma.a;
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        let s = S[i * n + j];
        for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
        L[i * n + j] = i === j ? Math.sqrt(s) : s / L[j * n + j];
      }
    const out = new Float32Array(N * n);
    for (let r = 0; r < N; r++) {
      const z = rng.normals(n);
      for (let i = 0; i < n; i++) {
        let s = this.mu[i];
        for (let k = 0; k <= i; k++) s += L[i * n + k] * z[k];
        out[r * n + i] = s;
      }
    }
    return tf.tensor4d(out, [N, this.H, this.W, 1]);
  }
  dispose() {
    for (const { A, b } of this.cache.values()) tf.dispose([A, b]);
    this.cache.clear();
  }
}

