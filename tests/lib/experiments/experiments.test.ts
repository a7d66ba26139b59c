import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  tf, initBackend, Rng, FeatureNet, InftyDiffNetwork, resolveConfig, uniformSubset, fullGrid,
  loadSpec, validateSpec, expandRuns, shardRuns, parseShard, runSweep, mergeResults, tableRows, markdownTable,
  stepsResolutionSeries, readResult, measureThroughput, resultPath, ExperimentSpec, SpecError, BudgetName,
  loadModel, sampleModel, loadFashionMnist, fidBetweenImages, areaResize,
} from "infty-diff-lab";

describe("experiments: specs, runner, shards, merge", function () {
  this.timeout(120000);
  let tmp: string;
  let fnet: FeatureNet;
  const quiet = { progress: false, log: () => undefined };

  before(async () => {
    await initBackend("wasm", { quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "infty-ablate-"));
    fnet = new FeatureNet(new Rng(0)); // random weights: tests exercise the pipeline, not the metric's meaning
  });
  after(() => {
    fnet.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const sweep = (spec: ExperimentSpec, budget: BudgetName, dir: string, extra: Record<string, unknown> = {}) =>
    runSweep({ spec, budget, runs: expandRuns(spec, budget), resultsDir: path.join(dir, "results"), runsDir: path.join(dir, "runs"), featureNet: fnet, ...quiet, ...extra });

  it("shipped specs load; unknown keys and bad configs are rejected with the path", () => {
    for (const n of ["table2", "table3", "fig7"]) assert.equal(loadSpec(n).name, n);
    const raw = JSON.parse(fs.readFileSync(path.join(__dirname, "../../../../experiments/table3.json"), "utf8"));
    assert.throws(() => validateSpec({ ...raw, extra: 1 }), (e: Error) => e instanceof SpecError && /unknown key 'extra'/.test(e.message));
    const badBudget = structuredClone(raw);
    badBudget.budgets.fast.stepz = 3;
    assert.throws(() => validateSpec(badBudget), /budgets\.fast: unknown key 'stepz'/);
    const badVariant = structuredClone(raw);
    badVariant.variants[0].overrides = { train: { coordRatioo: 1 } };
    assert.throws(() => validateSpec(badVariant), /variant '1'.*unknown key 'coordRatioo'/);
    const badValue = structuredClone(raw);
    badValue.variants[0].overrides = { model: { operator: "fancy" } };
    assert.throws(() => validateSpec(badValue), /model\.operator/);
  });

  it("keys: the same computation has the same key across specs; Fig. 7 shares one trained model", () => {
    for (const b of ["fast", "full"] as BudgetName[]) {
      const t2 = expandRuns(loadSpec("table2"), b), t3 = expandRuns(loadSpec("table3"), b), f7 = expandRuns(loadSpec("fig7"), b);
      const ours = t2.filter((r) => r.variant === "∞-Diff (Ours)").map((r) => r.hash).sort();
      const quarter = t3.filter((r) => r.variant === "1/4").map((r) => r.hash).sort();
      assert.deepEqual(ours, quarter);
      assert.equal(new Set(f7.map((r) => r.trainHash)).size, 1);
      assert.ok(quarter.length && f7[0].trainHash === t3.find((r) => r.variant === "1/4" && r.seed === 0)!.trainHash);
      assert.equal(new Set(t2.map((r) => r.hash)).size, t2.length);
      // points above r₀ are compared at r₀ (and keyed so); 1× points keep their keys
      for (const r of [...t2, ...t3, ...f7]) assert.equal(r.eval.compareAt, r.eval.resolutionMultiplier === 1 ? undefined : "r0", r.hash);
    }
  });

  it("--shard i/n covers every run exactly once and keeps a model's runs together", () => {
    assert.throws(() => parseShard("2/2"), /0 ≤ i < n/);
    assert.throws(() => parseShard("1-2"), /i\/n/);
    for (const name of ["table2", "table3", "fig7"]) for (const b of ["fast", "full"] as BudgetName[]) {
      const all = expandRuns(loadSpec(name), b);
      for (let n = 1; n <= 5; n++) {
        const seen: string[] = [];
        for (let i = 0; i < n; i++) {
          const mine = shardRuns(all, { index: i, count: n });
          assert.deepEqual(shardRuns(all, { index: i, count: n }).map((r) => r.hash), mine.map((r) => r.hash), "deterministic");
          seen.push(...mine.map((r) => r.hash));
          const models = new Set(mine.map((r) => r.trainHash));
          for (const r of all) if (models.has(r.trainHash)) assert.ok(mine.includes(r), "a model's runs stay in one shard");
        }
        assert.deepEqual(seen.slice().sort(), all.map((r) => r.hash).sort());
      }
    }
  });

  it("a fast sweep runs end to end; a finished run is never recomputed; identical runs are copied across specs", async () => {
    const t3 = loadSpec("table3");
    const s1 = await sweep(t3, "fast", tmp);
    assert.equal(s1.computed.length, 4);
    const files = s1.computed.map((h) => resultPath(path.join(tmp, "results"), "table3", h));
    for (const f of files) {
      const r = readResult(f)!;
      assert.ok(r && Number.isFinite(r.metrics.fid) && Number.isFinite(r.metrics.kid));
      assert.equal(r.metrics.nSamples, 8);
      assert.equal(r.budget, "fast");
      assert.equal(r.backend, "wasm");
      assert.match(r.code?.commit ?? "", /^[0-9a-f]{40}$/, "the result records the code it ran");
      assert.ok(r.train.stepsPerSecond > 0 && r.wallSeconds > 0 && r.seed === 0);
    }
    const before = files.map((f) => [fs.readFileSync(f, "utf8"), fs.statSync(f).mtimeMs]);
    const s2 = await sweep(t3, "fast", tmp);
    assert.deepEqual([s2.computed.length, s2.cached.length], [0, 4]);
    assert.deepEqual(files.map((f) => [fs.readFileSync(f, "utf8"), fs.statSync(f).mtimeMs]), before);

    const t2 = loadSpec("table2");
    const s3 = await sweep(t2, "fast", tmp);
    assert.deepEqual([s3.computed.length, s3.copied.length], [4, 1]);
    const merged = mergeResults(t2, "fast", path.join(tmp, "results"));
    assert.equal(merged.missing, 0);
    const rows = tableRows(merged, t2);
    assert.deepEqual(rows.map((r) => r.paperFid), [85.99, 24.49, 7.63, 5.63, 4.75]);
    assert.ok(rows.every((r) => typeof r.fid === "number"));
    const md = markdownTable(merged, t2);
    assert.ok(md.includes("Sparse Downsample") && md.includes("85.99") && md.includes("Budget `fast`"));
    const m3 = mergeResults(t3, "fast", path.join(tmp, "results"));
    assert.equal(m3.rows.find((r) => r.variant === "1")!.speedup, 1);
  });

  it("a killed run leaves no result and resumes from its checkpoint to the same numbers", async () => {
    const t3 = loadSpec("table3");
    const one: ExperimentSpec = { ...t3, name: "resume", variants: [t3.variants[2]], budgets: { ...t3.budgets, fast: { ...t3.budgets.fast, steps: 4, checkpointEvery: 2 } } };
    const killed = path.join(tmp, "killed"), clean = path.join(tmp, "clean");
    const k = await sweep(one, "fast", killed, { killAfterSteps: 3 });
    assert.equal(k.unfinished.length, 1);
    assert.equal(fs.existsSync(path.join(killed, "results", "resume")), false, "nothing written to results");
    const hash = k.unfinished[0];
    const r = await sweep(one, "fast", killed);
    assert.deepEqual(r.computed, [hash]);
    const resumed = readResult(resultPath(path.join(killed, "results"), "resume", hash))!;
    assert.equal(resumed.train.resumed, true);
    await sweep(one, "fast", clean);
    const straight = readResult(resultPath(path.join(clean, "results"), "resume", hash))!;
    assert.equal(straight.train.resumed, false);
    assert.equal(resumed.metrics.fid, straight.metrics.fid);
    assert.equal(resumed.metrics.kid, straight.metrics.kid);
  });

  it("merge reads only complete result files", async () => {
    const t3 = loadSpec("table3");
    const dir = path.join(tmp, "results", "table3");
    const names = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
    const victim = names[0];
    const text = fs.readFileSync(path.join(dir, victim), "utf8");
    fs.writeFileSync(path.join(dir, `${victim}.tmp-12345`), text.slice(0, 50)); // a writer's temp file
    fs.writeFileSync(path.join(dir, victim), text.slice(0, text.length >> 1)); // torn (not possible via the runner)
    fs.writeFileSync(path.join(dir, "0000000000000000.json"), JSON.stringify({ hello: 1 })); // foreign
    const m = mergeResults(t3, "fast", path.join(tmp, "results"));
    assert.equal(m.missing, 1);
    assert.equal(m.rows.length, 3);
    assert.deepEqual(m.skipped.sort(), ["0000000000000000.json", victim, `${victim}.tmp-12345`].sort());
    // the runner treats the torn file as absent and redoes that run (its model is reused)
    const s = await sweep(t3, "fast", tmp);
    assert.deepEqual(s.computed, [victim.replace(/\.json$/, "")]);
    assert.equal(mergeResults(t3, "fast", path.join(tmp, "results")).missing, 0);
  });

  it("throughput: interleaved measurement, stored once, used by merge for the speedup", async () => {
    const t3 = loadSpec("table3");
    const res = path.join(tmp, "results");
    const t = await measureThroughput(t3, "fast", { resultsDir: res, rounds: 2, steps: 2, warmup: 1 });
    assert.deepEqual(t.variants.map((v) => v.label), ["1", "1/2", "1/4", "1/8"]);
    assert.equal(t.variants[0].speedup, 1);
    assert.ok(t.variants.every((v) => v.stepSeconds.length === 4 && v.stepsPerSecond > 0));
    const again = await measureThroughput(t3, "fast", { resultsDir: res, rounds: 2, steps: 2, warmup: 1 });
    assert.equal(again.finishedAt, t.finishedAt, "not remeasured");
    const m = mergeResults(t3, "fast", res);
    assert.equal(m.throughput?.hash, t.hash);
    assert.equal(m.skipped.filter((f) => f.startsWith("throughput-")).length, 0);
    assert.equal(m.rows.find((r) => r.variant === "1/8")!.speedup, t.variants[3].speedup);
  });

  it("Fig. 7: one model, FID per (resolution, steps)", async () => {
    const f7 = loadSpec("fig7");
    const s = await sweep(f7, "fast", tmp);
    assert.equal(s.computed.length, 4);
    const series = stepsResolutionSeries(mergeResults(f7, "fast", path.join(tmp, "results")));
    assert.deepEqual(series.map((x) => [x.resolution, x.steps]), [[8, [2, 3]], [16, [2, 3]]]);
    assert.ok(markdownTable(mergeResults(f7, "fast", path.join(tmp, "results")), f7).includes("16×16 (2×)"));
    // a 2× point's FID is that of its samples area-resized to r₀ against the r₀ reference: resample and recompute
    const hi = s.computed.map((h) => readResult(resultPath(path.join(tmp, "results"), "fig7", h))!).find((r) => r.eval.resolutionMultiplier === 2)!;
    const model = loadModel(path.join(tmp, "runs", hi.trainHash, "checkpoint.bin"));
    const again = await sampleModel(model.net, model.cfg, { resolution: hi.eval.resolution, n: hi.eval.samples, batchSize: hi.eval.sampleBatch, steps: hi.eval.ddimSteps, seed: 1000 + hi.seed, progress: false });
    model.net.dispose();
    const ref = loadFashionMnist({ split: "test", limit: hi.eval.testImages, size: 8 });
    assert.ok(Math.abs((await fidBetweenImages(areaResize(again.x0, 8, 8), ref, fnet)) - hi.metrics.fid) < 1e-3 * hi.metrics.fid);
  });

  it("sparse-downsample network: any resolution, every parameter in the graph, no leak", () => {
    const cfg = resolveConfig({ model: { resolution: 8, nf: 4, timeEmbDim: 8, sparseBlocks: 1, kernelSize: 3, downsample: "sparse",
      unet: { res: 4, baseChannels: 4, mults: [1, 2], blocksPerLevel: 1, attnRes: [], groups: 2 } } });
    const net = new InftyDiffNetwork(cfg.model, new Rng(0));
    assert.ok(net.params.names().some((n) => n.startsWith("sparse.down1")) && !net.params.names().some((n) => n.startsWith("unet")));
    const t = tf.tensor1d([3, 700], "int32");
    for (const set of [uniformSubset(new Rng(1), 2, 8, 8, { ratio: 0.25 }), fullGrid(2, 16, 16)]) {
      const ctx = net.context(set);
      const x = tf.randomNormal([2, set.M, 1]) as tf.Tensor3D;
      const n0 = tf.memory().numTensors;
      const y = net.apply(x, ctx, t, { dropoutRng: null });
      assert.deepEqual(y.shape, [2, set.M, 1]);
      y.dispose();
      assert.equal(tf.memory().numTensors, n0);
      const { value, grads } = tf.variableGrads(() => net.apply(x, ctx, t, { dropoutRng: null }).square().mean() as tf.Scalar, net.params.variables());
      assert.equal(Object.keys(grads).length, net.params.variables().length);
      tf.dispose([value, x, ...Object.values(grads)]);
      ctx.dispose();
    }
    t.dispose();
    net.dispose();
  });
});
