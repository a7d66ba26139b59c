import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, InftyDiffNetwork, superResolve, resizeImages, downsampleError, imagePsnr, areaResize, renderProcedural,
  proceduralSpecs, superResGroundTruth, scoreSuperRes, featureDistance, sharedFeatureNet, proceduralImages,
} from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

describe("super-resolution", function () {
  this.timeout(120000);
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("bicubic keeps constants and ramps; nearest upsampling is area-downsampling's right inverse", () => {
    const c = { images: new Float32Array(2 * 4 * 4).fill(0.3), shape: [2, 4, 4, 1] as [number, number, number, number] };
    for (const v of resizeImages(c, 8, 12).images) assert.ok(Math.abs(v - 0.3) < 1e-6);
    const ramp = { images: new Float32Array(8 * 8).map((_, i) => (i % 8) / 8), shape: [1, 8, 8, 1] as [number, number, number, number] };
    const up = resizeImages(ramp, 16, 16);
    // interior columns of a linear ramp are reproduced exactly (cubic convolution has linear precision)
    for (let j = 4; j < 12; j++) assert.ok(Math.abs(up.images[5 * 16 + j] - ((j + 0.5) / 2 - 0.5) / 8) < 1e-6, `col ${j}`);
    const rnd = { images: new Float32Array(36).map(() => Math.random()), shape: [1, 6, 6, 1] as [number, number, number, number] };
    assert.ok(downsampleError(resizeImages(rnd, 24, 24, "nearest"), rnd) < 1e-6);
  });

  it("2× and 4×: output downsampled back matches the input; guidance alone reduces the mismatch; no leaks", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(5));
    const specs = proceduralSpecs(2, new Rng(8));
    const low = renderProcedural(specs, 6);
    try {
      for (const scale of [2, 4]) {
        const run = (lambda: number, project: boolean) => superResolve({ net, cfg }, low, { scale, tEncode: 200, steps: 5, lambda, project });
        await run(0.5, true); // burn-in
        const n = tf.memory().numTensors;
        const out = await run(0.5, true);
        assert.equal(tf.memory().numTensors, n, "superResolve leaked tensors");
        assert.deepEqual(out.x0.shape, [2, 6 * scale, 6 * scale, 1]);
        const e = downsampleError(out.x0, low);
        assert.ok(e < 1e-4, `${scale}×: max |areaDown(out) − input| = ${e}`);
        const plain = downsampleError((await run(0, false)).x0, low);
        const guided = downsampleError((await run(0.5, false)).x0, low);
        assert.ok(guided < plain, `${scale}× without projection: unguided ${plain}, guided ${guided}`);
        // ground truth exists at every resolution for the procedural set
        const truth = renderProcedural(specs, 6 * scale);
        assert.ok(downsampleError(truth, low) < 1e-4, "procedural images are exact area averages");
        assert.ok(Number.isFinite(imagePsnr(out.x0, truth)) && Number.isFinite(imagePsnr(out.upsampled, truth)));
        assert.ok(areaResize(out.upsampled, 6).images.length === low.images.length);
      }
    } finally {
      net.dispose();
    }
  });

  it("ground truth: exact at every scale and area-consistent with the input, for procedural functions and texture crops", () => {
    for (const source of ["procedural", "textures"] as const) {
      const gt = superResGroundTruth(source, 3, 8, [2, 4], 11);
      assert.deepEqual(gt.low.shape, [3, 8, 8, 1]);
      for (const s of [2, 4]) {
        const high = gt.high.get(s)!;
        assert.deepEqual(high.shape, [3, 8 * s, 8 * s, 1]);
        assert.ok(downsampleError(high, gt.low) < 1e-5, `${source} ${s}×: areaDown(truth) ≠ input`);
        assert.ok(imagePsnr(high, resizeImages(gt.low, 8 * s, 8 * s)) < 60, `${source} ${s}×: the truth has detail bicubic lacks`);
      }
    }
    const again = proceduralImages({ n: 3, height: 32, rng: new Rng(11) });
    assert.deepEqual(Array.from(superResGroundTruth("procedural", 3, 8, [4], 11).high.get(4)!.images), Array.from(again.images));
  });

  it("featureDistance is the mean per-image L2 distance of the feature net's embeddings", async () => {
    const a = proceduralImages({ n: 4, height: 28, rng: new Rng(1) }), b = proceduralImages({ n: 4, height: 28, rng: new Rng(2) });
    assert.equal(await featureDistance(a, a), 0);
    const fa = await sharedFeatureNet().features(a), fb = await sharedFeatureNet().features(b);
    let want = 0;
    for (let i = 0; i < 4; i++) want += Math.hypot(...Array.from({ length: fa.d }, (_, k) => fa.values[i * fa.d + k] - fb.values[i * fb.d + k])) / 4;
    assert.ok(Math.abs((await featureDistance(a, b)) - want) < 1e-4 * want);
    await assert.rejects(featureDistance(a, proceduralImages({ n: 3, height: 28, rng: new Rng(2) })), /paired sets/);
  });

  it("scoreSuperRes scores bicubic and the model at each scale against the truth", async () => {
    const cfg = tinyConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(5));
    try {
      const gt = superResGroundTruth("procedural", 2, 6, [2], 3);
      const rows = await scoreSuperRes({ net, cfg }, gt, { steps: 2, tEncode: 100, batch: 1 });
      assert.deepEqual(rows.map((r) => r.method), ["bicubic", "model"]);
      assert.ok(Math.abs(rows[0].psnr - imagePsnr(resizeImages(gt.low, 12, 12), gt.high.get(2)!)) < 1e-9);
      assert.ok(rows[1].downsampleError < 1e-4, "projection keeps the model's output consistent with its input");
      assert.ok(Number.isFinite(rows[1].psnr) && rows[1].featureDistance > 0);
    } finally {
      net.dispose();
    }
  });
});
