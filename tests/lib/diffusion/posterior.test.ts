import { strict as assert } from "assert";
import { initBackend, tf, cosineSchedule, linearSchedule, stepCoefs, posteriorMean, posteriorVariance, posteriorSample, Mollifier, Rng } from "infty-diff-lab";
import { mat, matmul, transpose, scale, add, sub, solve, matvec, maxAbsDiff, frob, refT2d, sampleMoments, Mat } from "../../helpers/dense";
import { assertNoLeakOnProcess } from "../../helpers/leak";

const randomMatrix = (rng: Rng, n: number): Mat => mat(n, n, () => rng.normal() / Math.sqrt(n));

describe("posterior q(x_{t−1} | x_t, x₀) (∞-Diff Eq. 12, App. B.1)", () => {
  before(async () => {
    await initBackend("cpu", { quiet: true });
  });

  it("App. B identities with a random T: Aμ + b = √ᾱ_{t−1}Tx₀ (Eqs. 27–29), L⁻¹ + AΛ⁻¹Aᵗ = (1−ᾱ_{t−1})TTᵗ (Eqs. 30–32)", () => {
    const rng = new Rng(11);
    const n = 9;
    for (const sch of [cosineSchedule(1000), linearSchedule(1000)]) {
      for (let trial = 0; trial < 6; trial++) {
        const t = 1 + rng.int(999);
        const c = stepCoefs(sch, t); // A = coefXt·I, b = coefTx0·Tx₀, L⁻¹ = β̃·TTᵗ
        const T = randomMatrix(rng, n);
        const x0 = Float64Array.from(rng.normals(n));
        const Tx0 = matvec(T, x0);
        const mu = Tx0.map((v) => Math.sqrt(c.abarT) * v); // Eq. 23: μ = √ᾱ_t Tx₀
        const lhs = mu.map((v, i) => c.coefXt * v + c.coefTx0 * Tx0[i]);
        const rhs = Tx0.map((v) => Math.sqrt(sch.alphasCumprodPrev[t]) * v);
        assert.ok(maxAbsDiff(lhs, rhs) < 1e-12 * (1 + frob(rhs)), `t=${t}: Aμ+b`);
        const TTt = matmul(T, transpose(T));
        const Linv = scale(TTt, c.betaTilde);
        const Lambda_inv = scale(TTt, 1 - c.abarT);
        const A = mat(n, n, (i, j) => (i === j ? c.coefXt : 0));
        const cov = add(Linv, matmul(A, matmul(Lambda_inv, transpose(A))));
        const want = scale(TTt, 1 - sch.alphasCumprodPrev[t]);
        assert.ok(maxAbsDiff(cov.a, want.a) < 1e-12 * (1 + frob(want.a)), `t=${t}: covariance`);
      }
    }
  });

  it("Eq. 12 equals Bayes' rule with dense covariances on a 4×4 grid (also respaced s < t−1)", async () => {
    const H = 4, W = 4, n = 16;
    const sch = cosineSchedule(1000);
    const moll = new Mollifier({ stdRef: 1, resRef: 4 });
    const T = refT2d(H, W, 1, 1); // independent dense T (the mollifier is checked against it elsewhere)
    const S = matmul(T, transpose(T));
    const rng = new Rng(12);
    for (const [t, s] of [[1, 0], [10, 9], [500, 499], [999, 998], [700, 350], [40, -1]]) {
      const c = stepCoefs(sch, t, s);
      const abarS = s < 0 ? 1 : sch.alphasCumprod[s];
      const abarT = sch.alphasCumprod[t];
      // joint of (x_s, x_t) given x₀: x_s ~ N(√ᾱ_s Tx₀, (1−ᾱ_s)S); x_t | x_s ~ N(√(ᾱ_t/ᾱ_s) x_s, (1 − ᾱ_t/ᾱ_s) S)
      const a = Math.sqrt(abarT / abarS);
      const C11 = scale(S, 1 - abarS), C12 = scale(S, a * (1 - abarS)), C22 = add(scale(S, a * a * (1 - abarS)), scale(S, 1 - abarT / abarS));
      const x0 = Float64Array.from(rng.normals(n));
      const Tx0 = matvec(T, x0);
      const xt = Float64Array.from(rng.normals(n)).map((v, i) => Math.sqrt(abarT) * Tx0[i] + 0.3 * v);
      // Bayes: mean = m1 + C12 C22⁻¹ (x_t − m2), cov = C11 − C12 C22⁻¹ C21
      const m2 = Tx0.map((v) => Math.sqrt(abarT) * v);
      const gain = transpose(solve(C22, transpose(C12))); // C12 C22⁻¹ (C22 symmetric)
      const dm = matvec(gain, xt.map((v, i) => v - m2[i]));
      const bayesMean = Tx0.map((v, i) => Math.sqrt(abarS) * v + dm[i]);
      const bayesCov = sub(C11, matmul(gain, transpose(C12)));
      // code under test: μ̃ from tensors, covariance β̃·TTᵗ
      const mean = await tf.tidy(() =>
        posteriorMean(tf.tensor4d(Float32Array.from(xt), [1, H, W, 1]), tf.tensor4d(Float32Array.from(Tx0), [1, H, W, 1]), [t], sch, [s]),
      ).data();
      assert.ok(maxAbsDiff(mean, bayesMean) < 1e-5, `t=${t}→${s}: mean err ${maxAbsDiff(mean, bayesMean)}`);
      const Tc: Mat = { n, m: n, a: moll.at(H, W).denseMatrix() };
      const codeCov = scale(matmul(Tc, transpose(Tc)), posteriorVariance(sch, t, s));
      const err = maxAbsDiff(codeCov.a, bayesCov.a) / Math.max(frob(bayesCov.a), 1e-300);
      assert.ok(s < 0 ? frob(codeCov.a) < 1e-12 && frob(bayesCov.a) < 1e-12 : err < 1e-8, `t=${t}→${s}: covariance rel err ${err}`);
    }
    moll.dispose();
  });

  it("posteriorSample draws N(μ̃, β̃·TTᵗ): Monte-Carlo covariance on a 4×4 grid", async () => {
    const H = 4, W = 4, n = 16, N = 20000;
    const sch = cosineSchedule(1000);
    const moll = new Mollifier({ stdRef: 1, resRef: 4 });
    const t = 300;
    const rng = new Rng(13);
    const xt = tf.tensor4d(rng.normals(N * n).map(() => 0), [N, H, W, 1]);
    const Tx0 = tf.tidy(() => tf.tile(tf.tensor4d(rng.normals(n), [1, H, W, 1]), [N, 1, 1, 1])) as tf.Tensor4D;
    const draw = posteriorSample(xt, Tx0, t, t - 1, sch, moll, rng);
    const mu = posteriorMean(xt, Tx0, new Array(N).fill(t), sch);
    const X = await draw.data();
    const { mean, cov } = sampleMoments(X, N, n);
    const want = scale(matmul(refT2d(H, W, 1, 1), refT2d(H, W, 1, 1)), sch.betaTilde[t]);
    const muRow = (await mu.data()).slice(0, n);
    for (let i = 0; i < n; i++) {
      const z = (mean[i] - muRow[i]) / Math.sqrt(want.a[i * n + i] / N);
      assert.ok(Math.abs(z) < 4.5, `pixel ${i}: mean z-score ${z}`);
    }
    // expected relative Frobenius error of a sample covariance ≈ √((tr C)² + ‖C‖²)/(√N ‖C‖)
    let tr = 0;
    for (let i = 0; i < n; i++) tr += want.a[i * n + i];
    const expected = Math.sqrt(tr * tr + frob(want.a) ** 2) / (Math.sqrt(N) * frob(want.a));
    const rel = frob(sub(cov, want).a) / frob(want.a);
    assert.ok(rel < 3 * expected, `cov rel err ${rel} vs MC ${expected}`);
    tf.dispose([xt, Tx0, draw, mu]);
    moll.dispose();
  });

  it("does not leak", () => {
    assertNoLeakOnProcess(({ schedule, mollifier, x, rng }) => tf.dispose([posteriorMean(x, x, [5, 6], schedule), posteriorSample(x, x, 5, 4, schedule, mollifier, rng)]));
  });
});
