import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, Rng, FeatureNet, rerunSweep, sweepRows, MergedTable } from "infty-diff-lab";

describe("rerunSweep: a shard of any spec, resuming, with the table after every run", function () {
  this.timeout(180000);
  let tmp: string;
  let fnet: FeatureNet;
  before(async () => {
    await initBackend("wasm", { quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "infty-rerun-"));
    fnet = new FeatureNet(new Rng(0)); // random weights: the pipeline, not the metric
  });
  after(() => {
    fnet.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("shards cover the spec, onTable sees rows appear one run at a time, a rerun reads everything back", async () => {
    const common = { spec: "table3", budget: "fast" as const, seeds: [0], resultsDir: tmp, featureNet: fnet, progress: false, log: () => undefined };
    const seen: MergedTable[] = [];
    const a = await rerunSweep({ ...common, shard: "1/2", onTable: (m) => { seen.push(m); } });
    assert.equal(a.planned, 2, "half of table3's four seed-0 runs");
    assert.equal(a.summary.computed.length, 2);
    assert.deepEqual(seen.map((m) => m.planned - m.missing), [0, 1, 2], "the table before the first run and after each");
    assert.deepEqual(seen.map((m) => sweepRows(m).length), [0, 1, 2]);
    const b = await rerunSweep({ ...common, shard: "0/2" });
    assert.equal(b.summary.computed.length, 2);
    assert.equal(b.merged.missing, 0);
    const rows = sweepRows(b.merged);
    assert.deepEqual(rows.map((r) => r.variant).sort(), ["1", "1/2", "1/4", "1/8"]);
    assert.ok(rows.every((r) => typeof r.FID === "number" && r.seeds === "1/1"));
    const c = await rerunSweep({ ...common });
    assert.deepEqual([c.summary.computed.length, c.summary.cached.length], [0, 4], "nothing recomputed");
    await assert.rejects(() => rerunSweep({ ...common, shard: "2/2" }), /shard 2\/2/);
  });
});
