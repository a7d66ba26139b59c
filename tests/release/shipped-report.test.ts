import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readEvalDir, resolutionRows, projectRoot } from "infty-diff-lab";
import {
  resolutionMarkdown, qualityBarMarkdown, inpaintMarkdownRows, superResMarkdownRows, shippedTables, shippedSources, markedBlocks,
  replaceMarkedBlocks,
} from "infty-diff-lab/release";

const evalJson = (r: number, n: number, steps: number, fid: number, extra: Record<string, unknown> = {}) => JSON.stringify({
  checkpoint: "x", step: 30000, resolution: [r, r], steps, n, fid, kid: fid / 4, sampleSeconds: 90, backend: "wasm",
  baselines: { holdoutFid: 5, blurredTestFid: 190 }, ...extra,
});

describe("shipped-model report", () => {
  let dir = "";
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-report-")); });
  const put = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), body);

  it("pairs each finer grid with 28×28 at the same n and steps and computes the ratio", () => {
    put("r28-n500-s25.json", evalJson(28, 500, 25, 40));
    put("r56-n500-s25.json", evalJson(56, 500, 25, 44));
    put("r112-n500-s25.json", evalJson(112, 500, 25, 52));
    put("r28-n1000-s100.json", evalJson(28, 1000, 100, 30));
    put("r28-n500-s25-even.json", evalJson(28, 500, 25, 99)); // another experiment: skipped
    const recs = readEvalDir(dir);
    assert.deepEqual(recs.map((r) => [r.resolution, r.n, r.steps]), [[28, 1000, 100], [28, 500, 25], [56, 500, 25], [112, 500, 25]]);
    const rows = resolutionRows(recs);
    assert.deepEqual(rows.map((r) => [r.resolution, r.fidAtTrainRes, +r.ratio.toFixed(6)]), [[56, 40, 1.1], [112, 40, 1.3]]);
    const md = resolutionMarkdown(rows).split("\n");
    assert.equal(md.length, 4);
    assert.match(md[2], /^\| 56×56 \| 500, 25 \| 44\.0 \| 40\.0 \| \*\*1\.10\*\* \| 11\.0 \(10\.0\) \| 1\.5 min \|$/);
    assert.match(md[3], /\| 1\.30 \|/, "over the bar: not bold");
    assert.equal(rows[0].ratioStd, null, "no bootstrap in the files: no spread");
    const bar = qualityBarMarkdown(recs, 1000).split("\n");
    assert.deepEqual(bar.slice(2), [
      "| ∞-Diff samples, DDIM 100 steps (step 30,000) | 30.0 | 7.5 |",
      "| test set blurred with σ = 1 px (the quality bar) | 190.0 | |",
      "| held-out training images | 5.0 | |",
    ]);
  });

  it("puts a replaced model's rows (its own folder, same n) after the new model's, in the quality bar and the measurements", () => {
    put("r28-n1000-s100.json", evalJson(28, 1000, 100, 30, { fidInterval95: [27.5, 32.5] }));
    put("inpaint-fid.json", JSON.stringify({ rows: [{ mask: "centre", method: "guided", lambda: 0.5, psnrKnown: 24, psnrMissing: 8, fid: 50, kid: 9 }] }));
    const old = fs.mkdtempSync(path.join(os.tmpdir(), "infty-report-old-"));
    fs.writeFileSync(path.join(old, "r28-n1000-s100.json"), evalJson(28, 1000, 100, 112, { step: 2500 }));
    fs.writeFileSync(path.join(old, "r28-n500-s100.json"), evalJson(28, 500, 100, 120, { step: 2500 })); // another n: not in the bar
    fs.writeFileSync(path.join(old, "inpaint-fid.json"), JSON.stringify({ rows: [{ mask: "centre", method: "guided", lambda: 0.5, psnrKnown: 22, psnrMissing: 7, fid: 90, kid: 18 }] }));
    const curveDir = path.join(dir, "no-curve");
    const t = shippedTables({ evalDir: dir, curveDir, previous: { evalDir: old, label: "old ∞-Diff" } });
    assert.deepEqual(t["quality-bar"]!.split("\n").slice(2, 4), [
      "| ∞-Diff samples, DDIM 100 steps (step 30,000) | 30.0 (27.5–32.5) | 7.5 |",
      "| old ∞-Diff, DDIM 100 steps (step 2,500) | 112.0 | 28.0 |",
    ]);
    assert.deepEqual(t.inpainting!.split("\n").slice(2).map((l) => l.split(" | ")[0]), ["| shipped ∞-Diff", "| old ∞-Diff"]);
    const alone = shippedTables({ evalDir: dir, curveDir, previous: { evalDir: path.join(dir, "absent"), label: "x" } });
    assert.equal(alone["quality-bar"]!.split("\n").length, 5, "no folder for the replaced model: the new model's rows and the baselines");
  });

  it("carries the FIDs' bootstrap spread into the ratio (delta method)", () => {
    put("r28-n500-s25.json", evalJson(28, 500, 25, 40, { fidStd: 2, fidInterval95: [36.08, 43.92] }));
    put("r112-n500-s25.json", evalJson(112, 500, 25, 50, { fidStd: 3, fidInterval95: [44.12, 55.88] }));
    const [row] = resolutionRows(readEvalDir(dir));
    const want = 1.25 * Math.sqrt((3 / 50) ** 2 + (2 / 40) ** 2);
    assert.ok(Math.abs(row.ratioStd! - want) < 1e-12, `${row.ratioStd} vs ${want}`);
    assert.match(resolutionMarkdown([row]).split("\n")[2], /\| 1\.25 ± 0\.10 \|/);
  });

  it("refuses unmatched pairs, mixed models and files that disagree with their names", () => {
    put("r56-n300-s25.json", evalJson(56, 300, 25, 44));
    assert.throws(() => resolutionRows(readEvalDir(dir)), /no r28-n300-s25\.json beside it/);
    put("r28-n300-s25.json", evalJson(28, 300, 25, 40, { step: 2500 }));
    assert.throws(() => resolutionRows(readEvalDir(dir)), /is step 30000 but .* is step 2500/);
    put("r28-n300-s25.json", evalJson(28, 200, 25, 40));
    assert.throws(() => readEvalDir(dir), /holds n = 200, its name says 300/);
    put("r28-n300-s25.json", evalJson(56, 300, 25, 40));
    assert.throws(() => readEvalDir(dir), /holds resolution \[56,56\], its name says 28/);
  });

  it("renders the inpainting and super-resolution records as the README's rows", () => {
    const inpaint = { rows: [
      { mask: "centre", method: "input", lambda: 0, psnrKnown: 206, psnrMissing: 7.493, fid: 136.81, kid: 36.193 },
      { mask: "centre", method: "guided", lambda: 0.5, psnrKnown: 23.544, psnrMissing: 7.3, fid: 90.44, kid: 18.72 },
    ] };
    assert.deepEqual(inpaintMarkdownRows(inpaint, "shipped ∞-Diff"), [
      "| shipped ∞-Diff | centre | input | – | 7.49 | 136.8 | 36.19 |",
      "| shipped ∞-Diff | centre | guided λ = 0.5 | 23.54 | 7.30 | 90.4 | 18.72 |",
    ]);
    const sr = { rows: [
      { scale: 2, method: "bicubic", lambda: null, psnr: 18.9873, featureDistance: 12.16915 },
      { scale: 4, method: "model", lambda: 0, psnr: 15.7412, featureDistance: 17.1049 },
    ] };
    assert.deepEqual(superResMarkdownRows(sr, "autoencoder", "∞-Diff AE"), [
      "| autoencoder | 2× | bicubic | 18.99 | 12.169 |",
      "| autoencoder | 4× | ∞-Diff AE, λ = 0 | 15.74 | 17.105 |",
    ]);
  });

  it("replaces marked blocks by name, keeps the rest, and names a marker that has no table", () => {
    const text = "intro\n<!-- table:curve -->\n\n| old |\n\n<!-- /table -->\nmiddle\n<!-- table:resolution -->\n| old |\n<!-- /table -->\nend";
    const out = replaceMarkedBlocks(text, { curve: "| a |\n|---|", resolution: "| b |" });
    assert.equal(out, "intro\n<!-- table:curve -->\n\n| a |\n|---|\n\n<!-- /table -->\nmiddle\n<!-- table:resolution -->\n\n| b |\n\n<!-- /table -->\nend");
    assert.deepEqual(markedBlocks(out), { curve: "| a |\n|---|", resolution: "| b |" });
    assert.throws(() => replaceMarkedBlocks(text, { curve: "x" }), /no result files for the table 'resolution'/);
  });

  it("every table docs/results.md marks is the one its result files give (no number typed by hand)", () => {
    const results = fs.readFileSync(path.join(projectRoot(), "docs", "results.md"), "utf8");
    const marked = markedBlocks(results);
    const tables = shippedTables(shippedSources());
    assert.deepEqual(Object.keys(marked).sort(), ["curve", "fig7-steps", "inpainting", "memorisation", "quality-bar", "resolution", "super-resolution"]);
    for (const [name, body] of Object.entries(marked)) {
      assert.equal(body, tables[name as keyof typeof tables], `docs/results.md table '${name}' differs from its files: node scripts/shipped-tables.js --write`);
    }
  });

  it("the README is a guide: no generated tables, no issue numbers, at most ~200 lines", () => {
    const readme = fs.readFileSync(path.join(projectRoot(), "README.md"), "utf8");
    assert.deepEqual(markedBlocks(readme), {});
    assert.ok(!/\bissue\s*#?\d+/i.test(readme), "README names an issue number");
    assert.ok(readme.split("\n").length <= 210, `README has ${readme.split("\n").length} lines`);
  });
});
