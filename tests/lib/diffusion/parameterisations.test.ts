import { strict as assert } from "assert";
import {
  initBackend, tf, cosineSchedule, linearSchedule, qSample, Mollifier, Rng, PARAMETERISATIONS, parameterisation, mse,
  x0LossWeights, mollifiedEpsLossWeights, stepCoefs, posteriorMean,
} from "infty-diff-lab";
import { maxAbsDiff } from "../../helpers/dense";
import { assertNoLeak } from "../../helpers/leak";

const sumSq = async (x: tf.Tensor) => {
  const s = tf.sum(tf.square(x));
  const v = (await s.data())[0];
  s.dispose();
  return v;
};

describe("parameterisations and losses (∞-Diff App. B.2)", () => {
  before(async () => {
    await initBackend("cpu", { quiet: true });
  });

  it("each parameterisation's target, fed back as the model output, recovers Tx₀ and Tξ", async () => {
    const sch = cosineSchedule(1000);
    const moll = new Mollifier({ stdRef: 1, resRef: 8 });
    const ctx = { schedule: sch, mollifier: moll };
    const rng = new Rng(31);
    const x0 = rng.normalTensor<tf.Rank.R4>([4, 8, 8, 2]), xi = rng.normalTensor<tf.Rank.R4>([4, 8, 8, 2]);
    const ts = [5, 250, 600, 990];
    const xt = qSample(x0, xi, ts, sch, moll);
    const Tx0 = moll.apply(x0), Txi = moll.apply(xi);
    for (const p of Object.values(PARAMETERISATIONS)) {
      const target = p.target(x0, xi, ts, ctx);
      const pred = p.predict(target, xt, ts, ctx);
      const e0 = maxAbsDiff(await pred.Tx0.data(), await Tx0.data());
      const e1 = maxAbsDiff(await pred.Txi.data(), await Txi.data());
      // Tx₀ from a predicted Tξ divides by √ᾱ_t (≈ 0.1 at t = 990): float32 error grows accordingly
      assert.ok(e0 < 2e-4 && e1 < 2e-4, `${p.name}: Tx0 err ${e0}, Txi err ${e1}`);
      tf.dispose([target, pred.Tx0, pred.Txi]);
    }
    // mollified ε's target is Tξ (Eq. 46); x₀'s is x₀ (Eq. 39)
    const tm = PARAMETERISATIONS.mollifiedEps.target(x0, xi, ts, ctx);
    assert.equal(maxAbsDiff(await tm.data(), await Txi.data()), 0);
    assert.throws(() => parameterisation("score" as never), /unknown/);
    tf.dispose([x0, xi, xt, Tx0, Txi, tm]);
    moll.dispose();
  });

  it("Eq. 44 mean (x_t − β_t/√(1−ᾱ_t)·f_θ)/√α_t equals Eq. 12's μ̃ with the implied Tx̂₀", async () => {
    const sch = linearSchedule(1000);
    const moll = new Mollifier({ stdRef: 1, resRef: 8 });
    const rng = new Rng(32);
    const xt = rng.normalTensor<tf.Rank.R4>([2, 8, 8, 1]), f = rng.normalTensor<tf.Rank.R4>([2, 8, 8, 1]);
    for (const t of [1, 100, 999]) {
      const c = stepCoefs(sch, t);
      const eq44 = tf.tidy(() => tf.div(tf.sub(xt, tf.mul(sch.betas[t] / Math.sqrt(1 - sch.alphasCumprod[t]), f)), Math.sqrt(sch.alphas[t])));
      const { Tx0, Txi } = PARAMETERISATIONS.mollifiedEps.predict(f, xt, [t, t], { schedule: sch, mollifier: moll });
      const mu = posteriorMean(xt, Tx0, [t, t], sch);
      const err = maxAbsDiff(await eq44.data(), await mu.data());
      assert.ok(err < 2e-5, `t=${t}: ${err} (coefs ${c.coefTx0}, ${c.coefXt})`);
      tf.dispose([eq44, Tx0, Txi, mu]);
    }
    tf.dispose([xt, f]);
    moll.dispose();
  });

  it("loss weights: Eq. 34 ½σ⁻²‖T⁻¹(μ̃ − μ_θ)‖² equals w·‖x₀ − f‖² (Eqs. 36–39) and w·‖T⁻¹(f − Tξ)‖² (Eqs. 44–45)", async () => {
    const sch = cosineSchedule(1000);
    const moll = new Mollifier({ stdRef: 1, resRef: 16 }); // σ = 0.5 px on 8×8: T⁻¹ well conditioned
    const rng = new Rng(33);
    const x0 = rng.normalTensor<tf.Rank.R4>([1, 8, 8, 1]), xi = rng.normalTensor<tf.Rank.R4>([1, 8, 8, 1]);
    const f = rng.normalTensor<tf.Rank.R4>([1, 8, 8, 1]);
    for (const t of [3, 300, 900]) {
      for (const sigma of ["beta", "betaTilde"] as const) {
        const s2 = sigma === "beta" ? sch.betas[t] : sch.betaTilde[t];
        const xt = qSample(x0, xi, [t], sch, moll);
        const Tx0 = moll.apply(x0), Txi = moll.apply(xi);
        const muTilde = posteriorMean(xt, Tx0, [t], sch);
        // x₀ prediction: μ_θ = Eq. 36
        const muX0 = posteriorMean(xt, moll.apply(f), [t], sch);
        const lhs1 = (await sumSq(moll.inverse(tf.sub(muTilde, muX0) as tf.Tensor4D))) / (2 * s2);
        const rhs1 = x0LossWeights(sch, [t], sigma)[0] * (await sumSq(tf.sub(x0, f)));
        assert.ok(Math.abs(lhs1 - rhs1) < 1e-3 * rhs1, `x0 t=${t} ${sigma}: ${lhs1} vs ${rhs1}`);
        // mollified ε: μ_θ = Eq. 44
        const muEps = tf.div(tf.sub(xt, tf.mul(sch.betas[t] / Math.sqrt(1 - sch.alphasCumprod[t]), f)), Math.sqrt(sch.alphas[t])) as tf.Tensor4D;
        const lhs2 = (await sumSq(moll.inverse(tf.sub(muTilde, muEps) as tf.Tensor4D))) / (2 * s2);
        const rhs2 = mollifiedEpsLossWeights(sch, [t], sigma)[0] * (await sumSq(moll.inverse(tf.sub(f, Txi) as tf.Tensor4D)));
        assert.ok(Math.abs(lhs2 - rhs2) < 2e-3 * rhs2, `eps t=${t} ${sigma}: ${lhs2} vs ${rhs2}`);
        tf.dispose([xt, Tx0, Txi, muTilde, muX0, muEps]);
      }
    }
    tf.dispose([x0, xi, f]);
    moll.dispose();
  });

  it("mse (Eq. 46) works on full grids, gathered points [B,M,C] and with a mask / per-batch weights", async () => {
    const rng = new Rng(34);
    const a = rng.normals(2 * 5 * 3), b = rng.normals(2 * 5 * 3);
    const pa = tf.tensor3d(a, [2, 5, 3]), pb = tf.tensor3d(b, [2, 5, 3]);
    let ref = 0;
    for (let i = 0; i < a.length; i++) ref += (a[i] - b[i]) ** 2;
    ref /= a.length;
    const l = mse(pa, pb);
    assert.ok(Math.abs((await l.data())[0] - ref) < 1e-5);
    // mask: points 0 and 3 of item 0, all of item 1; mean per item, then over the batch
    const maskArr = [1, 0, 0, 1, 0, 1, 1, 1, 1, 1];
    const mask = tf.tensor3d(maskArr, [2, 5, 1]);
    const per = [0, 0], cnt = [0, 0];
    for (let bi = 0; bi < 2; bi++)
      for (let m = 0; m < 5; m++)
        for (let c = 0; c < 3; c++) {
          if (!maskArr[bi * 5 + m]) continue;
          const k = (bi * 5 + m) * 3 + c;
          per[bi] += (a[k] - b[k]) ** 2;
          cnt[bi]++;
        }
    const w = tf.tensor1d([2, 0.5]);
    const lm = mse(pa, pb, { mask, weights: w });
    const want = (2 * (per[0] / cnt[0]) + 0.5 * (per[1] / cnt[1])) / 2;
    assert.ok(Math.abs((await lm.data())[0] - want) < 1e-5);
    tf.dispose([pa, pb, l, mask, w, lm]);
  });

  it("does not leak", () => {
    const sch = cosineSchedule(100);
    const moll = new Mollifier({ stdRef: 1, resRef: 8 });
    const ctx = { schedule: sch, mollifier: moll };
    const x = tf.ones([2, 8, 8, 1]) as tf.Tensor4D;
    const run = () => {
      for (const p of Object.values(PARAMETERISATIONS)) {
        const tg = p.target(x, x, [3, 4], ctx);
        const pr = p.predict(tg, x, [3, 4], ctx);
        tf.dispose([tg, pr.Tx0, pr.Txi, mse(tg, x)]);
      }
    };
    assertNoLeak(run);
    x.dispose();
    moll.dispose();
  });
});
