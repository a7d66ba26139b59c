import { strict as assert } from "assert";
import { cosineSchedule, linearSchedule, namedSchedule, scheduleFromBetas, spacedTimesteps, stepCoefs, alphaBar, checkTimesteps } from "infty-diff-lab";

describe("schedules (∞-Diff §2.1, App. A)", () => {
  it("cosine: ᾱ_t = f(t+1)/f(0) with f(u) = cos²((u/T + s)/(1+s)·π/2) wherever β is not clipped", () => {
    const T = 1000, s = 0.008;
    const sch = cosineSchedule(T);
    const f = (u: number) => Math.cos(((u / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    let clipped = 0;
    for (let t = 0; t < T; t++) {
      assert.ok(sch.betas[t] > 0 && sch.betas[t] <= 0.999);
      if (sch.betas[t] === 0.999) clipped++;
      else if (clipped === 0) assert.ok(Math.abs(sch.alphasCumprod[t] - f(t + 1) / f(0)) < 1e-12 * Math.max(1, 1 / sch.alphasCumprod[t]) + 1e-15, `t=${t}`);
    }
    // only the final step hits the clip (ᾱ(1) = 0 would make β_{T−1} = 1)
    assert.equal(clipped, 1);
    assert.equal(sch.betas[T - 1], 0.999);
    assert.ok(sch.alphasCumprod[T - 1] < 1e-8 && sch.alphasCumprod[0] > 0.9999);
    // β increases monotonically
    for (let t = 1; t < T; t++) assert.ok(sch.betas[t] >= sch.betas[t - 1]);
  });

  it("linear: 1e-4 … 0.02 at T = 1000, scaled for other T; derived tables consistent", () => {
    const sch = linearSchedule(1000);
    assert.ok(Math.abs(sch.betas[0] - 1e-4) < 1e-15 && Math.abs(sch.betas[999] - 0.02) < 1e-15);
    const s2 = linearSchedule(500);
    assert.ok(Math.abs(s2.betas[499] - 0.04) < 1e-15);
    for (const x of [sch, namedSchedule("cosine", 200)]) {
      let prod = 1;
      for (let t = 0; t < x.T; t++) {
        assert.equal(x.alphasCumprodPrev[t], prod);
        prod *= 1 - x.betas[t];
        assert.ok(Math.abs(x.alphasCumprod[t] - prod) < 1e-15);
        const bt = ((1 - (t === 0 ? 1 : x.alphasCumprod[t - 1])) / (1 - x.alphasCumprod[t])) * x.betas[t];
        assert.ok(Math.abs(x.betaTilde[t] - bt) < 1e-15);
      }
      assert.equal(x.betaTilde[0], 0);
    }
    assert.throws(() => scheduleFromBetas([0.1, 0]), /outside/);
    assert.throws(() => namedSchedule("quadratic" as never), /unknown schedule/);
  });

  it("spaced timesteps: descending, from T−1 to 0, evenly spaced", () => {
    assert.deepEqual(spacedTimesteps(1000, 1000), Array.from({ length: 1000 }, (_, i) => 999 - i));
    const ts = spacedTimesteps(1000, 50);
    assert.equal(ts.length, 50);
    assert.equal(ts[0], 999);
    assert.equal(ts[49], 0);
    for (let i = 1; i < 50; i++) {
      const gap = ts[i - 1] - ts[i];
      assert.ok(gap === 20 || gap === 21, `gap ${gap}`);
    }
    assert.deepEqual(spacedTimesteps(10, 1), [9]);
    assert.throws(() => checkTimesteps(namedSchedule("cosine", 10), [5, 5]), /descending/);
    assert.throws(() => checkTimesteps(namedSchedule("cosine", 10), [10, 5]), /outside/);
  });

  it("step coefficients: s = t−1 gives the original β_t, β̃_t; respaced α's compose; ᾱ_{−1} = 1", () => {
    const sch = cosineSchedule(1000);
    for (const t of [1, 17, 500, 999]) {
      const c = stepCoefs(sch, t);
      assert.ok(Math.abs(c.beta - sch.betas[t]) < 1e-12 && Math.abs(c.betaTilde - sch.betaTilde[t]) < 1e-12);
    }
    const c0 = stepCoefs(sch, 0);
    assert.equal(c0.abarS, 1);
    assert.ok(Math.abs(c0.beta - sch.betas[0]) < 1e-15);
    // α(t→u)·α(u→s) = α(t→s)
    const a = stepCoefs(sch, 800, 450).alpha * stepCoefs(sch, 450, 100).alpha;
    assert.ok(Math.abs(a - stepCoefs(sch, 800, 100).alpha) < 1e-14);
    // the last step of a sampler lands on x₀: μ̃ = Tx₀
    const last = stepCoefs(sch, 20, -1);
    assert.ok(Math.abs(last.coefTx0 - 1) < 1e-12 && Math.abs(last.coefXt) < 1e-12 && Math.abs(last.betaTilde) < 1e-12);
    assert.equal(alphaBar(sch, -1), 1);
    assert.throws(() => stepCoefs(sch, 5, 5), /s < t/);
  });
});
