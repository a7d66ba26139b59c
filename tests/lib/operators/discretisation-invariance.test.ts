import { strict as assert } from "assert";
import { initBackend, tf, Rng, discretisationInvariance, denseGridSparseConv, renderProcedural, proceduralSpecs, toTensor } from "infty-diff-lab";

describe("discretisation-invariance experiment (§4 property 2, §5 kernel resampling)", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("zero at scale 1; extent resampling beats no resampling at 2r₀ and 4r₀; rows and kernel sizes", () => {
    const r0 = 16, k = 7, rng = new Rng(5);
    const kv = new Float32Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) kv[i * k + j] = Math.exp(-((i - 3) ** 2 + (j - 3) ** 2) / 6) + 0.3 * rng.normal();
    const kernel = tf.tensor3d(kv, [k, k, 1]);
    const specs = proceduralSpecs(1, new Rng(6), { sigma: [0.1, 0.25] });
    const before = tf.memory().numTensors;
    const rows = discretisationInvariance({ kernel, r0, scales: [1, 2, 4], field: (r) => toTensor(renderProcedural(specs, r)) });
    assert.equal(tf.memory().numTensors, before, "leaks tensors");
    assert.deepEqual(rows.map((r) => `${r.resolution}/${r.mode}/${r.kernelSize}`),
      ["16/none/7", "16/per-tap/7", "16/extent/7", "32/none/7", "32/per-tap/13", "32/extent/15", "64/none/7", "64/per-tap/25", "64/extent/29"]);
    for (const r of rows.filter((r) => r.scale === 1)) assert.ok(r.relError < 1e-6, `${r.mode} at r₀: ${r.relError}`);
    for (const s of [2, 4]) {
      const err = (mode: string) => rows.find((r) => r.scale === s && r.mode === mode)!.relError;
      assert.ok(err("extent") < 0.05 && err("extent") < 0.25 * err("none"), `s=${s}: extent ${err("extent")} vs none ${err("none")}`);
    }
    assert.throws(() => discretisationInvariance({ kernel, r0, scales: [2], field: (r) => tf.zeros([1, r, r, 2]) as tf.Tensor4D }), /expected/);
    kernel.dispose();
  });

  it("denseGridSparseConv: with a kernel of ones a constant field stays constant everywhere (Eq. 20 ÷ count)", () => {
    const [x, w] = [tf.ones([1, 9, 9, 1]) as tf.Tensor4D, tf.ones([3, 3, 1]) as tf.Tensor3D];
    const out = denseGridSparseConv(x, w);
    assert.deepEqual(out.shape, [1, 9, 9, 1]);
    for (const v of out.dataSync()) assert.ok(Math.abs(v - 1) < 1e-6);
    tf.dispose([x, w, out]);
  });
});
