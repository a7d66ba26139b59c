/**
 * `infty crossres [fig2] [--budget fast|full] [--shard i/n]`: the Fig. 2 cross-resolution consistency experiment
 * (src/lib/experiments/cross-resolution.ts), resumable and shardable; `infty crossres merge [fig2]` writes the table.
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { startBackend } from "../inputs";
import { guardFiles } from "../guard";
import { writeFileAtomic } from "../../lib/runtime/checkpoint";
import {
  loadCrossResSpec, expandCrossRes, shardCrossRes, runCrossRes, mergeCrossRes, crossResMarkdown, parseShard, SpecError, BudgetName, BUDGET_NAMES,
} from "../../lib/experiments";

const FLAGS: FlagSpecs = {
  budget: { kind: "string", help: "fast (smoke test) | full", default: "full",
    check: ((v: string) => (BUDGET_NAMES.includes(v as BudgetName) ? null : "must be fast or full")) as never },
  shard: { kind: "string", help: "i/n: run only the i-th (0-based) of n shards (split by trained model)", default: "0/1" },
  seed: { kind: "int", help: "only the runs of this seed" },
  dataset: { kind: "string", help: "only the runs on this dataset" },
  results: { kind: "string", help: "results root (files go to <results>/<spec>/<hash>.json)", default: "results" },
  runs: { kind: "string", help: "model runs root (shared with `infty ablate`: same config, same model)", default: "runs/ablate" },
  list: { kind: "boolean", help: "list this shard's runs and exit" },
  backend: { kind: "string", help: "tensorflow | wasm | cpu" },
  quiet: { kind: "boolean", help: "no progress bars" },
};

export const crossresCommand: Command = {
  name: "crossres",
  summary: "Fig. 2 measured: the same noise sampled at r₀, 2r₀, 4r₀, compared at r₀ (resumable, shardable; `merge` builds the table)",
  usage: `usage: infty crossres [fig2|spec.json] [--budget fast|full] [--shard i/n] [--seed s]\n       infty crossres merge [fig2|spec.json] [--budget fast|full]\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    const merge = f._[0] === "merge";
    const rest = merge ? f._.slice(1) : f._;
    if (rest.length > 1) throw new UsageError("give at most one spec (default fig2)");
    let spec;
    try {
      spec = loadCrossResSpec(rest[0] ?? "fig2");
    } catch (e) {
      if (e instanceof SpecError) throw new UsageError(e.message);
      throw e;
    }
    const budget = f.budget as BudgetName;
    const resultsDir = path.resolve(f.results as string);
    if (merge) {
      const outs = [`${spec.name}.${budget}.merged.json`, `${spec.name}.${budget}.md`].map((n) => path.join(resultsDir, n));
      guardFiles({ reads: [{ flag: "spec", file: rest[0] }], writes: outs.map((file) => ({ flag: "merge", file, state: true })), dirs: [{ flag: "--results", dir: f.results as string }] });
      const merged = mergeCrossRes(spec, budget, resultsDir);
      const md = `## ${spec.title}\n\n${crossResMarkdown(spec, budget, merged)}\n`;
      console.log(md);
      writeFileAtomic(outs[0], JSON.stringify(merged, null, 2) + "\n");
      writeFileAtomic(outs[1], md);
      return;
    }
    let shard;
    try {
      shard = parseShard(f.shard as string);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const plans = shardCrossRes(expandCrossRes(spec, budget), shard)
      .filter((p) => (f.seed === undefined || p.seed === f.seed) && (f.dataset === undefined || p.dataset === f.dataset));
    if (f.list) {
      for (const p of plans) console.log(`${p.hash}  train ${p.trainHash}  ${p.dataset}  ${p.variant}  seed ${p.seed}`);
      return;
    }
    guardFiles({ reads: [{ flag: "spec", file: rest[0] }], writes: [], dirs: [{ flag: "--results", dir: f.results as string }, { flag: "--runs", dir: f.runs as string }] });
    await startBackend(f.backend as string | undefined);
    console.error(`${spec.name} (${budget}): shard ${shard.index}/${shard.count} has ${plans.length} runs`);
    const s = await runCrossRes(plans, { resultsDir, runsDir: path.resolve(f.runs as string), specName: spec.name, progress: !f.quiet });
    console.error(`${spec.name}: ${s.computed.length} computed, ${s.cached.length} already done`);
  },
};
