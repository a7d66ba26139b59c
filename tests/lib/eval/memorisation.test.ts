import { strict as assert } from "assert";
import { initBackend, nearestImages, memorisationCheck, memorisationMarkdown, Rng, ImageSet } from "infty-diff-lab";

const randomSet = (n: number, rng: Rng, h = 6, w = 5): ImageSet =>
  ({ images: Float32Array.from(rng.normals(n * h * w), (x) => Math.tanh(x)), shape: [n, h, w, 1] });

describe("memorisation check", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("nearest images equal a float64 brute force, across reference chunks", async () => {
    const rng = new Rng(1);
    const ref = randomSet(37, rng), q = randomSet(9, rng), d = 30;
    const got = await nearestImages(q, ref, { chunk: 8 });
    for (let i = 0; i < 9; i++) {
      let best = Infinity, arg = -1;
      for (let j = 0; j < 37; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += (q.images[i * d + c] - ref.images[j * d + c]) ** 2;
        if (s < best) { best = s; arg = j; }
      }
      assert.equal(got.index[i], arg, `query ${i}`);
      assert.ok(Math.abs(got.distance[i] - Math.sqrt(best)) < 1e-12, `${got.distance[i]} vs ${Math.sqrt(best)}`);
    }
    await assert.rejects(nearestImages(randomSet(2, rng, 5, 5), ref), /query images are 5×5×1, reference images 6×5×1/);
  });

  it("flags a model that copies its training images and clears one that draws new ones", async () => {
    const rng = new Rng(2);
    const train = randomSet(400, rng), holdout = randomSet(200, rng);
    // copies: training images 0, 2, 4, … with a little noise
    const copies: ImageSet = { images: new Float32Array(200 * 30), shape: [200, 6, 5, 1] };
    for (let i = 0; i < 200; i++) for (let c = 0; c < 30; c++) copies.images[i * 30 + c] = train.images[2 * i * 30 + c] + 0.01 * rng.normal();
    const copied = await memorisationCheck(copies, train, holdout, 3);
    assert.ok(copied.medianRatio < 0.05, `copies: median ratio ${copied.medianRatio}`);
    assert.equal(copied.fractionBelowHoldoutP01, 1);
    assert.deepEqual(copied.closest.map((c) => c.train), copied.closest.map((c) => 2 * c.sample), "each copy finds its original");
    const fresh = await memorisationCheck(randomSet(200, rng), train, holdout);
    assert.ok(fresh.medianRatio > 0.9 && fresh.medianRatio < 1.1, `fresh: median ratio ${fresh.medianRatio}`);
    assert.ok(fresh.fractionBelowHoldoutP01 < 0.05, `fresh: ${fresh.fractionBelowHoldoutP01}`);
    const md = memorisationMarkdown({ ...copied, step: 30000, steps: 25 }).split("\n");
    assert.match(md[2], /^\| samples \(step 30,000, DDIM 25\) \| 200 \| 0\.0\d\d \| 0\.0\d\d \| 100\.0 % \|$/);
  });
});
