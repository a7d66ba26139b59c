/** The Fig. 2 cross-resolution experiment (src/lib/experiments/cross-resolution.ts). */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  initBackend, loadCrossResSpec, validateCrossResSpec, expandCrossRes, shardCrossRes, runCrossRes, mergeCrossRes, expandRuns, loadSpec,
  perImageRms, psnrFromRms, resampledKernelSize, kernelResampleMatrix, SpecError,
} from "infty-diff-lab";

describe("Fig. 2 cross-resolution consistency experiment", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("per-image RMS and PSNR (peak-to-peak 2) by hand", () => {
    const a = { images: Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), shape: [2, 2, 2, 1] as [number, number, number, number] };
    const b = { images: Float32Array.from([0.5, 0.5, -0.5, -0.5, 1, 1, 1, 0]), shape: a.shape };
    assert.deepEqual(perImageRms(a, b), [0.5, 0.5]);
    assert.ok(Math.abs(psnrFromRms(0.2) - 20) < 1e-12); // 20·log10(2/0.2)
  });

  it("'none' keeps the kernel as is; the spec plans 4 variants × 2 datasets and shares ∞-Diff's model with Table 2", () => {
    assert.equal(resampledKernelSize(5, 14, 56, "none"), 5);
    assert.deepEqual(Array.from(kernelResampleMatrix(3, 14, 28, "none")), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const spec = loadCrossResSpec("fig2");
    const plans = expandCrossRes(spec, "full");
    assert.equal(plans.length, 8 * spec.budgets.full.seeds.length);
    const seed = spec.budgets.full.seeds[0];
    const fm = plans.filter((p) => p.dataset === "fashion-mnist" && p.seed === seed);
    const inf = fm.find((p) => p.variant === "∞-Diff")!;
    // no/authors' kernel resampling reuse ∞-Diff's trained model; white noise trains its own
    for (const v of ["∞-Diff, no kernel resampling", "∞-Diff, authors' kernel rule"]) assert.equal(fm.find((p) => p.variant === v)!.trainHash, inf.trainHash);
    assert.notEqual(fm.find((p) => p.variant.startsWith("white-noise"))!.trainHash, inf.trainHash);
    assert.equal(fm.find((p) => p.variant.startsWith("white-noise"))!.config.diffusion.mollifierStd, 0);
    const t2 = expandRuns(loadSpec("table2"), "full").find((r) => r.variant === "∞-Diff (Ours)" && r.seed === seed)!;
    assert.equal(inf.trainHash, t2.trainHash);
    // shards are disjoint and complete, whole models per shard
    const s0 = shardCrossRes(plans, { index: 0, count: 2 }), s1 = shardCrossRes(plans, { index: 1, count: 2 });
    assert.equal(s0.length + s1.length, plans.length);
    assert.ok(!s0.some((p) => s1.some((q) => q.trainHash === p.trainHash)));
  });

  it("rejects unknown keys and bad variants with the path", () => {
    const raw = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "..", "experiments", "fig2.json"), "utf8"));
    assert.throws(() => validateCrossResSpec({ ...raw, extra: 1 }), (e: Error) => e instanceof SpecError && /unknown key 'extra'/.test(e.message));
    const bad = structuredClone(raw);
    bad.variants[0].kernelResampling = "cubic";
    assert.throws(() => validateCrossResSpec(bad), /variants\[0\]\.kernelResampling/);
    const noOne = structuredClone(raw);
    noOne.budgets.full.multipliers = [2, 4];
    assert.throws(() => validateCrossResSpec(noOne), /must include 1/);
  });

  it("a fast sweep runs end to end, writes one result per run, and a rerun computes nothing", async function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossres-"));
    try {
      const spec = loadCrossResSpec("fig2");
      const plans = expandCrossRes(spec, "fast").slice(0, 3);
      const opts = { resultsDir: path.join(dir, "results"), runsDir: path.join(dir, "runs"), specName: "fig2", progress: false, log: () => undefined };
      const first = await runCrossRes(plans, opts);
      assert.equal(first.computed.length, 3);
      const again = await runCrossRes(plans, opts);
      assert.deepEqual([again.computed.length, again.cached.length], [0, 3]);
      const merged = mergeCrossRes(spec, "fast", opts.resultsDir);
      assert.equal(merged.complete, 3);
      for (const r of merged.rows) {
        assert.equal(r.images, spec.budgets.fast.noiseFields);
        assert.ok(r.rmsMean > 0 && Number.isFinite(r.psnrMean));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
