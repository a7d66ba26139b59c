import { strict as assert } from "assert";
import {
  areaResize, erf, evalProcedural, FASHION_HOLDOUT, gaussianBlur, initBackend, ImageSet, imageBatch, loadFashionMnist,
  loadTexture, padImages, proceduralImages, proceduralSpecs, renderProcedural, renderTextureCrops, Rng, textureCrops,
  tf, toGray,
} from "infty-diff-lab";

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** Independent 2×2 box mean (no shared code with areaResize). images [N, H, W, C] → [N, H/2, W/2, C]. */
function boxMean2(s: ImageSet): Float32Array {
  const [n, h, w, c] = s.shape;
  const out = new Float32Array(n * (h / 2) * (w / 2) * c);
  for (let b = 0; b < n; b++) for (let y = 0; y < h / 2; y++) for (let x = 0; x < w / 2; x++) for (let k = 0; k < c; k++) {
    const at = (yy: number, xx: number) => s.images[((b * h + yy) * w + xx) * c + k];
    out[((b * (h / 2) + y) * (w / 2) + x) * c + k] = (at(2 * y, 2 * x) + at(2 * y + 1, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x + 1)) / 4;
  }
  return out;
}
const range = (a: Float32Array) => { let lo = Infinity, hi = -Infinity; for (const v of a) { lo = Math.min(lo, v); hi = Math.max(hi, v); } return [lo, hi]; };

describe("data: Fashion-MNIST", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("parses the IDX files: sizes, [−1, 1] range, known first labels, balanced classes", () => {
    const train = loadFashionMnist({ split: "train" });
    const test = loadFashionMnist({ split: "test" });
    assert.deepEqual(train.shape, [60000, 28, 28, 1]);
    assert.deepEqual(test.shape, [10000, 28, 28, 1]);
    assert.equal(train.labels![0], 9); // upstream: the first training image is an ankle boot
    assert.equal(test.labels![0], 9);
    const counts = new Array(10).fill(0);
    for (const l of train.labels!) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(6000));
    const [lo, hi] = range(test.images);
    assert.equal(lo, -1);
    assert.equal(hi, 1);
    // Pixels are k/127.5 − 1 for bytes k: every value maps back to an integer byte.
    for (let i = 0; i < 5000; i++) { const k = (test.images[i] + 1) * 127.5; assert.ok(Math.abs(k - Math.round(k)) < 1e-4); }
  });

  it("holdout is the last 5,000 training rows and disjoint from train-fit", () => {
    const fit = loadFashionMnist({ split: "train-fit", limit: 3 });
    const hold = loadFashionMnist({ split: "holdout", limit: 3 });
    // sizes via the last rows (offset past the end clamps), without converting whole splits
    assert.equal(loadFashionMnist({ split: "train-fit", offset: 60000 - FASHION_HOLDOUT - 2 }).shape[0], 2);
    assert.equal(loadFashionMnist({ split: "holdout", offset: FASHION_HOLDOUT - 1 }).shape[0], 1);
    assert.equal(loadFashionMnist({ split: "holdout", offset: FASHION_HOLDOUT }).shape[0], 0);
    const tail = loadFashionMnist({ split: "train", offset: 60000 - FASHION_HOLDOUT, limit: 3 });
    assert.deepEqual(hold.images, tail.images);
    assert.deepEqual(fit.images, loadFashionMnist({ split: "train", limit: 3 }).images);
    assert.throws(() => loadFashionMnist({ split: "validation" as never }), /unknown Fashion-MNIST split/);
  });

  it("pads with background and area-resizes", () => {
    const s = loadFashionMnist({ split: "test", limit: 4 });
    const p = loadFashionMnist({ split: "test", limit: 4, pad: 2 });
    assert.deepEqual(p.shape, [4, 32, 32, 1]);
    for (let x = 0; x < 32; x++) { assert.equal(p.images[x], -1); assert.equal(p.images[31 * 32 + x], -1); }
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) assert.equal(p.images[(y + 2) * 32 + x + 2], s.images[y * 28 + x]);
    const half = loadFashionMnist({ split: "test", limit: 4, size: 14 });
    assert.ok(maxAbsDiff(half.images, boxMean2(s)) < 1e-6);
  });
});

describe("data: image operations", () => {
  const rnd = (shape: [number, number, number, number], seed: number): ImageSet =>
    ({ images: new Rng(seed).normals(shape.reduce((a, b) => a * b)), shape });

  it("areaResize: box mean at ratio 2, identity after up-then-down, constants and means kept at any ratio", () => {
    const x = rnd([2, 12, 10, 3], 1);
    assert.ok(maxAbsDiff(areaResize(x, 6, 5).images, boxMean2(x)) < 1e-6);
    const up = areaResize(x, 36, 30);
    assert.ok(maxAbsDiff(areaResize(up, 12, 10).images, x.images) < 1e-5);
    const c: ImageSet = { images: new Float32Array(1 * 13 * 13 * 1).fill(0.3), shape: [1, 13, 13, 1] };
    for (const v of areaResize(c, 5, 7).images) assert.ok(Math.abs(v - 0.3) < 1e-6);
    // area resampling preserves the image mean for any ratio (each source pixel's weights sum to out/in)
    const g = rnd([1, 28, 28, 1], 2);
    const mean = (a: Float32Array) => a.reduce((p, v) => p + v, 0) / a.length;
    assert.ok(Math.abs(mean(areaResize(g, 17).images) - mean(g.images)) < 1e-5);
  });

  it("gaussianBlur keeps constants, conserves an impulse's mass and gives it variance σ²", () => {
    const imp: ImageSet = { images: new Float32Array(41 * 41), shape: [1, 41, 41, 1] };
    imp.images[20 * 41 + 20] = 1;
    const b = gaussianBlur(imp, 1.5).images;
    let mass = 0, vx = 0;
    for (let y = 0; y < 41; y++) for (let x = 0; x < 41; x++) { mass += b[y * 41 + x]; vx += b[y * 41 + x] * (x - 20) ** 2; }
    assert.ok(Math.abs(mass - 1) < 1e-5, `mass ${mass}`);
    assert.ok(Math.abs(vx - 2.25) < 2e-3, `variance ${vx}`);
    const c: ImageSet = { images: new Float32Array(100).fill(-0.4), shape: [1, 10, 10, 1] };
    for (const v of gaussianBlur(c, 1).images) assert.ok(Math.abs(v + 0.4) < 1e-6);
  });

  it("padImages, toGray and imageBatch", () => {
    const x = rnd([3, 4, 5, 3], 3);
    assert.deepEqual(padImages(x, 1, 0).shape, [3, 6, 7, 3]);
    const g = toGray(x);
    assert.ok(Math.abs(g.images[7] - (x.images[21] + x.images[22] + x.images[23]) / 3) < 1e-6);
    const t = imageBatch(x, [2, 0]);
    assert.deepEqual(t.shape, [2, 4, 5, 3]);
    assert.deepEqual(Array.from(t.dataSync().slice(0, 60)), Array.from(x.images.slice(120, 180)));
    t.dispose();
  });
});

describe("data: textures", () => {
  it("decodes the three 512×512 photographs into [−1, 1]", () => {
    for (const name of ["brick", "grass", "gravel"] as const) {
      const t = loadTexture(name);
      assert.equal(t.width, 512);
      assert.equal(t.height, 512);
      const [lo, hi] = range(t.pixels);
      assert.ok(lo >= -1 && hi <= 1 && hi - lo > 1, `${name} range ${lo}..${hi}`);
    }
  });

  it("crops are seeded, exact at full resolution, and consistent across resolutions", () => {
    const a = textureCrops({ n: 6, resolution: 16, cropSize: 64, rng: new Rng(5) });
    const b = textureCrops({ n: 6, resolution: 16, cropSize: 64, rng: new Rng(5) });
    assert.deepEqual(a.crops, b.crops);
    assert.deepEqual(a.shape, [6, 16, 16, 1]);
    const full = renderTextureCrops(a.crops, 64);
    const c = a.crops[0], t = loadTexture(c.texture);
    for (let y = 0; y < 64; y += 7) for (let x = 0; x < 64; x += 5) assert.equal(full.images[y * 64 + x], t.pixels[(c.y + y) * 512 + c.x + x]);
    // Ground truth at 32 area-averaged 2×2 is the 16×16 training image.
    assert.ok(maxAbsDiff(boxMean2(renderTextureCrops(a.crops, 32)), a.images) < 1e-5);
    const rgb = renderTextureCrops(a.crops.slice(0, 1), 16, 3);
    for (let p = 0; p < 256; p++) for (let k = 0; k < 3; k++) assert.equal(rgb.images[p * 3 + k], a.images[p]);
    assert.throws(() => textureCrops({ n: 1, resolution: 8, cropSize: 600, rng: new Rng(0) }), /cropSize/);
  });
});

describe("data: procedural analytic images", () => {
  it("erf matches reference values to 1e-14", () => {
    const ref: [number, number][] = [
      [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [2, 0.9953222650189527], [3, 0.9999779095030014], [3.5, 0.9999992569016276], [4.5, 0.9999999998033839],
    ];
    for (const [x, v] of ref) {
      assert.ok(Math.abs(erf(x) - v) < 1e-14, `erf(${x}) = ${erf(x)} vs ${v}`);
      assert.ok(Math.abs(erf(-x) + v) < 1e-14);
    }
  });

  it("rendering at 2r and averaging 2×2 equals rendering at r; 3r via areaResize too", () => {
    const specs = proceduralSpecs(5, new Rng(11), { channels: 2 });
    for (const [h, w] of [[8, 8], [12, 20]]) {
      const r = renderProcedural(specs, h, w);
      assert.ok(maxAbsDiff(boxMean2(renderProcedural(specs, 2 * h, 2 * w)), r.images) < 2e-6);
      assert.ok(maxAbsDiff(areaResize(renderProcedural(specs, 3 * h, 3 * w), h, w).images, r.images) < 2e-6);
    }
  });

  it("pixels are exact cell averages of the analytic function (vs. 2-D Simpson quadrature)", () => {
    const spec = proceduralSpecs(1, new Rng(12), { sigma: [0.05, 0.1] })[0];
    const H = 6, W = 9;
    const img = renderProcedural([spec], H, W).images;
    const q = 40; // Simpson panels per cell side (even)
    for (const [i, j] of [[0, 0], [2, 5], [5, 8], [3, 1]]) {
      let acc = 0;
      for (let a = 0; a <= q; a++) for (let b = 0; b <= q; b++) {
        const wa = a === 0 || a === q ? 1 : a % 2 ? 4 : 2, wb = b === 0 || b === q ? 1 : b % 2 ? 4 : 2;
        acc += wa * wb * evalProcedural(spec, (j + b / q) / W, (i + a / q) / H);
      }
      const avg = acc / (9 * q * q);
      assert.ok(Math.abs(avg - img[i * W + j]) < 1e-6, `cell ${i},${j}: ${avg} vs ${img[i * W + j]}`);
    }
  });

  it("is seeded, stays in [−1, 1] and is non-trivial", () => {
    const a = proceduralImages({ n: 20, height: 16, rng: new Rng(3) });
    const b = proceduralImages({ n: 20, height: 16, rng: new Rng(3) });
    assert.deepEqual(a.images, b.images);
    const [lo, hi] = range(a.images);
    assert.ok(lo >= -1 - 1e-6 && hi <= 1 + 1e-6, `${lo}..${hi}`);
    assert.ok(hi - lo > 0.5);
    assert.notDeepEqual(a.images, proceduralImages({ n: 20, height: 16, rng: new Rng(4) }).images);
    assert.throws(() => renderProcedural(a.specs, 0), /positive integers/);
  });

  it("loaders leave no tensors behind", async () => {
    const before = tf.memory().numTensors;
    const t = imageBatch(proceduralImages({ n: 2, height: 8, rng: new Rng(1) }), [0, 1]);
    t.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
