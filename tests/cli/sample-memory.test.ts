/**
 * Issue 29, case 11: the memory limit on sampling comes from measurement. The estimate (src/cli/inputs.ts,
 * SAMPLE_MEMORY) is pinned to the peaks bench/sample-memory.ts measured (bench/sample-memory.json, committed): never
 * below a measured peak, never more than 1.5× above it. Where --batch is not given, the largest batch that fits is
 * used and said; one image that cannot fit is still refused in one line.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { initBackend, loadCheckpoint, resolveStoredConfig } from "infty-diff-lab";
import { estimateSampleBytes, chooseBatch, sampleMemoryBudget } from "../../src/cli/inputs";

const ROOT = path.resolve(__dirname, "../../..");
/** the stated factor: the estimate is at least the measured peak and at most this many times it */
const FACTOR = 1.5;

describe("sampling memory: an estimate calibrated on measured peaks (issue 29, case 11)", () => {
  const bench = JSON.parse(fs.readFileSync(path.join(ROOT, "bench/sample-memory.json"), "utf8")) as {
    checkpoint: string; nf: number; rows: Array<{ res: number; batch: number; peakRssBytes: number }>;
  };
  const cfg = resolveStoredConfig(loadCheckpoint(path.join(ROOT, bench.checkpoint)).meta.config);
  before(() => initBackend("wasm", { quiet: true }));

  it(`covers small and large grids and batches (${bench.rows.length} sizes)`, () => {
    assert.equal(cfg.model.nf, bench.nf);
    assert.ok(bench.rows.length >= 8);
    assert.ok(bench.rows.some((r) => r.res >= 256) && bench.rows.some((r) => r.batch >= 16));
  });

  it(`is within [1, ${FACTOR}]× of every measured peak`, () => {
    const off = bench.rows.map((r) => ({ ...r, ratio: estimateSampleBytes(cfg, r.batch, r.res, r.res) / r.peakRssBytes }))
      .filter((r) => !(r.ratio >= 1 && r.ratio <= FACTOR));
    assert.deepEqual(off.map((r) => `${r.res}²×${r.batch}: ${r.ratio.toFixed(2)}×`), []);
  });

  it("serves `sample --resolution 256 --n 4` at its default batch (was: refused, 'needs about 5.0 GiB')", () => {
    assert.ok(estimateSampleBytes(cfg, 4, 256, 256) < 2 ** 30);
    const lines: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => { lines.push(a.join(" ")); };
    try {
      assert.equal(chooseBatch(cfg, undefined, 4, 256, 256, "sample"), 4);
      assert.deepEqual(lines, []);
      // a grid where 16 do not fit: the largest batch that does, said on stderr
      const b = chooseBatch(cfg, undefined, 16, 768, 768, "sample");
      assert.ok(b >= 1 && b < 16, `batch ${b}`);
      assert.ok(estimateSampleBytes(cfg, b, 768, 768) <= sampleMemoryBudget().bytes);
      assert.ok(estimateSampleBytes(cfg, b + 1, 768, 768) > sampleMemoryBudget().bytes);
      assert.equal(lines.length, 1);
      assert.match(lines[0], new RegExp(`infty sample: batch ${b}, the largest that fits .* at 768×768; --batch chooses another`));
    } finally {
      console.error = orig;
    }
  });

  it("still refuses what cannot fit: one image too large, or a --batch the user chose beyond the budget", () => {
    assert.throws(() => chooseBatch(cfg, undefined, 16, 4096, 4096 * 4, "sample"), { name: "UsageError", message: /a batch of 1 at 4096×16384 needs about/ });
    assert.throws(() => chooseBatch(cfg, 1024, 1024, 768, 768, "sample"), { name: "UsageError", message: /lower --batch or --resolution/ });
  });
});
