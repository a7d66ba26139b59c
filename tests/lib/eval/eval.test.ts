import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  areaResize, disposeSharedFeatureNet, FEATURE_DIM, FeatureNet, Features, featureStats, fid, fidBetweenImages,
  fidBootstrap, fidFromStats, gaussianBlur, initBackend, kid, kidBetweenImages, loadFashionMnist, matMul64, Rng, sharedFeatureNet,
  sliceSet, sqrtPsd, symEig, tf, trainFeatureNet,
} from "infty-diff-lab";

/** An orthogonal matrix from two Householder reflections (independent of symEig). [n, n] */
function orthogonal(n: number, rng: Rng): Float64Array {
  let Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  for (let r = 0; r < 2; r++) {
    const v = Float64Array.from(rng.normals(n));
    const vv = v.reduce((a, x) => a + x * x, 0);
    const H = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H[i * n + j] = (i === j ? 1 : 0) - (2 * v[i] * v[j]) / vv;
    Q = matMul64(Q, H, n);
  }
  return Q;
}
/** Q diag(λ) Qᵀ */
function withSpectrum(Q: Float64Array, lam: number[]): Float64Array {
  const n = lam.length, out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += Q[i * n + k] * lam[k] * Q[j * n + k];
    out[i * n + j] = s;
  }
  return out;
}
const gaussianFeatures = (n: number, mean: number[], std: number[], rng: Rng): Features => {
  const d = mean.length, values = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) values[i * d + j] = mean[j] + std[j] * rng.normal();
  return { values, n, d };
};

describe("eval: float64 linear algebra", () => {
  it("symEig reconstructs a symmetric matrix with orthonormal vectors; sqrtPsd squares back", () => {
    const n = 40, rng = new Rng(1);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = rng.normal();
    const { values, vectors: V } = symEig(A, n);
    let err = 0, orth = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0, o = 0;
      for (let k = 0; k < n; k++) { s += V[i * n + k] * values[k] * V[j * n + k]; o += V[k * n + i] * V[k * n + j]; }
      err = Math.max(err, Math.abs(s - A[i * n + j]));
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
    }
    assert.ok(err < 1e-12 && orth < 1e-12, `reconstruction ${err}, orthogonality ${orth}`);
    const P = withSpectrum(orthogonal(n, rng), Array.from({ length: n }, (_, k) => (k + 1) / 7));
    const S = sqrtPsd(P, n), S2 = matMul64(S, S, n);
    let e2 = 0;
    for (let i = 0; i < n * n; i++) e2 = Math.max(e2, Math.abs(S2[i] - P[i]));
    assert.ok(e2 < 1e-12, `sqrt² error ${e2}`);
  });
});

describe("eval: FID and KID", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("FID of two non-commuting 2×2 Gaussians matches the closed form", () => {
    // For 2×2 PSD M: tr √M = √(tr M + 2√det M), with tr M = tr Σ₁Σ₂ and det M = det Σ₁ det Σ₂.
    const s1 = Float64Array.from([2, 0.5, 0.5, 1]), s2 = Float64Array.from([1, -0.3, -0.3, 3]);
    const mu1 = Float64Array.from([0.5, -1]), mu2 = Float64Array.from([1.5, 1]);
    const trProd = 2 * 1 + 0.5 * -0.3 + 0.5 * -0.3 + 1 * 3;
    const det = (2 * 1 - 0.25) * (3 - 0.09);
    const expected = 1 + 4 + (3 + 4) - 2 * Math.sqrt(trProd + 2 * Math.sqrt(det));
    const got = fidFromStats({ mu: mu1, sigma: s1, d: 2 }, { mu: mu2, sigma: s2, d: 2 });
    assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
    const back = fidFromStats({ mu: mu2, sigma: s2, d: 2 }, { mu: mu1, sigma: s1, d: 2 });
    assert.ok(Math.abs(back - expected) < 1e-12, "symmetric");
  });

  it("FID at d = 128: identity vs a rotated spectrum gives d + Σλ − 2Σ√λ; equal Gaussians give 0", () => {
    const d = 128, rng = new Rng(2);
    const lam = Array.from({ length: d }, () => 0.05 + 3 * rng.next());
    const S2 = withSpectrum(orthogonal(d, rng), lam);
    const I = new Float64Array(d * d);
    for (let i = 0; i < d; i++) I[i * d + i] = 1;
    const zero = new Float64Array(d);
    const expected = d + lam.reduce((a, l) => a + l, 0) - 2 * lam.reduce((a, l) => a + Math.sqrt(l), 0);
    const got = fidFromStats({ mu: zero, sigma: I, d }, { mu: zero, sigma: S2, d });
    assert.ok(Math.abs(got - expected) < 1e-9 * Math.max(1, expected), `${got} vs ${expected}`);
    assert.ok(fidFromStats({ mu: zero, sigma: S2, d }, { mu: zero, sigma: S2, d }) < 1e-9);
  });

  it("FID from samples approaches the Gaussian answer", () => {
    const rng = new Rng(3);
    const a = gaussianFeatures(20000, [0, 0, 0, 0], [1, 1, 1, 1], rng);
    const b = gaussianFeatures(20000, [1, 0, -1, 0.5], [2, 2, 2, 2], rng);
    const expected = 1 + 1 + 0.25 + 4 * (2 - 1) ** 2;
    assert.ok(Math.abs(fid(a, b) - expected) < 0.15, `${fid(a, b)} vs ${expected}`);
    const s = featureStats(a);
    assert.ok(Math.abs(s.sigma[0] - 1) < 0.05 && Math.abs(s.sigma[1]) < 0.05);
  });

  it("FID's bootstrap spread matches the spread over independent redraws of the samples", () => {
    const rng = new Rng(5), d = 4, n = 400;
    const ref = gaussianFeatures(2000, [0, 0, 0, 0], [1, 1, 1, 1], rng);
    const draw = () => gaussianFeatures(n, [0.3, 0, -0.2, 0], [1.3, 1, 0.8, 1], rng);
    // the truth: FID of 60 independent sample sets of the same model against the fixed reference
    const redraws = Array.from({ length: 60 }, () => fid(draw(), ref));
    const m = redraws.reduce((a, x) => a + x, 0) / redraws.length;
    const trueStd = Math.sqrt(redraws.reduce((a, x) => a + (x - m) ** 2, 0) / (redraws.length - 1));
    const a = draw();
    const boot = fidBootstrap(a, ref, { resamples: 200, seed: 1 });
    assert.equal(boot.fid, fid(a, ref));
    assert.ok(boot.std > trueStd / 1.6 && boot.std < trueStd * 1.6, `bootstrap std ${boot.std} vs redraws ${trueStd}`);
    assert.ok(Math.abs(boot.interval95[0] + boot.interval95[1] - 2 * boot.fid) < 1e-12, "centred on the estimate");
    assert.ok(boot.bias > 0, `resampling repeats points, which raises FID: bias ${boot.bias}`);
    assert.deepEqual(fidBootstrap(a, ref, { resamples: 200, seed: 1 }), boot, "deterministic for a seed");
    assert.throws(() => fidBootstrap(a, ref, { resamples: 1 }), /resamples must be an integer ≥ 2/);
  });

  it("KID equals a brute-force unbiased MMD² on one full subset, and separates distributions", () => {
    const rng = new Rng(4), n = 7, d = 3;
    const a = gaussianFeatures(n, [0, 0, 0], [1, 1, 1], rng), b = gaussianFeatures(n, [1, 0, 0], [1, 1, 1], rng);
    const k = (x: Float32Array, i: number, y: Float32Array, j: number) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[i * d + c] * y[j * d + c];
      return (s / d + 1) ** 3;
    };
    let xx = 0, yy = 0, xy = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if (i !== j) { xx += k(a.values, i, a.values, j); yy += k(b.values, i, b.values, j); }
      xy += k(a.values, i, b.values, j);
    }
    const ref = (xx + yy) / (n * (n - 1)) - (2 * xy) / (n * n);
    const got = kid(a, b, { subsets: 1, subsetSize: n });
    assert.ok(Math.abs(got.mean - ref) < 1e-5 * Math.abs(ref), `${got.mean} vs ${ref}`);
    const p = gaussianFeatures(1500, [0, 0, 0, 0], [1, 1, 1, 1], rng), q = gaussianFeatures(1500, [0, 0, 0, 0], [1, 1, 1, 1], rng);
    const r = gaussianFeatures(1500, [0.5, 0, 0, 0], [1, 1, 1, 1], rng);
    const same = kid(p, q, { subsets: 20, subsetSize: 500 }), diff = kid(p, r, { subsets: 20, subsetSize: 500 });
    assert.ok(Math.abs(same.mean) < 3 * same.std + 1e-3, `same ${same.mean} ± ${same.std}`);
    assert.ok(diff.mean > 10 * Math.abs(same.mean) && diff.mean > 3 * diff.std, `diff ${diff.mean} vs same ${same.mean}`);
  });
});

describe("eval: feature network", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });
  after(() => disposeSharedFeatureNet());

  it("trains: loss falls over two short epochs, seeded runs agree, accuracy far above chance", async () => {
    const test = loadFashionMnist({ split: "test", limit: 300 });
    const cfg = { epochs: 2, limit: 256, batchSize: 32, seed: 1 };
    const r1 = await trainFeatureNet(cfg, { test });
    const r2 = await trainFeatureNet({ ...cfg, epochs: 1 }, { test });
    try {
      assert.ok(r1.record.lossByEpoch[1] < r1.record.lossByEpoch[0], `${r1.record.lossByEpoch}`);
      assert.ok(Math.abs(r2.record.lossByEpoch[0] - r1.record.lossByEpoch[0]) < 1e-4, "seeded");
      assert.ok(r1.record.testAccuracy > 0.4, `accuracy ${r1.record.testAccuracy}`);
      assert.equal(r1.record.trainImages, 256);
    } finally {
      r1.net.dispose(); r2.net.dispose();
    }
  });

  it("saves atomically and loads back the same features; a corrupt weights file is refused", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fnet-"));
    const net = new FeatureNet(new Rng(9));
    const x = loadFashionMnist({ split: "test", limit: 8 });
    try {
      net.save(dir, null);
      assert.deepEqual(fs.readdirSync(dir).sort(), ["model.json", "weights.bin"]);
      const back = FeatureNet.load(dir);
      const [fa, fb] = [await net.features(x), await back.features(x)];
      back.dispose();
      assert.deepEqual(fa.values, fb.values);
      const w = fs.readFileSync(path.join(dir, "weights.bin"));
      w[100] ^= 0xff;
      fs.writeFileSync(path.join(dir, "weights.bin"), w);
      assert.throws(() => FeatureNet.load(dir), /sha256 does not match/);
      assert.throws(() => FeatureNet.load(path.join(dir, "absent")), /cannot read feature net manifest/);
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("features: [N, 128], resolution- and channel-independent by exact area resizing, no leaks", async () => {
    const net = sharedFeatureNet();
    const x = loadFashionMnist({ split: "test", limit: 20 });
    const f28 = await net.features(x);
    assert.equal(f28.n, 20);
    assert.equal(f28.d, FEATURE_DIM);
    assert.equal(f28.values.length, 20 * 128);
    // 56×56 area-upsampled (pixel repetition) is area-resized back to exactly the 28×28 image
    const f56 = await net.features(areaResize(x, 56));
    let m = 0;
    for (let i = 0; i < f28.values.length; i++) m = Math.max(m, Math.abs(f28.values[i] - f56.values[i]));
    assert.ok(m < 1e-4, `56 vs 28 ${m}`);
    const rgb = { images: new Float32Array(20 * 784 * 3), shape: [20, 28, 28, 3] as [number, number, number, number] };
    for (let p = 0; p < 20 * 784; p++) for (let c = 0; c < 3; c++) rgb.images[3 * p + c] = x.images[p];
    assert.deepEqual((await net.features(rgb)).values, f28.values);
    const t = tf.tensor4d(x.images, x.shape);
    const before = tf.memory().numTensors;
    const ft = await net.features(t);
    assert.equal(tf.memory().numTensors, before, "features leaked tensors");
    t.dispose();
    assert.deepEqual(ft.values, f28.values);
  });

  it("the committed network reproduces its recorded test accuracy, which is ≥ 90%", async () => {
    const net = sharedFeatureNet();
    assert.ok(net.record && net.record.testAccuracy >= 0.9, `record ${JSON.stringify(net.record)}`);
    const acc = await net.accuracy(loadFashionMnist({ split: "test" }));
    assert.ok(Math.abs(acc - net.record.testAccuracy) <= 2e-4, `measured ${acc} vs recorded ${net.record.testAccuracy}`);
  });

  it("sanity: FID(test, holdout) < FID(test, blurred test σ=1) < FID(test, noise); KID in the same order", async () => {
    const n = 1500;
    const test = loadFashionMnist({ split: "test", limit: 2 * n });
    const a = sliceSet(test, 0, n);
    const hold = loadFashionMnist({ split: "holdout", limit: n });
    const blur = gaussianBlur(sliceSet(test, n, 2 * n), 1);
    const rng = new Rng(5);
    const noise = { images: Float32Array.from({ length: n * 784 }, () => 2 * rng.next() - 1), shape: [n, 28, 28, 1] as [number, number, number, number] };
    const fHold = await fidBetweenImages(a, hold), fBlur = await fidBetweenImages(a, blur), fNoise = await fidBetweenImages(a, noise);
    console.log(`      FID(test, holdout) ${fHold.toFixed(3)}  FID(test, blur σ=1) ${fBlur.toFixed(3)}  FID(test, noise) ${fNoise.toFixed(3)}`);
    assert.ok(fHold < fBlur && fBlur < fNoise, `${fHold} ${fBlur} ${fNoise}`);
    assert.ok(fHold < 0.5 * fBlur, "held-out real data should be clearly closer than blurred data");
    const kHold = await kidBetweenImages(a, hold, { subsets: 20, subsetSize: 500 });
    const kBlur = await kidBetweenImages(a, blur, { subsets: 20, subsetSize: 500 });
    console.log(`      KID(test, holdout) ${kHold.mean.toExponential(3)}  KID(test, blur) ${kBlur.mean.toExponential(3)}`);
    assert.ok(kHold.mean < kBlur.mean, `${kHold.mean} ${kBlur.mean}`);
  });
});
