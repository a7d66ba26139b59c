import { strict as assert } from "assert";
import { sharedRange, noiseFieldsFigure } from "infty-diff-lab/viz";
import { Rng, pixelVariance, correlationVsDistance, fft, powerSpectrum2d, radialPowerSpectrum, radialDctPowerSpectrum, meanOf } from "infty-diff-lab";

describe("viz: noise-field views and statistics", () => {
  it("sharedRange: symmetric max |v| across all fields, raw min/max, and a quantile clip", () => {
    assert.deepEqual(sharedRange([[0.5, -0.2], Float32Array.from([0.1, -3])]), [-3, 3]);
    assert.deepEqual(sharedRange([[0.5, -0.2], [0.1, 2]], { symmetric: false }), [-0.2, 2]);
    const xs = Array.from({ length: 101 }, (_, i) => i - 50); // |v| = 0…50, one outlier added below
    xs.push(1000);
    const [lo, hi] = sharedRange([xs], { quantile: 0.9 });
    assert.equal(hi, -lo);
    assert.ok(hi >= 44 && hi <= 46, `0.9-quantile of |v| ≈ 45, got ${hi}`);
    assert.throws(() => sharedRange([[]]), /at least one value/);
  });

  it("noise-field figure: one heatmap per resolution, all on the shared colour axis, same unit extent", () => {
    const a = { label: "4×4", values: Array.from({ length: 16 }, (_, i) => i / 8 - 1), h: 4, w: 4 };
    const b = { label: "8×8", values: Array.from({ length: 64 }, (_, i) => (i % 3) * 0.5), h: 8, w: 8 };
    const fig = noiseFieldsFigure([a, b], { title: "white noise" });
    assert.equal(fig.data.length, 2);
    assert.deepEqual(fig.data.map((t) => t.coloraxis), ["coloraxis", "coloraxis"]);
    assert.deepEqual(fig.data.map((t) => [t.xaxis, t.yaxis]), [["x", "y"], ["x2", "y2"]]);
    const [cmin, cmax] = sharedRange([a.values, b.values]);
    assert.deepEqual([(fig.layout.coloraxis as any).cmin, (fig.layout.coloraxis as any).cmax], [cmin, cmax]);
    assert.equal(cmax, 1);
    assert.equal((fig.data[1].z as number[][]).length, 8);
    assert.deepEqual((fig.data[1].x as number[]).slice(0, 2), [1 / 16, 3 / 16]);
    assert.deepEqual((fig.layout.xaxis2 as any).title, { text: "8×8" });
    assert.deepEqual((fig.layout.grid as any), { rows: 1, columns: 2, pattern: "independent" });
  });

  it("fft matches a direct DFT; white noise has variance 1, no correlation at d > 0 and a flat spectrum", () => {
    const n = 16, rng = new Rng(3);
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const re = Float64Array.from(x), im = new Float64Array(n);
    fft(re, im);
    for (let k = 0; k < n; k++) {
      let r = 0, i = 0;
      for (let j = 0; j < n; j++) { r += x[j] * Math.cos((2 * Math.PI * j * k) / n); i -= x[j] * Math.sin((2 * Math.PI * j * k) / n); }
      assert.ok(Math.abs(re[k] - r) < 1e-9 && Math.abs(im[k] - i) < 1e-9, `bin ${k}`);
    }
    // Parseval for the 2-D power: Σ|F|²/(HW) = Σ x²
    const f = Float64Array.from({ length: 64 }, () => rng.normal());
    const p = powerSpectrum2d(f, 8, 8);
    const energy = f.reduce((acc, v) => acc + v * v, 0);
    assert.ok(Math.abs(p.reduce((acc, v) => acc + v, 0) - energy) < 1e-9 * energy, "Parseval");

    const S = 8, H = 32, W = 32;
    const samples = Float32Array.from({ length: S * H * W }, () => rng.normal());
    const v = pixelVariance(samples, S, H, W);
    assert.ok(Math.abs(meanOf(v) - 1) < 0.05, `mean variance ${meanOf(v)}`);
    const c = correlationVsDistance(samples, S, H, W, 0.1);
    assert.deepEqual(c.offset, [0, 1, 2, 3, 4]);
    assert.deepEqual(c.distance, [0, 1 / 32, 2 / 32, 3 / 32, 4 / 32]);
    assert.equal(c.corr[0], 1);
    for (const r of c.corr.slice(1)) assert.ok(Math.abs(r) < 0.05, `white noise correlation ${r}`);
    const sp = radialPowerSpectrum(samples, S, H, W);
    assert.equal(sp.freq.length, 16);
    assert.ok(sp.power.every((q) => Math.abs(q - 1) < 0.35), `flat spectrum ≈ 1: ${sp.power.map((q) => q.toFixed(2))}`);
  });

  it("a smoothed field is positively correlated at short distance and its spectrum falls with frequency", () => {
    const S = 4, H = 32, W = 32, rng = new Rng(5);
    const white = Float64Array.from({ length: S * H * W }, () => rng.normal());
    // 3-tap periodic box blur along rows and columns
    const sm = new Float64Array(white.length);
    for (let s = 0; s < S; s++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) acc += white[s * H * W + ((y + dy + H) % H) * W + ((x + dx + W) % W)];
      sm[s * H * W + y * W + x] = acc / 9;
    }
    const c = correlationVsDistance(sm, S, H, W, 0.1);
    // box of width 3: correlation at lag 1 is 2/3, at lag 3 zero
    assert.ok(Math.abs(c.corr[1] - 2 / 3) < 0.06, `lag-1 correlation ${c.corr[1]}`);
    assert.ok(Math.abs(c.corr[3]) < 0.06, `lag-3 correlation ${c.corr[3]}`);
    const sp = radialPowerSpectrum(sm, S, H, W);
    assert.ok(sp.power[0] > 5 * sp.power[10], "low frequencies dominate");
  });

  it("radial DCT spectrum: bins by round(√(k_h²+k_w²)), frequency ρ/2, per-area scaling, white → 1", () => {
    const H = 8, W = 8;
    const X = new Float64Array(H * W);
    X[0 * W + 3] = 2; X[3 * W + 0] = 2; // two coefficients of power 4 at ρ = 3
    let n3 = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (Math.round(Math.hypot(y, x)) === 3) n3++;
    const sp = radialDctPowerSpectrum(X, 1, H, W);
    assert.deepEqual(sp.freq, [0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
    assert.ok(Math.abs(sp.power[2] - 8 / n3) < 1e-12);
    assert.equal(sp.power[0], 0);
    assert.ok(Math.abs(radialDctPowerSpectrum(X, 1, H, W, { perArea: true }).power[2] - 8 / n3 / 64) < 1e-12);
    const rng = new Rng(9);
    const white = Float32Array.from({ length: 4 * 32 * 32 }, () => rng.normal());
    const ws = radialDctPowerSpectrum(white, 4, 32, 32);
    assert.ok(ws.power.slice(3).every((q) => Math.abs(q - 1) < 0.4), "white noise is flat");
  });
});
