import { strict as assert } from "assert";
import { initBackend, Rng, InftyDiffNetwork, nestedWhiteNoise, sampleModel, sampleAcrossResolutions, areaResize } from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) { ma += a[i]; mb += b[i]; }
  ma /= a.length; mb /= b.length;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

describe("sampling at any resolution", function () {
  this.timeout(120000);
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("nested white noise has unit variance and ξ_r = 2·avg₂ₓ₂(ξ_2r)", () => {
    const n = 4, R = 32;
    const fine = new Rng(1).normals(n * R * R);
    const x8 = nestedWhiteNoise(fine, n, R, 1, 8), x16 = nestedWhiteNoise(fine, n, R, 1, 16);
    let v = 0;
    for (const x of x16) v += x * x;
    v /= x16.length;
    assert.ok(Math.abs(v - 1) < 0.1, `variance ${v}`);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < 8; i++)
        for (let j = 0; j < 8; j++) {
          const at = (y: number, x: number) => x16[(b * 16 + y) * 16 + x];
          const expect = (2 * (at(2 * i, 2 * j) + at(2 * i + 1, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j + 1))) / 4;
          assert.ok(Math.abs(x8[(b * 8 + i) * 8 + j] - expect) < 1e-4);
        }
    assert.throws(() => nestedWhiteNoise(fine, n, R, 1, 12), /not a multiple/);
  });

  it("given the same initial noise, DDIM sampling is deterministic; nested noise gives consistent samples across resolutions", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(2));
    try {
      const noise = new Rng(3).normals(2 * 12 * 12);
      const a = await sampleModel(net, cfg, { resolution: 12, n: 2, steps: 3, initialNoise: noise, progress: false });
      const b = await sampleModel(net, cfg, { resolution: 12, n: 2, steps: 3, initialNoise: noise, progress: false });
      assert.deepEqual(Array.from(a.x0.images), Array.from(b.x0.images));
      const [s12, s24] = await sampleAcrossResolutions(net, cfg, { resolutions: [12, 24], n: 2, steps: 3, seed: 4, progress: false });
      assert.deepEqual(s24.shape, [2, 24, 24, 1]);
      const down = areaResize(s24, 12, 12);
      const nested = corr(s12.images, down.images);
      // control: independent noise at 24×24
      const indep = await sampleModel(net, cfg, { resolution: 24, n: 2, steps: 3, seed: 99, progress: false });
      const control = corr(s12.images, areaResize(indep.x0, 12, 12).images);
      assert.ok(nested > 0.5 && Math.abs(control) < 0.3, `correlation 12×12 vs downsampled 24×24: nested ${nested}, independent ${control}`);
    } finally {
      net.dispose();
    }
  });
});
