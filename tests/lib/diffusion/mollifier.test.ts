import { strict as assert } from "assert";
import { initBackend, tf, Mollifier, GridMollifier, dctMatrix, Rng, DEFAULT_INV_SNR } from "infty-diff-lab";
import { refDct, refT2d, maxAbsDiff, matvec, mat, matmul, transpose, eye } from "../../helpers/dense";

/** Direct 2D convolution with a sampled, normalised Gaussian (radius ⌈6σ⌉) and half-sample reflect padding. */
function directBlur(x: Float64Array, H: number, W: number, sh: number, sw: number): Float64Array {
  const kern = (s: number) => {
    const R = Math.ceil(6 * s);
    const k = new Float64Array(2 * R + 1);
    let z = 0;
    for (let j = -R; j <= R; j++) z += (k[j + R] = Math.exp(-(j * j) / (2 * s * s)));
    return { R, k: k.map((v) => v / z) };
  };
  const refl = (i: number, N: number) => {
    // half-sample symmetric: … 1 0 | 0 1 … N−1 | N−1 N−2 …
    for (;;) {
      if (i < 0) i = -i - 1;
      else if (i >= N) i = 2 * N - i - 1;
      else return i;
    }
  };
  const kh = kern(sh), kw = kern(sw);
  const tmp = new Float64Array(H * W), out = new Float64Array(H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      let s = 0;
      for (let d = -kw.R; d <= kw.R; d++) s += kw.k[d + kw.R] * x[i * W + refl(j + d, W)];
      tmp[i * W + j] = s;
    }
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      let s = 0;
      for (let d = -kh.R; d <= kh.R; d++) s += kh.k[d + kh.R] * tmp[refl(i + d, H) * W + j];
      out[i * W + j] = s;
    }
  return out;
}

function randomImage(rng: Rng, H: number, W: number): Float64Array {
  return Float64Array.from(rng.normals(H * W));
}

async function applyTo(m: Mollifier, x: Float64Array, H: number, W: number, op: "apply" | "inverse" | "wiener" = "apply"): Promise<Float64Array> {
  const xt = tf.tensor4d(Float32Array.from(x), [1, H, W, 1]);
  const y = op === "wiener" ? m.wiener(xt) : m[op](xt);
  const out = Float64Array.from(await y.data());
  tf.dispose([xt, y]);
  return out;
}

describe("mollifier (∞-Diff §3.2)", () => {
  before(async () => {
    await initBackend("cpu", { quiet: true });
  });

  it("DCT-II matrix is orthonormal and equals the reference basis", () => {
    for (const N of [1, 5, 8, 13]) {
      const D = dctMatrix(N);
      const R = refDct(N);
      assert.ok(maxAbsDiff(D, R.a) < 1e-12);
      const DDt = matmul(R, transpose(R));
      assert.ok(maxAbsDiff(DDt.a, eye(N).a) < 1e-12);
    }
  });

  it("matches direct convolution with a reflect-padded Gaussian away from the border", async () => {
    // The DCT operator uses the continuous Gaussian's response exp(−σ²ω²/2); a sampled kernel's response differs
    // by its aliases, ≤ 2·exp(−σ²π²/2) per axis and frequency: < 3e-9 for σ ≥ 2 px (only float32 rounding
    // remains), ≈ 0.014 for σ = 1 px (the paper's), which on unit white noise gives errors up to ~5e-3.
    const rng = new Rng(1);
    const cases: Array<[number, number, number, number, number]> = [
      // H, W, stdRef, resRef, tolerance
      [40, 48, 2, 40, 2e-6], // σ_h = 2, σ_w = 2.4 (non-square: per-axis std)
      [36, 36, 1, 36, 1e-2],
      [30, 45, 1.5, 30, 1e-5], // σ_h = 1.5, σ_w = 2.25
    ];
    for (const [H, W, stdRef, resRef, tol] of cases) {
      const m = new Mollifier({ stdRef, resRef });
      const [sh, sw] = m.stdAt(H, W);
      const x = randomImage(rng, H, W);
      const y = await applyTo(m, x, H, W);
      const ref = directBlur(x, H, W, sh, sw);
      const Rh = Math.ceil(6 * sh), Rw = Math.ceil(6 * sw);
      let err = 0;
      for (let i = Rh; i < H - Rh; i++) for (let j = Rw; j < W - Rw; j++) err = Math.max(err, Math.abs(y[i * W + j] - ref[i * W + j]));
      assert.ok(err < tol, `${H}×${W} σ=(${sh},${sw}): interior max err ${err} ≥ ${tol}`);
      m.dispose();
    }
  });

  it("equals the dense reference operator on the whole grid (border included), batch and channels; dense and separable paths", async () => {
   for (const [H, W] of [[6, 9], [18, 27]]) { // 54 px: one dense matrix; 486 px: per-axis matrices
    const B = 2, C = 3;
    const m = new Mollifier({ stdRef: 1, resRef: 6 }); // σ = (H/6, W/6) px
    const rng = new Rng(2);
    const x = rng.normals(B * H * W * C);
    const y = await tf.tidy(() => m.apply(tf.tensor4d(x, [B, H, W, C]))).data();
    const T = refT2d(H, W, H / 6, W / 6);
    let err = 0;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const v = new Float64Array(H * W);
        for (let p = 0; p < H * W; p++) v[p] = x[(b * H * W + p) * C + c];
        const r = matvec(T, v);
        for (let p = 0; p < H * W; p++) err = Math.max(err, Math.abs(r[p] - y[(b * H * W + p) * C + c]));
      }
    assert.ok(err < 1e-5, `max err ${err}`);
    assert.ok(maxAbsDiff(m.at(H, W).denseMatrix(), T.a) < 1e-12);
    assert.equal(m.at(H, W).dense, H * W <= 256);
    m.dispose();
   }
  });

  it("is symmetric: <Tx, y> = <x, Ty>", async () => {
    const H = 12, W = 7;
    const m = new Mollifier({ stdRef: 1, resRef: 8 });
    const rng = new Rng(3);
    const x = randomImage(rng, H, W), y = randomImage(rng, H, W);
    const Tx = await applyTo(m, x, H, W), Ty = await applyTo(m, y, H, W);
    let a = 0, b = 0;
    for (let i = 0; i < H * W; i++) { a += Tx[i] * y[i]; b += x[i] * Ty[i]; }
    assert.ok(Math.abs(a - b) < 1e-5 * (Math.abs(a) + 1), `${a} vs ${b}`);
    const D = m.at(H, W).denseMatrix();
    const n = H * W;
    let asym = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) asym = Math.max(asym, Math.abs(D[i * n + j] - D[j * n + i]));
    assert.equal(asym, 0);
    m.dispose();
  });

  it("exact inverse round-trips to 1e-4", async () => {
    // paper default 1 px at the training resolution; the smallest 2D gain on 16×16 is 1.7e-4 at 16 px
    const rng = new Rng(4);
    for (const [H, W, res] of [[16, 16, 16], [8, 8, 8], [16, 12, 32]]) {
      const m = new Mollifier({ stdRef: 1, resRef: res });
      const x = randomImage(rng, H, W);
      const xt = tf.tensor4d(Float32Array.from(x), [1, H, W, 1]);
      const back = tf.tidy(() => m.inverse(m.apply(xt)));
      const fwd = tf.tidy(() => m.apply(m.inverse(xt)));
      const e1 = maxAbsDiff(await back.data(), x), e2 = maxAbsDiff(await fwd.data(), x);
      assert.ok(e1 < 1e-4 && e2 < 1e-4, `${H}×${W}@${res}: T⁻¹T err ${e1}, TT⁻¹ err ${e2}`);
      tf.dispose([xt, back, fwd]);
      m.dispose();
    }
  });

  it("Wiener filter: W = G/(G²+invSnr²) in the DCT domain; Wiener(Tx) ≈ x for smooth x", async () => {
    const H = 16, W = 20;
    const m = new Mollifier({ stdRef: 1, resRef: 16 });
    const g = m.at(H, W);
    // reference: dense DCT-domain filter (W·G on the data) built from the reference basis
    const Dh = refDct(H), Dw = refDct(W);
    const x = new Float64Array(H * W);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const u = (i + 0.5) / H, v = (j + 0.5) / W;
        x[i * W + j] = 0.6 * Math.cos(2 * Math.PI * u) * Math.sin(Math.PI * v) + 0.3 * v * v - 0.2;
      }
    const y = await applyTo(m, await applyTo(m, x, H, W), H, W, "wiener");
    // reference: coefficients X = Dh x Dwᵗ, times G²/(G²+ε²), back
    const Xm = mat(H, W, (i, j) => x[i * W + j]);
    const X = matmul(matmul(Dh, Xm), transpose(Dw));
    const eps2 = DEFAULT_INV_SNR ** 2;
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        // σ_h = 1·16/16 px, σ_w = 1·20/16 px; g(k) = exp(−σ²(πk/N)²/2)
        const G = Math.exp(-0.5 * ((1 * Math.PI * i) / H) ** 2) * Math.exp(-0.5 * ((1.25 * Math.PI * j) / W) ** 2);
        X.a[i * W + j] *= (G * G) / (G * G + eps2);
      }
    const ref = matmul(matmul(transpose(Dh), X), Dw);
    assert.ok(maxAbsDiff(y, ref.a) < 1e-5, `vs reference filter: ${maxAbsDiff(y, ref.a)}`);
    // smooth x survives blur + Wiener nearly unchanged (the bias G²/(G²+ε²) ≈ 1 at low frequencies)
    const err = maxAbsDiff(y, x);
    assert.ok(err < 0.01, `Wiener(Tx) vs x: ${err}`);
    // whereas a plain blur of it is visibly different (the test can fail)
    assert.ok(maxAbsDiff(await applyTo(m, x, H, W), x) > 3 * err);
    // the gain table
    const wg = g.wienerGain();
    assert.ok(Math.abs(wg[0] - 1 / (1 + eps2)) < 1e-12);
    m.dispose();
  });

  it("identity mollifier (T = I, §3.1) has the same interface and changes nothing", async () => {
    const m = Mollifier.identity(32);
    assert.equal(m.noiseMultiplier(64, 64), 1);
    const x = new Rng(5).normals(2 * 5 * 7 * 2);
    const xt = tf.tensor4d(x, [2, 5, 7, 2]);
    for (const op of [m.apply(xt), m.wiener(xt), m.inverse(xt)]) {
      assert.deepEqual(Array.from(await op.data()), Array.from(x));
      op.dispose();
    }
    xt.dispose();
  });

  it("rejects unknown options and wrong shapes; disposes its grids", () => {
    assert.throws(() => new Mollifier({ stdRef: 1, resRef: 8, foo: 1 } as never), /unknown/);
    assert.throws(() => new Mollifier({ stdRef: -1, resRef: 8 }), /stdRef/);
    const g = new GridMollifier(4, 4, 1, 1);
    const bad = tf.zeros([1, 4, 5, 1]) as tf.Tensor4D;
    assert.throws(() => g.apply(bad), /expected/);
    tf.tidy(() => g.wiener(g.apply(tf.zeros([1, 4, 4, 1]) as tf.Tensor4D))); // operators built lazily, kept past the tidy
    const before = tf.memory().numTensors;
    g.dispose();
    assert.ok(tf.memory().numTensors < before);
    bad.dispose();
  });

  it("does not leak: apply / wiener / inverse after a burn-in", () => {
    const m = new Mollifier({ stdRef: 1, resRef: 8 });
    const x = tf.randomNormal([3, 8, 10, 2], 0, 1, "float32", 1) as tf.Tensor4D;
    const run = () => tf.dispose([m.apply(x), m.wiener(x), m.wiener(x, 0.1), m.inverse(x)]);
    run();
    const n = tf.memory().numTensors;
    run();
    run();
    assert.equal(tf.memory().numTensors, n);
    m.dispose();
    x.dispose();
  });
});
