import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStepsCurve, stepsCurveMarkdown, stepsSeries, stepsTrend } from "infty-diff-lab";

function write(dir: string, name: string, o: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, name), JSON.stringify(o));
}
const point = (r: number, steps: number, fid: number, sd: number, grid = "ddim-stride", clip = true) => ({
  resolution: [r, r], steps, n: 500, fid, fidStd: sd, fidInterval95: [fid - 1.96 * sd, fid + 1.96 * sd], kid: 1, sampleSeconds: 10,
  ddimGrid: grid, clipTx0: clip,
});

describe("Fig. 7 on the shipped model: the steps curve", () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "steps-curve-")); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads points into lines and calls a change beyond 1.96 sd of the difference a trend", () => {
    write(dir, "r28-default-s10-n500.json", point(28, 10, 130, 6));
    write(dir, "r28-default-s100-n500.json", point(28, 100, 50, 3));
    write(dir, "r28-noclip-s10-n500.json", point(28, 10, 60, 3, "ddim-stride", false));
    write(dir, "r28-noclip-s100-n500.json", point(28, 100, 62, 3, "ddim-stride", false));
    write(dir, "notes.txt", {});
    const pts = readStepsCurve(dir);
    assert.equal(pts.length, 4);
    const lines = stepsSeries(pts);
    assert.deepEqual(lines.map((s) => [s.variant, s.points.map((p) => p.steps)]), [["default", [10, 100]], ["noclip", [10, 100]]]);
    const t = stepsTrend(lines[0])!;
    assert.equal(t.trend, "falls");
    assert.ok(Math.abs(t.sd! - Math.hypot(6, 3)) < 1e-12);
    assert.equal(stepsTrend(lines[1])!.trend, "flat"); // +2 within 1.96·√18 ≈ 8.3
    const md = stepsCurveMarkdown(pts);
    assert.match(md, /\| 28×28 \| authors' grid \(ddimN stride\), Tx̂₀ clipped \| 500 \| 130\.0 \(118\.2–141\.8\) \| 50\.0 \(44\.1–55\.9\) \| falls \(-80\.0 ± 13\.1\) \|/);
  });

  it("a file that contradicts its name or its variant is an error naming it", () => {
    write(dir, "r28-default-s25-n500.json", point(28, 10, 1, 1));
    assert.throws(() => readStepsCurve(dir), /r28-default-s25-n500\.json: holds steps 10, its name says 25/);
    fs.rmSync(path.join(dir, "r28-default-s25-n500.json"));
    write(dir, "r28-even-s10-n500.json", point(28, 10, 1, 1));
    assert.throws(() => readStepsCurve(dir), /variant 'even' means even/);
  });
});
