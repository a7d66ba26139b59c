import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readQualityCurve, qualityCurveMarkdown } from "infty-diff-lab";

const evalJson = (step: number, fid: number, extra: Record<string, unknown> = {}) => JSON.stringify({
  checkpoint: "x", step, steps: 100, n: 1000, fid, kid: fid / 10, sampleSeconds: 120, backend: "wasm",
  baselines: { holdoutFid: 4.9, blurredTestFid: 194.4 }, ...extra,
});

describe("quality curve files", () => {
  let dir = "";
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-curve-")); });

  it("reads step-N.json sorted by step, ignores other files, renders one table row per point", () => {
    fs.writeFileSync(path.join(dir, "step-10000.json"), evalJson(10000, 61.25));
    fs.writeFileSync(path.join(dir, "step-2500.json"), evalJson(2500, 112.14));
    fs.writeFileSync(path.join(dir, "notes.json"), "{}");
    const pts = readQualityCurve(dir);
    assert.deepEqual(pts.map((p) => [p.step, p.fid, p.holdoutFid, p.backend]), [[2500, 112.14, 4.9, "wasm"], [10000, 61.25, 4.9, "wasm"]]);
    const md = qualityCurveMarkdown(pts).split("\n");
    assert.equal(md.length, 4);
    assert.match(md[2], /^\| 2,500 \| 112\.1 \| 11\.21 \| 1000 \| 100 \| 4\.9 \| 194\.4 \| 2\.0 min \| wasm \|$/);
    assert.equal(pts[0].fidInterval95, null, "evals made before the bootstrap have no interval");
    assert.match(qualityCurveMarkdown(pts, 2500).split("\n")[2], /^\| \*\*2,500\*\* \(shipped\) \| 112\.1 \|/, "the shipped step is marked");
    assert.match(qualityCurveMarkdown(pts, 2500).split("\n")[3], /^\| 10,000 \| 61\.3 \|/, "the others are not");
  });

  it("shows FID's bootstrap interval where the eval has one, and rejects a malformed one", () => {
    fs.writeFileSync(path.join(dir, "step-20000.json"), evalJson(20000, 48.04, { fidInterval95: [46.5, 49.58] }));
    const [p] = readQualityCurve(dir);
    assert.deepEqual(p.fidInterval95, [46.5, 49.58]);
    assert.match(qualityCurveMarkdown([p]).split("\n")[2], /^\| 20,000 \| 48\.0 \(46\.5–49\.6\) \| 4\.80 \|/);
    fs.writeFileSync(path.join(dir, "step-20000.json"), evalJson(20000, 48.04, { fidInterval95: [49, 46] }));
    assert.throws(() => readQualityCurve(dir), /step-20000\.json: 'fidInterval95' must be \[low, high\]/);
  });

  it("names the file whose step disagrees with its name, or that lacks the baselines", () => {
    fs.writeFileSync(path.join(dir, "step-5000.json"), evalJson(4000, 80));
    assert.throws(() => readQualityCurve(dir), /step-5000\.json: holds step 4000/);
    fs.writeFileSync(path.join(dir, "step-5000.json"), evalJson(5000, 80, { baselines: undefined }));
    assert.throws(() => readQualityCurve(dir), /step-5000\.json: 'baselines\.holdoutFid' missing/);
  });

  it("an absent directory is an empty curve", () => {
    assert.deepEqual(readQualityCurve(path.join(dir, "nope")), []);
  });
});
