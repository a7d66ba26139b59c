/**
 * The checks notebook 01 (mollified diffusion, step by step) used to assert, where no other test already holds them:
 * the schedule's end points, the mollifier's impulse response, Eq. 40 written out, and the emphasis of the Eq. 45 loss
 * and the printed Eq. 39 weight. (Schedule identities, Eq. 11 moments, App. B, Bayes' rule, the parameterisation round
 * trips, Eq. 44 and the Eq. 34 closed forms are in schedules/forward/posterior/parameterisations.test.ts.)
 */
import { strict as assert } from "assert";
import {
  initBackend, tf, namedSchedule, DEFAULT_CONFIG, Mollifier, Rng, qSample, posteriorSample, posteriorMean, stepCoefs, mse,
  x0LossWeights, maxAbsDiff, impulseResponse, scheduleIdentityErrors, appendixBErrors, forwardMoments, posteriorBySimulation,
} from "infty-diff-lab";

describe("mollified diffusion: notebook 01's derivation checks", () => {
  const cfg = DEFAULT_CONFIG;
  const r0 = cfg.model.resolution;
  const sch = namedSchedule(cfg.diffusion.schedule, cfg.diffusion.timesteps);
  before(async () => {
    await initBackend("cpu", { quiet: true });
  });

  it("the default schedule leaves almost no signal at t = T−1 and has β̃_t ≤ β_t", () => {
    assert.ok(sch.alphasCumprod[sch.T - 1] < 1e-4, `ᾱ_{T−1} = ${sch.alphasCumprod[sch.T - 1]}`);
    for (let t = 1; t < sch.T; t++) assert.ok(sch.betaTilde[t] <= sch.betas[t], `β̃ > β at t = ${t}`);
  });

  it("T's impulse response is a unit-mass Gaussian with the configured variance per axis, symmetric (28×28)", () => {
    const T = new Mollifier({ stdRef: cfg.diffusion.mollifierStd, resRef: r0 });
    const ir = impulseResponse(T, r0);
    T.dispose();
    assert.ok(Math.abs(ir.mass - 1) < 1e-4, `mass ${ir.mass}`);
    assert.ok(Math.abs(ir.variancePerAxis - cfg.diffusion.mollifierStd ** 2) < 1e-3, `variance per axis ${ir.variancePerAxis}`);
    assert.ok(ir.asymmetry < 1e-12, `max |Tᵗ − T| = ${ir.asymmetry}`);
    assert.ok(ir.conditionNumber > 1e3, `cond(T) on 28×28 = ${ir.conditionNumber}: its smallest DCT gain is tiny`);
  });

  it("schedule and App. B identities hold in float64 for every t (the statistics notebook 01 prints)", () => {
    const s = scheduleIdentityErrors(sch), b = appendixBErrors(sch);
    assert.ok(s.alphaBar < 1e-12 && s.betaTilde < 1e-12, JSON.stringify(s));
    for (const [k, v] of Object.entries(b)) assert.ok(v < 1e-10, `App. B ${k}: ${v}`); // 1/(1 − ᾱ_t) ≈ 10⁴ at t = 1
    // an identity that does not hold must show: a schedule with one β changed breaks ᾱ = ∏α
    const broken = { ...sch, betas: Float64Array.from(sch.betas, (b, t) => (t === 500 ? b * 1.5 : b)) };
    assert.ok(scheduleIdentityErrors(broken).alphaBar > 1e-6);
  });

  it("Eq. 11 and Eq. 12 by Monte Carlo from one image (28×28, 512 draws): z-scores have RMS ≈ 1, variance ratios ≈ 1", () => {
    const T = new Mollifier({ stdRef: 1, resRef: r0 });
    const rng = new Rng(17);
    const x0 = tf.tanh(rng.normalTensor<tf.Rank.R4>([1, r0, r0, 1]));
    const fwd = forwardMoments(T, sch, x0, [50, 300, 700], 512, rng);
    for (const r of fwd) assert.ok(Math.abs(r["RMS z of mean"] - 1) < 0.25 && Math.abs(r["var / theory"] - 1) < 0.05, JSON.stringify(r));
    const post = posteriorBySimulation(T, sch, x0, [50, 300, 700], 512, rng);
    for (const r of post) {
      assert.ok(Math.abs(r["RMS z of E[r]"] - 1) < 0.25 && Math.abs(r["RMS corr(r, x_t)·√N"] - 1) < 0.25, JSON.stringify(r));
      assert.ok(Math.abs(r["Var r / β̃ diag(TTᵗ)"] - 1) < 0.05, JSON.stringify(r));
      assert.ok(Math.abs(r["composed: RMS z of mean"] - 1) < 0.25 && Math.abs(r["composed: var / (1−ᾱ_{t−1}) diag(TTᵗ)"] - 1) < 0.05, JSON.stringify(r));
    }
    tf.dispose(x0);
    T.dispose();
  });

  it("Eq. 40 by hand (σ² = β̃, f = x₀) equals posteriorSample fed the same white noise", () => {
    const T = new Mollifier({ stdRef: 1, resRef: 8 });
    const rng = new Rng(3);
    const x0 = tf.tanh(rng.normalTensor<tf.Rank.R4>([4, 8, 8, 1]));
    const t = 300, c = stepCoefs(sch, t);
    const xt = qSample(x0, rng.normalTensor<tf.Rank.R4>([4, 8, 8, 1]), [t, t, t, t], sch, T);
    const lib = posteriorSample(xt, T.apply(x0), t, t - 1, sch, T, new Rng(7));
    const xi = new Rng(7).normalTensor<tf.Rank.R4>([4, 8, 8, 1]);
    const byHand = tf.tidy(() => tf.add(tf.mul(c.coefXt, xt), T.apply(tf.add(tf.mul(c.coefTx0, x0), tf.mul(Math.sqrt(c.betaTilde), xi)) as tf.Tensor4D)));
    const err = maxAbsDiff(byHand, lib);
    tf.dispose([x0, xt, lib, xi, byHand]);
    T.dispose();
    assert.ok(err < 1e-5, `max |Δ| = ${err}`);
  });

  it("Eq. 45 charges a white error more than a smooth one of the same size; the printed Eq. 39 weight is not Eq. 38's", () => {
    const T = new Mollifier({ stdRef: 1, resRef: 28 }); // 0.5 px on 14×14: well conditioned
    const rng = new Rng(5);
    const r = 14, tL = [50, 300, 600, 900];
    const ratio = (e: tf.Tensor) => tf.tidy(() => mse(T.inverse(e as tf.Tensor4D), tf.zerosLike(e)).dataSync()[0] / mse(e, tf.zerosLike(e)).dataSync()[0]);
    const white = tf.mul(0.2, rng.normalTensor([4, r, r, 1]));
    const smooth = tf.tidy(() => { const e = T.apply(rng.normalTensor<tf.Rank.R4>([4, r, r, 1])); return tf.mul(e, 0.2 / Math.sqrt(tf.moments(e).variance.dataSync()[0])); });
    assert.ok(ratio(white) > 1.5 * ratio(smooth), `‖T⁻¹e‖²/‖e‖²: white ${ratio(white)}, smooth ${ratio(smooth)}`);
    // x₀-prediction: Eq. 34 computed literally vs the printed Eq. 39 weight √ᾱ_{t−1}β_t / (2σ²(1−ᾱ_t)) with σ² = β_t
    const x0 = tf.tanh(rng.normalTensor<tf.Rank.R4>([4, r, r, 1]));
    const xt = qSample(x0, rng.normalTensor<tf.Rank.R4>([4, r, r, 1]), tL, sch, T);
    const f = tf.add(x0, white) as tf.Tensor4D;
    const literal = tf.tidy(() => {
      const d = tf.sub(posteriorMean(xt, T.apply(x0), tL, sch), posteriorMean(xt, T.apply(f), tL, sch)) as tf.Tensor4D;
      const perImage = tf.mean(tf.reshape(tf.square(T.inverse(d)), [4, -1]), 1);
      return tf.mean(tf.div(perImage, tf.mul(2, tf.tensor1d(tL.map((t) => sch.betas[t]))))).dataSync()[0];
    });
    const printed = tL.map((t) => (Math.sqrt(sch.alphasCumprodPrev[t]) * sch.betas[t]) / (2 * sch.betas[t] * (1 - sch.alphasCumprod[t])));
    const loss = (w: number[]) => tf.tidy(() => mse(f, x0, { weights: tf.tensor1d(w) }).dataSync()[0]);
    assert.ok(Math.abs(loss(x0LossWeights(sch, tL)) / literal - 1) < 1e-3, "the library's Eq. 38 weights give Eq. 34");
    assert.ok(Math.abs(loss(printed) / literal - 1) > 0.5, "the printed Eq. 39 weight does not");
    tf.dispose([white, smooth, x0, xt, f]);
    T.dispose();
  });
});
