import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadExperiment, loadCrossResSpec, expandCrossRes, loadSpec, expandRuns, projectRoot } from "infty-diff-lab";

describe("experiment kinds of the one runner (kinds.ts)", () => {
  const root = projectRoot();

  it("every shipped spec loads as its kind; plans are the kind's own", () => {
    const kinds = Object.fromEntries(["table2", "table3", "fig7", "qmc-long", "fig2"].map((n) => [n, loadExperiment(n).kind]));
    assert.deepEqual(kinds, { table2: "table", table3: "table", fig7: "table", "qmc-long": "table", fig2: "cross-resolution" });
    assert.deepEqual(loadExperiment("fig2").plans("full").map((p) => p.hash), expandCrossRes(loadCrossResSpec("fig2"), "full").map((p) => p.hash));
    assert.deepEqual(loadExperiment("table3").plans("full").map((p) => p.hash), expandRuns(loadSpec("table3"), "full").map((p) => p.hash));
  });

  it("shards of either kind are disjoint, cover every plan, and keep each trained model in one shard", () => {
    for (const name of ["fig2", "table2"]) {
      const exp = loadExperiment(name);
      const all = exp.plans("full");
      const shards = [0, 1, 2].map((index) => exp.plans("full", { index, count: 3 }));
      assert.deepEqual(shards.flat().map((p) => p.hash).sort(), all.map((p) => p.hash).sort(), name);
      const owner = new Map<string, number>();
      shards.forEach((s, i) => s.forEach((p) => assert.equal(owner.get(p.trainHash) ?? (owner.set(p.trainHash, i), i), i, `${name} ${p.trainHash}`)));
    }
  });

  it("merging the committed result files reproduces the committed tables (Fig. 2 and a table sweep)", () => {
    for (const name of ["fig2", "fig7"]) {
      const exp = loadExperiment(name);
      const committed = path.join(root, "results", `${name}.full.md`);
      if (!fs.existsSync(committed)) continue;
      const { markdown } = exp.merge("full", path.join(root, "results"));
      assert.equal(`## ${exp.title}\n\n${markdown}\n`, fs.readFileSync(committed, "utf8"), name);
    }
  });
});
