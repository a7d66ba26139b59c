import { strict as assert } from "assert";
import {
  tf, initBackend, Rng, Mollifier, namedSchedule, spacedTimesteps, forwardProcessSteps, meanDiagTTt, nestedWhiteNoise,
  noiseFieldSteps, lagCorrelation, kernelResamplingSteps, discretisationInvariance, resampledKernelSize, subsetSteps,
  subsetCount, uniformSubsetMeanStd, recordTrajectory, ddim, priorSample, proceduralSpecs, renderProcedural, toTensor,
} from "infty-diff-lab";

const sch = namedSchedule("cosine", 1000);

describe("interactive figures' arrays (src/lib/pipelines/interactive)", () => {
  before(async () => { await initBackend(); });

  it("meanDiagTTt is the mean of Σ_j T_ij² of the dense mollifier (and 1 for T = I)", () => {
    const T = new Mollifier({ stdRef: 1, resRef: 12 });
    const r = 12, D = T.at(r, r).denseMatrix(), n = r * r;
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += D[i * n + j] ** 2;
    assert.ok(Math.abs(meanDiagTTt(T, r) / (s / n) - 1) < 1e-9, `${meanDiagTTt(T, r)} vs ${s / n}`);
    assert.equal(meanDiagTTt(Mollifier.identity(), 7), 1);
    T.dispose();
  });

  it("forward steps: white frames are Eq. 11 with T = I on the nested noise; variance readouts follow the closed form; no leak", () => {
    const T = new Mollifier({ stdRef: 1, resRef: 32 });
    const img = Float32Array.from({ length: 32 * 32 }, (_, i) => Math.sin(i / 40));
    const x0 = tf.tensor4d(img, [1, 32, 32, 1]);
    const ts = [0, 300, 999];
    forwardProcessSteps({ x0, resolutions: [32, 64], ts, schedule: sch, mollifier: T, seed: 3 }); // burn-in (T's caches)
    const before = tf.memory().numTensors;
    const s = forwardProcessSteps({ x0, resolutions: [32, 64], ts, schedule: sch, mollifier: T, seed: 3 });
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
    assert.deepEqual(s.ts, ts);
    ts.forEach((t, k) => {
      assert.equal(s.alphaBar[k], sch.alphasCumprod[t]);
      assert.ok(Math.abs(s.snr[k] - sch.alphasCumprod[t] / (1 - sch.alphasCumprod[t])) <= 1e-12 * s.snr[k]);
    });
    assert.deepEqual(s.panels.map((p) => `${p.kind}@${p.resolution}`), ["white@32", "mollified@32", "white@64", "mollified@64"]);
    // white at r₀: x_t = √ᾱ x₀ + √(1−ᾱ) ξ with ξ the nested draw, recomputed by hand
    const xi = nestedWhiteNoise(new Rng(3).normals(64 * 64), 1, 64, 1, 32);
    const w = s.panels[0];
    ts.forEach((t, k) => {
      const a = sch.alphasCumprod[t];
      let err = 0;
      for (let i = 0; i < 32 * 32; i++) err = Math.max(err, Math.abs(w.frames[k][i] - (Math.sqrt(a) * img[i] + Math.sqrt(1 - a) * xi[i])));
      assert.ok(err < 1e-5, `white frame at t=${t}: ${err}`);
      assert.ok(Math.abs(w.varianceTheory[k] - (1 - a)) < 1e-12);
    });
    for (const p of s.panels) {
      assert.equal(p.frames.length, ts.length);
      assert.equal(p.frames[0].length, p.resolution ** 2);
      const rel = p.varianceMeasured[2] / p.varianceTheory[2];
      assert.ok(Math.abs(rel - 1) < 0.35, `${p.kind}@${p.resolution}: measured/theory at t=999 = ${rel}`);
    }
    // the noise multiplier makes the mollified variance resolution-independent (within the DCT boundary effect)
    assert.ok(Math.abs(s.panels[3].varianceTheory[2] / s.panels[1].varianceTheory[2] - 1) < 0.1);
    x0.dispose();
    T.dispose();
  });

  it("lagCorrelation: a checkerboard correlates as (−1)^d; noise steps: T(cξ) = c·Tξ, variances near their closed forms", () => {
    const r = 6, v = Float32Array.from({ length: 2 * r * r }, (_, i) => ((Math.floor((i % (r * r)) / r) + (i % r)) % 2 ? -1 : 1));
    lagCorrelation(v, 2, r, 4).forEach((c, d) => assert.ok(Math.abs(c - (-1) ** d) < 1e-12, `lag ${d}: ${c}`));

    const T = new Mollifier({ stdRef: 1, resRef: 16 });
    const steps = noiseFieldSteps({ resolutions: [16, 64], mollifier: T, samples: 8, seed: 1, displayMax: 32 });
    assert.deepEqual(steps.map((s) => [s.resolution, s.stride, s.shown]), [[16, 1, 16], [64, 2, 32]]);
    for (const s of steps) {
      assert.equal(s.c, T.noiseMultiplier(s.resolution, s.resolution));
      s.fields.Tcxi.forEach((x, i) => assert.ok(Math.abs(x - s.c * s.fields.Txi[i]) <= 1e-5 * Math.max(1, Math.abs(x))));
      assert.ok(Math.abs(s.variance.xi - 1) < 0.1, `ξ variance ${s.variance.xi}`);
      assert.ok(Math.abs(s.variance.Tcxi / s.varianceTheory.Tcxi - 1) < 0.3, `T(cξ) ${s.variance.Tcxi} vs ${s.varianceTheory.Tcxi}`);
      assert.ok(Math.abs(s.varianceTheory.Txi - meanDiagTTt(T, s.resolution)) < 1e-12);
      assert.ok(Math.abs(s.corr.xi[0] - 1) < 1e-9);
      assert.ok(Math.abs(s.corr.xi[1]) < 0.1, `white noise decorrelates after one pixel: ${s.corr.xi[1]}`);
    }
    // on the fine grid, T(cξ)'s correlation at d = σ_c (4 px at 64) is exp(−1/4)
    const fine = steps[1], lag = 4;
    assert.ok(Math.abs(fine.distance[lag] - 1 / 16) < 1e-12);
    assert.ok(Math.abs(fine.corr.Tcxi[lag] - Math.exp(-0.25)) < 0.15, `corr at σ_c: ${fine.corr.Tcxi[lag]}`);
    T.dispose();
  });

  it("kernel steps: s = 1 keeps the kernel; errors are discretisationInvariance's; sizes are resampledKernelSize's", () => {
    const rng = new Rng(2);
    const kernel = tf.tensor3d(rng.normals(7 * 7 * 2), [7, 7, 2]);
    const specs = proceduralSpecs(1, new Rng(5), { channels: 2, sigma: [0.1, 0.25] });
    const field = (r: number) => toTensor(renderProcedural(specs, r));
    const steps = kernelResamplingSteps({ kernel, r0: 16, scales: [1, 2, 3], field });
    const ch0 = tf.tidy(() => tf.slice(kernel, [0, 0, 0], [-1, -1, 1]).dataSync());
    for (const mode of ["extent", "per-tap"] as const) {
      assert.equal(steps[0].size[mode], 7);
      steps[0].taps[mode].forEach((v, i) => assert.ok(Math.abs(v - ch0[i]) < 1e-5, `${mode} tap ${i}`));
    }
    assert.deepEqual(steps[0].error, { none: 0, "per-tap": 0, extent: 0 });
    const ref = discretisationInvariance({ kernel, r0: 16, scales: [2, 3], field });
    for (const s of steps.slice(1)) {
      for (const mode of ["none", "per-tap", "extent"] as const) {
        assert.equal(s.error[mode], ref.find((r) => r.scale === s.scale && r.mode === mode)!.relError);
      }
      for (const mode of ["extent", "per-tap"] as const) {
        assert.equal(s.size[mode], resampledKernelSize(7, 16, s.resolution, mode));
        assert.equal(s.taps[mode].length, s.size[mode] ** 2);
      }
      assert.ok(s.error.extent < s.error.none);
    }
    kernel.dispose();
  });

  it("subset steps: m points in (0,1)², zero error on the full grid, uniform RMSE near its closed form, QMC lower", () => {
    const H = 32, W = 32;
    const field = Float64Array.from({ length: H * W }, (_, i) => Math.sin((2 * Math.PI * (i % W)) / W) + Math.cos((2 * Math.PI * Math.floor(i / W)) / H) * 0.5);
    const steps = subsetSteps({ H, W, ratios: [1, 1 / 4, 1 / 16], seeds: 400, field, seed: 4 });
    for (const s of steps) {
      assert.equal(s.m, subsetCount(H, W, { ratio: s.ratio }));
      for (const k of ["uniform", "qmc"] as const) {
        assert.equal(s.points[k].x.length, s.m);
        assert.ok(s.points[k].x.every((x) => x > 0 && x < 1) && s.points[k].y.every((y) => y > 0 && y < 1));
      }
      assert.equal(s.rmseUniformTheory, uniformSubsetMeanStd(field, s.m));
    }
    assert.ok(steps[0].rmse.uniform < 1e-12 && steps[0].rmse.qmc < 1e-12);
    for (const s of steps.slice(1)) {
      assert.ok(Math.abs(s.rmse.uniform / s.rmseUniformTheory - 1) < 0.2, `uniform ${s.rmse.uniform} vs ${s.rmseUniformTheory}`);
      assert.ok(s.rmse.qmc < s.rmse.uniform);
    }
  });

  it("sampler trajectory: one record per step, the last state is ddim()'s Tx₀, x₀ is its Wiener filter; no leak", async () => {
    const T = new Mollifier({ stdRef: 1, resRef: 8 });
    // a fixed linear "network": predicts Tξ as a damped copy of x_t (deterministic, cheap)
    const denoise = (xt: tf.Tensor4D) => tf.mul(xt, 0.6) as tf.Tensor4D;
    const timesteps = spacedTimesteps(1000, 5);
    const xT = priorSample([2, 8, 8, 1], new Rng(1), T);
    const opts = { schedule: sch, mollifier: T, clipTx0: true };
    await recordTrajectory("ddim", denoise, xT, timesteps, opts); // burn-in (Wiener op cache)
    const before = tf.memory().numTensors;
    const tr = await recordTrajectory("ddim", denoise, xT, timesteps, opts);
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
    assert.deepEqual(tr.t, timesteps);
    assert.deepEqual(tr.s, [...timesteps.slice(1), -1]);
    assert.deepEqual(tr.shape, [2, 8, 8, 1]);
    assert.equal(tr.x.length, 5);
    const ref = await ddim(denoise, xT, timesteps, opts);
    const refTx0 = await ref.Tx0.data(), refX0 = await ref.x0.data();
    const last = tr.x.length - 1;
    refTx0.forEach((v, i) => assert.ok(Math.abs(tr.x[last][i] - v) < 1e-5 && Math.abs(tr.Tx0[last][i] - v) < 1e-5));
    refX0.forEach((v, i) => assert.ok(Math.abs(tr.x0[last][i] - v) < 1e-4, `x₀[${i}]`));
    tf.dispose([xT, ref.Tx0, ref.x0]);
    T.dispose();
  });
});
