import { strict as assert } from "assert";
import {
  DATASETS, DATASET_NAMES, KERNEL_RESAMPLING, KERNEL_RESAMPLE_MODES, PARAMETERISATIONS, PARAMETERISATION_NAMES, SAMPLERS,
  SAMPLER_NAMES, Rng, dataset, fidOf, proceduralImages, resampledKernelSize, resolveConfig, samplerEntry, cosineSchedule,
  stepGain, stepCoefs, kernelResampleMatrix,
} from "infty-diff-lab";

describe("registries: samplers, kernel-resampling rules, datasets, parameterisations", () => {
  it("the config accepts every registered key and refuses others with a one-line message naming the key", () => {
    for (const m of KERNEL_RESAMPLE_MODES) assert.equal(resolveConfig({ model: { kernelResampling: m } }).model.kernelResampling, m);
    for (const p of PARAMETERISATION_NAMES) assert.equal(resolveConfig({ diffusion: { parameterisation: p } }).diffusion.parameterisation, p);
    for (const d of DATASET_NAMES) assert.equal(resolveConfig({ train: { dataset: d } }).train.dataset, d);
    assert.throws(() => resolveConfig({ model: { kernelResampling: "cubic" } }), /model\.kernelResampling/);
    assert.throws(() => resolveConfig({ diffusion: { parameterisation: "score" } }), /diffusion\.parameterisation/);
    assert.throws(() => resolveConfig({ train: { dataset: "cifar" } }), /train\.dataset/);
    assert.deepEqual(SAMPLER_NAMES, Object.keys(SAMPLERS));
    assert.deepEqual(PARAMETERISATION_NAMES, Object.keys(PARAMETERISATIONS));
    for (const p of PARAMETERISATION_NAMES) assert.equal(PARAMETERISATIONS[p].name, p);
    assert.throws(() => samplerEntry("euler"), /unknown sampler 'euler': expected ddim, ddpm/);
    assert.throws(() => samplerEntry("__proto__"), /unknown sampler/);
  });

  it("kernel rules: k = 7 from 28 to 56 / 112 / 14 (extent 15/29/3, per-tap 13/25/5, authors 13/29/3, none 7), rows of the matrices", () => {
    const sizes = KERNEL_RESAMPLE_MODES.map((m) => [m, [56, 112, 14, 28].map((r) => resampledKernelSize(7, 28, r, m))]);
    assert.deepEqual(sizes, [["extent", [15, 29, 3, 7]], ["per-tap", [13, 25, 5, 7]], ["authors", [13, 29, 3, 7]], ["none", [7, 7, 7, 7]]]);
    for (const m of KERNEL_RESAMPLE_MODES) {
      const k2 = KERNEL_RESAMPLING[m].size(7, 2), A = kernelResampleMatrix(7, 28, 56, m);
      assert.equal(A.length, k2 * 7, m);
    }
    // "authors" and "per-tap" keep a constant kernel constant: every row sums to 1
    for (const m of ["authors", "per-tap", "none"] as const) {
      const A = kernelResampleMatrix(7, 28, 56, m), k2 = A.length / 7;
      for (let i = 0; i < k2; i++) {
        const row = Array.from(A.subarray(i * 7, i * 7 + 7)).reduce((a, b) => a + b, 0);
        if (m !== "none" || i < 7) assert.ok(Math.abs(row - 1) < 1e-12, `${m} row ${i}: ${row}`);
      }
    }
  });

  it("sampler gains: DDPM's is the posterior coefficient of Tx₀; DDIM η = 0's is √ᾱ_s − √(1−ᾱ_s)·√ᾱ_t/√(1−ᾱ_t)", () => {
    const sch = cosineSchedule(1000);
    const c = stepCoefs(sch, 500, 480);
    assert.equal(stepGain(sch, 500, 480, "ddpm"), c.coefTx0);
    const ddim = Math.sqrt(c.abarS) - (Math.sqrt(1 - c.abarS) * Math.sqrt(c.abarT)) / Math.sqrt(1 - c.abarT);
    assert.ok(Math.abs(SAMPLERS.ddim.gain(sch, 500, 480, 0) - ddim) < 1e-15);
  });

  it("datasets: training images by the registry, --index images, channel checks and FID references", () => {
    const a = dataset("procedural").train({ resolution: 8, channels: 2, seed: 5, limit: 3 });
    const b = proceduralImages({ n: 3, height: 8, rng: new Rng(5), channels: 2 });
    assert.deepEqual(Array.from(a.images), Array.from(b.images));
    const third = DATASETS.procedural.image(2, { resolution: 8, channels: 1 });
    const all = proceduralImages({ n: 3, height: 8, rng: new Rng(1234) });
    assert.deepEqual(Array.from(third.images), Array.from(all.images.subarray(2 * 64, 3 * 64)));
    assert.throws(() => dataset("fashion-mnist", 3), /^Error: fashion-mnist has 1 channel; set model\.channels to 1$/);
    assert.throws(() => dataset("textures", 2), /textures has 1 or 3 channels/);
    assert.throws(() => dataset("cifar"), /unknown dataset 'cifar': expected fashion-mnist, procedural, textures/);
    assert.equal(fidOf("fashion-mnist").featureNet, "feature-net");
    assert.throws(() => fidOf("procedural"), /dataset procedural has no FID reference/);
  });
});
