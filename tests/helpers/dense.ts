/**
 * Small float64 dense linear algebra for test references (independent of the code under test).
 * Matrices are row-major Float64Array with explicit sizes.
 */
export type Mat = { n: number; m: number; a: Float64Array };

export function mat(n: number, m: number, f: (i: number, j: number) => number = () => 0): Mat {
  const a = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) a[i * m + j] = f(i, j);
  return { n, m, a };
}
export const eye = (n: number): Mat => mat(n, n, (i, j) => (i === j ? 1 : 0));
export const at = (A: Mat, i: number, j: number): number => A.a[i * A.m + j];
export const transpose = (A: Mat): Mat => mat(A.m, A.n, (i, j) => at(A, j, i));
export const scale = (A: Mat, s: number): Mat => mat(A.n, A.m, (i, j) => s * at(A, i, j));
export const add = (A: Mat, B: Mat): Mat => mat(A.n, A.m, (i, j) => at(A, i, j) + at(B, i, j));
export const sub = (A: Mat, B: Mat): Mat => mat(A.n, A.m, (i, j) => at(A, i, j) - at(B, i, j));

export function matmul(A: Mat, B: Mat): Mat {
  if (A.m !== B.n) throw new Error("matmul shape");
  const C = mat(A.n, B.m);
  for (let i = 0; i < A.n; i++)
    for (let k = 0; k < A.m; k++) {
      const v = A.a[i * A.m + k];
      if (v === 0) continue;
      for (let j = 0; j < B.m; j++) C.a[i * B.m + j] += v * B.a[k * B.m + j];
    }
  return C;
}
export const matvec = (A: Mat, x: ArrayLike<number>): Float64Array => {
  const y = new Float64Array(A.n);
  for (let i = 0; i < A.n; i++) {
    let s = 0;
    for (let j = 0; j < A.m; j++) s += A.a[i * A.m + j] * x[j];
    y[i] = s;
  }
  return y;
};

/** Solves A X = B by Gaussian elimination with partial pivoting. */
export function solve(A: Mat, B: Mat): Mat {
  const n = A.n;
  const M = Float64Array.from(A.a);
  const X = Float64Array.from(B.a);
  const m = B.m;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]) > Math.abs(M[p * n + c])) p = r;
    if (p !== c) {
      for (let j = 0; j < n; j++) [M[c * n + j], M[p * n + j]] = [M[p * n + j], M[c * n + j]];
      for (let j = 0; j < m; j++) [X[c * m + j], X[p * m + j]] = [X[p * m + j], X[c * m + j]];
    }
    const d = M[c * n + c];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r * n + c] / d;
      if (f === 0) continue;
      for (let j = c; j < n; j++) M[r * n + j] -= f * M[c * n + j];
      for (let j = 0; j < m; j++) X[r * m + j] -= f * X[c * m + j];
    }
  }
  for (let r = 0; r < n; r++) for (let j = 0; j < m; j++) X[r * m + j] /= M[r * n + r];
  return { n, m, a: X };
}
export const inv = (A: Mat): Mat => solve(A, eye(A.n));

/** Kronecker product A ⊗ B. */
export function kron(A: Mat, B: Mat): Mat {
  return mat(A.n * B.n, A.m * B.m, (i, j) => at(A, Math.floor(i / B.n), Math.floor(j / B.m)) * at(B, i % B.n, j % B.m));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
export function frob(A: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) s += A[i] * A[i];
  return Math.sqrt(s);
}

/**
 * Reference mollifier matrix on N pixels, built from the continuous definition: the half-sample symmetric
 * (DCT-II) basis cos(πk(n+½)/N), orthonormalised, each multiplied by the Gaussian's Fourier transform at ω = πk/N.
 */
export function refDct(N: number): Mat {
  return mat(N, N, (k, n) => (k === 0 ? Math.sqrt(1 / N) : Math.sqrt(2 / N)) * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * N)));
}
export function refAxisOperator(N: number, sigmaPx: number, power = 1): Mat {
  const D = refDct(N);
  const g = mat(N, N, (i, j) => (i === j ? Math.exp(-0.5 * sigmaPx * sigmaPx * ((Math.PI * i) / N) ** 2) ** power : 0));
  return matmul(transpose(D), matmul(g, D));
}
/** Dense 2D operator over row-major (h, w) pixels. */
export function refT2d(H: number, W: number, sigmaH: number, sigmaW: number, power = 1): Mat {
  return kron(refAxisOperator(H, sigmaH, power), refAxisOperator(W, sigmaW, power));
}

/** Sample mean [d] and covariance [d, d] of rows of X (N × d, row-major). */
export function sampleMoments(X: ArrayLike<number>, N: number, d: number): { mean: Float64Array; cov: Mat } {
  const mean = new Float64Array(d);
  for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= N;
  const cov = mat(d, d);
  const row = new Float64Array(d);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < d; j++) row[j] = X[i * d + j] - mean[j];
    for (let j = 0; j < d; j++) {
      const v = row[j];
      for (let k = j; k < d; k++) cov.a[j * d + k] += v * row[k];
    }
  }
  for (let j = 0; j < d; j++)
    for (let k = j; k < d; k++) {
      cov.a[j * d + k] /= N - 1;
      cov.a[k * d + j] = cov.a[j * d + k];
    }
  return { mean, cov };
}
