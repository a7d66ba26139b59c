/**
 * The shipped Fashion-MNIST checkpoint (data/checkpoints/fashion-mnist.ckpt) loads, samples at several resolutions,
 * and reconstruction guidance lowers the masked reconstruction error against unguided sampling (issue: "guidance reduces
 * the masked reconstruction error versus unguided sampling on a trained checkpoint"). No skip: the file is committed.
 */
import { strict as assert } from "assert";
import { initBackend, loadModel, dataPath, loadFashionMnist, makeMask, inpaint, inpaintMetrics, sampleModel, LoadedModel } from "infty-diff-lab";

describe("the shipped checkpoint", function () {
  this.timeout(300000);
  let model: LoadedModel;
  before(async () => {
    await initBackend("wasm", { quiet: true });
    model = loadModel(dataPath("checkpoints", "fashion-mnist.ckpt"));
  });
  after(() => model.net.dispose());

  it("is the default Fashion-MNIST model with its training record", () => {
    assert.equal(model.cfg.model.resolution, 28);
    assert.equal(model.cfg.train.coordRatio, 0.25);
    assert.ok(model.step >= 1000, `trained for ${model.step} steps`);
    assert.equal(model.meta.kind, "infty-diff-model");
  });

  it("samples finite, non-constant images at 14×14, 28×28 and 40×40", async () => {
    for (const r of [14, 28, 40]) {
      const out = await sampleModel(model.net, model.cfg, { resolution: r, n: 2, steps: 5, seed: 3, progress: false, clipX0: false });
      assert.deepEqual(out.x0.shape, [2, r, r, 1]);
      const v = out.x0.images;
      let m = 0, s2 = 0;
      for (const x of v) { assert.ok(Number.isFinite(x)); m += x; }
      m /= v.length;
      for (const x of v) s2 += (x - m) ** 2;
      assert.ok(Math.sqrt(s2 / v.length) > 0.1, `std ${Math.sqrt(s2 / v.length)} at ${r}`);
    }
  });

  for (const kind of ["centre", "half"] as const) {
    it(`guidance lowers the error on the known pixels (${kind} mask) against unguided sampling`, async () => {
      const truth = loadFashionMnist({ split: "test", offset: 200, limit: 4 });
      const mask = makeMask(kind, 4, 28, 28, 0);
      const run = async (lambda: number) =>
        inpaintMetrics(await inpaint(model, truth, mask, { lambda, ts: 350, steps: 10, seed: 5 }), truth, mask);
      const unguided = await run(0), guided = await run(0.5);
      assert.ok(guided.mseKnownT < 0.5 * unguided.mseKnownT, `mollified known-pixel MSE ${unguided.mseKnownT} → ${guided.mseKnownT}`);
      assert.ok(guided.mseKnown < unguided.mseKnown, `known-pixel MSE ${unguided.mseKnown} → ${guided.mseKnown}`);
    });
  }
});
