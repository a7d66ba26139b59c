/**
 * The wasm backend's f32x4 pointwise kernels (runtime/wasm-kernels/pointwise.ts) against float64 formulas and
 * against the float64 JS kernels they replace (the cpu backend's, and wasm's with `setWasmPointwise(false)`).
 */
import { strict as assert } from "assert";
import {
  initBackend, withBackend, tf, Rng, gelu, setWasmPointwise, modulatedLayerNorm, groupNormSilu,
} from "infty-diff-lab";

const GC = Math.sqrt(2 / Math.PI), GA = 0.044715;
/** gelu and gelu' in float64, in the σ form (accurate in the negative tail, where 1 + tanh u cancels). */
function gelu64(v: number): [number, number] {
  const u = GC * (v + GA * v * v * v), e = Math.exp(-2 * u), s = 1 / (1 + e);
  return [v * s, s * (1 + 2 * v * e * s * GC * (1 + 3 * GA * v * v))];
}

function run<T>(on: boolean, f: () => T): T {
  setWasmPointwise(on);
  try { return f(); } finally { setWasmPointwise(true); }
}

describe("wasm f32x4 pointwise kernels", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("GELU on a dense grid of [−10, 10]: |Δ| ≤ 2⁻²² · max(1, |x|) from the float64 formula, gradient within 1e-6", async () => {
    // Why this bound: for x ≥ 0, |gelu(x)| ≤ |x| and one float32 ulp of |x| is ≤ 2⁻²³|x|; the kernel rounds ~10 times
    // and the errors mostly cancel in σ(2u) ∈ [0, 1], so two ulps of max(1, |x|) bound it (measured ≈ 1.2 ulp).
    // In the negative tail the value is |x|·σ(2u) with σ tiny: the bound is then absolute, as for the float32 op chain.
    await withBackend("wasm", () => {
      const N = 400_001;
      const xs = new Float32Array(N);
      for (let i = 0; i < N; i++) xs[i] = -10 + (20 * i) / (N - 1);
      const x = tf.tensor1d(xs);
      const y = gelu(x).dataSync(), g = tf.grad((t: tf.Tensor) => gelu(t))(x).dataSync();
      let worst = 0, worstG = 0;
      for (let i = 0; i < N; i++) {
        const [r, gr] = gelu64(xs[i]);
        worst = Math.max(worst, Math.abs(y[i] - r) / (2 ** -22 * Math.max(1, Math.abs(xs[i]))));
        worstG = Math.max(worstG, Math.abs(g[i] - gr));
      }
      assert.ok(worst <= 1, `values: ${worst} × the bound`);
      assert.ok(worstG <= 1e-6, `gradient off by ${worstG}`);
      // a sanity check of the check: the float64 JS kernel (rounded once) is within half that bound
      const yJs = run(false, () => gelu(x).dataSync());
      let js = 0;
      for (let i = 0; i < N; i++) js = Math.max(js, Math.abs(yJs[i] - gelu64(xs[i])[0]) / (2 ** -22 * Math.max(1, Math.abs(xs[i]))));
      assert.ok(js <= 0.5, `JS kernel: ${js}`);
      x.dispose();
    });
  });

  it("GELU saturates without NaN or overflow: huge |x| give x or −0, gradients 1 or 0", async () => {
    await withBackend("wasm", () => {
      const big = [1e30, -1e30, 3e38, -3e38, 25, -25, 11, -11, 1e5, -1e5, 40, -40];
      const x = tf.tensor1d(big);
      const y = gelu(x).dataSync(), g = tf.grad((t: tf.Tensor) => gelu(t))(x).dataSync();
      big.forEach((v, i) => {
        assert.ok(Number.isFinite(y[i]) && Number.isFinite(g[i]), `x = ${v}: ${y[i]}, ${g[i]}`);
        assert.ok(y[i] === (v > 0 ? Math.fround(v) : 0), `gelu(${v}) = ${y[i]}`); // −0 counts as 0
        assert.ok(g[i] === (v > 0 ? 1 : 0), `gelu'(${v}) = ${g[i]}`);
      });
      x.dispose();
    });
  });

  for (const n of [4, 7, 1001, 3 * 64 * 40]) {
    it(`GELU wasm vs the cpu backend on ${n} random values incl. |x| up to 40: values and gradients`, async () => {
      const rng = new Rng(n);
      const xs = rng.normals(n).map((v, i) => (i % 7 === 0 ? v * 15 : v * 2));
      const ws = rng.normals(n);
      const both = (backend: "wasm" | "cpu") => withBackend(backend, () => {
        const x = tf.tensor1d(xs), w = tf.tensor1d(ws);
        const y = gelu(x).dataSync(), g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), w)))(x).dataSync();
        tf.dispose([x, w]);
        return [y, g];
      });
      const [[yw, gw], [yc, gc]] = [await both("wasm"), await both("cpu")];
      for (let i = 0; i < n; i++) {
        const s = Math.max(1, Math.abs(xs[i]));
        assert.ok(Math.abs(yw[i] - yc[i]) <= 2 ** -22 * s, `value ${i} (x = ${xs[i]}): ${yw[i]} vs ${yc[i]}`);
        assert.ok(Math.abs(gw[i] - gc[i]) <= 1e-6 * Math.max(1, Math.abs(ws[i])), `gradient ${i} (x = ${xs[i]}): ${gw[i]} vs ${gc[i]}`);
      }
    });
  }

  it("GELU gradient matches central finite differences of the wasm forward (float32, h = 1e-2)", async () => {
    await withBackend("wasm", () => {
      const xs = Float32Array.from([-6, -3.3, -1.2, -0.4, 0, 0.3, 0.9, 2.2, 4.5]);
      const x = tf.tensor1d(xs);
      const g = tf.grad((t: tf.Tensor) => gelu(t))(x).dataSync();
      const f = (d: number) => tf.tidy(() => gelu(tf.add(x, d))).dataSync();
      const h = 1e-2, p = f(h), m = f(-h);
      xs.forEach((v, i) => {
        const fd = (p[i] - m[i]) / (2 * h);
        // central differences carry h²·gelu'''/6 ≲ 1e-4 here, plus float32 noise ≈ 1e-5
        assert.ok(Math.abs(fd - g[i]) < 3e-4, `x = ${v}: fd ${fd} vs ${g[i]}`);
      });
      x.dispose();
    });
  });

  for (const [B, M, C] of [[3, 50, 64], [2, 7, 4], [1, 33, 6]] as const) {
    it(`modulated LayerNorm forward: SIMD vs the float64 JS kernel within float32 rounding (B=${B}, M=${M}, C=${C})`, async () => {
      await withBackend("wasm", () => {
        const rng = new Rng(B * M + C);
        const x = tf.add(tf.mul(rng.normalTensor<tf.Rank.R3>([B, M, C]), 3), 1.5) as tf.Tensor3D;
        const g = tf.add(rng.normalTensor([C]), 1), b = rng.normalTensor([C]);
        const sc = tf.mul(rng.normalTensor([B, 1, C]), 0.3), sh = rng.normalTensor([B, 1, C]);
        const y = modulatedLayerNorm(x, g, b, sc, sh, 1e-5).dataSync();
        const yJs = run(false, () => modulatedLayerNorm(x, g, b, sc, sh, 1e-5).dataSync());
        let worst = 0, scale = 0;
        for (let i = 0; i < y.length; i++) { worst = Math.max(worst, Math.abs(y[i] - yJs[i])); scale = Math.max(scale, Math.abs(yJs[i])); }
        // float32 sums of C terms: a few ulp of the largest output
        assert.ok(worst <= 8 * 2 ** -23 * scale, `max |Δ| ${worst} at scale ${scale}`);
        tf.dispose([x, g, b, sc, sh]);
      });
    });
  }

  for (const [B, H, C, G, mod, spread] of [[3, 8, 32, 8, true, 2], [2, 5, 16, 2, false, 2], [2, 4, 8, 4, true, 200], [1, 3, 6, 3, true, 2]] as const) {
    it(`GroupNorm → modulation → SiLU, value and gradients: SIMD vs the float64 JS kernels ([${B},${H},${H},${C}], ${G} groups, ${mod ? "" : "no "}modulation, |x| ~ ${spread})`, async () => {
      await withBackend("wasm", () => {
        const rng = new Rng(B * C + G);
        // spread 200: u reaches ±hundreds, where σ(u) saturates (u·σ(u) must be u or −0, never NaN)
        const x = tf.add(tf.mul(rng.normalTensor<tf.Rank.R4>([B, H, H, C]), spread), 0.7) as tf.Tensor4D;
        const g = tf.mul(tf.add(rng.normalTensor([C]), 1), spread > 10 ? 100 : 1), b = rng.normalTensor([C]);
        const sc = mod ? tf.mul(rng.normalTensor([B, 1, 1, C]), 0.3) : null, sh = mod ? rng.normalTensor([B, 1, 1, C]) : null;
        const w = rng.normalTensor([B, H, H, C]);
        const ins = sc && sh ? [x, g, b, sc, sh] : [x, g, b];
        const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(groupNormSilu(a[0] as tf.Tensor4D, a[1], a[2], G, 1e-5, a[3] ?? null, a[4] ?? null), w));
        const both = () => [groupNormSilu(x, g, b, G, 1e-5, sc, sh), ...tf.grads(loss)(ins)].map((t) => t.dataSync());
        const simd = both(), js = run(false, both);
        ["y", "∂x", "∂γ", "∂β", "∂scale", "∂shift"].slice(0, simd.length).forEach((what, k) => {
          let worst = 0, scale = 0;
          for (let i = 0; i < simd[k].length; i++) {
            assert.ok(Number.isFinite(simd[k][i]), `${what}: non-finite at ${i}`);
            worst = Math.max(worst, Math.abs(simd[k][i] - js[k][i]));
            scale = Math.max(scale, Math.abs(js[k][i]));
          }
          // float32 sums over H·W·C/G values and a float32 σ vs float64: a few ulp of the largest entry (values),
          // more for the gradients, which are sums over the image of products of those
          const bound = (k === 0 ? 16 : 256) * 2 ** -23 * scale;
          assert.ok(worst <= bound, `${what}: max |Δ| ${worst} at scale ${scale}`);
        });
        tf.dispose([...ins, w]);
      });
    });
  }
});
