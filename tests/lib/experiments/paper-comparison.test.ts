import { strict as assert } from "assert";
import * as path from "path";
import { loadSpec, mergeResults, paperComparisonRows, projectRoot, tableRows } from "infty-diff-lab";

describe("ablations beside the paper, like with like (ranks and ratios to each table's own reference)", () => {
  const results = path.join(projectRoot(), "results");

  it("Table 3 (committed results): ranks, ratios to the ¼ row on each side, speedups", () => {
    const spec = loadSpec("table3");
    const merged = mergeResults(spec, "full", results);
    const rows = paperComparisonRows(merged, spec);
    const plain = tableRows(merged, spec);
    const ref = plain.find((r) => r.variant === "1/4")!;
    assert.deepEqual(rows.map((r) => r.variant), ["1", "1/2", "1/4", "1/8"]);
    assert.deepEqual(rows.map((r) => r["rank (ours)"]), [1, 2, 3, 4]);
    assert.deepEqual(rows.map((r) => r["rank (paper)"]), [1, 2, 3, 4]);
    for (const r of rows) {
      const p = plain.find((q) => q.variant === r.variant)!;
      assert.equal(r["FID ÷ reference (ours)"], (p.fid as number) / (ref.fid as number));
      assert.equal(r["FID_CLIP ÷ reference (paper)"], (p.paperFid as number) / (ref.paperFid as number));
      assert.equal(r["speedup (paper)"], p.paperSpeedup);
    }
    assert.equal(rows[2]["same side of the reference"], "(reference)");
    assert.ok(rows.every((r) => !Object.keys(r).some((k) => k.startsWith("Δ"))), "no difference of two metrics");
  });

  it("Table 2: a variant better than ∞-Diff here but worse in the paper is marked as disagreeing", () => {
    const spec = loadSpec("table2");
    const rows = paperComparisonRows(mergeResults(spec, "full", results), spec);
    for (const r of rows) {
      if (r.variant === spec.reference) continue;
      const ours = r["FID ÷ reference (ours)"] as number, paper = r["FID_CLIP ÷ reference (paper)"] as number;
      assert.equal(r["same side of the reference"], (ours - 1) * (paper - 1) > 0 ? "yes" : "no");
    }
    assert.ok(!("speedup (ours)" in rows[0]), "Table 2 has no speedups");
  });
});
