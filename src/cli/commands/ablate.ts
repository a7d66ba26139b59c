/**
 * `infty ablate <spec> --budget fast|full [--shard i/n] [--results dir]`: runs a declarative sweep (experiments/
 * <spec>.json: Table 2, Table 3, Fig. 7), one result JSON per run, resumable and shardable; `infty ablate merge
 * <spec>` builds the table from every complete result file. See docs/experiments.md.
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, choice, flagsHelp, int, parseFlags, SEED_MAX, str } from "../args";
import { backendFlag, startBackend } from "../inputs";
import { checkWritableDir, guardFiles } from "../guard";
import { writeFileAtomic } from "../../lib/runtime/checkpoint";
import {
  loadSpec, loadExperiment, measureThroughput, parseShard, SpecError, BUDGET_NAMES,
} from "../../lib/experiments";

const FLAGS = {
  budget: choice("fast (tiny smoke test) | full (what this machine can run)", BUDGET_NAMES, "full"),
  shard: str("i/n: run only the i-th (0-based) of n deterministic shards", { default: "0/1" }),
  results: str("results root (files go to <results>/<spec>/<hash>.json)", { default: "results" }),
  runs: str("model runs root (checkpoints; not committed)", { default: "runs/ablate" }),
  seed: int("only the runs of this seed (e.g. every spec's seed 0 first, then seed 1)", { min: 0, max: SEED_MAX }),
  wait: bool("if the feature net is missing, train, then wait for it and evaluate"),
  rounds: int("throughput: interleaved rounds", { min: 1, max: 1000, default: 5 }),
  steps: int("throughput: timed steps per variant per round", { min: 1, max: 100_000, default: 10 }),
  list: bool("list this shard's runs and exit"),
  backend: backendFlag("tensorflow | webgpu | wasm | cpu"),
  quiet: bool("no progress bars"),
};

function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SpecError) throw new UsageError(e.message);
    throw e;
  }
}
const load = (name: string) => usage(() => loadSpec(name));
/** A spec of any experiment kind (table sweeps, Fig. 2's cross-resolution): experiments/kinds.ts */
const loadAny = (name: string) => usage(() => loadExperiment(name));

export const ablateCommand: Command = {
  name: "ablate",
  summary: "run the paper's ablations (table2, table3, fig7) as a resumable, shardable sweep; `merge` builds tables",
  usage: `usage: infty ablate <table2|table3|fig7|spec.json> [--budget fast|full] [--shard i/n] [--results dir]\n` +
    `       infty ablate merge <spec> [--budget fast|full] [--results dir]\n` +
    `       infty ablate throughput <spec> [--budget fast|full] [--rounds 5] [--steps 10]   (Table 3's speedup)\n\n` +
    `A finished run (results/<spec>/<hash>.json) is never recomputed; an interrupted one resumes from its checkpoint in\n` +
    `runs/ablate/<trainHash>/. Runs go by seed, then cheapest first. n machines share a sweep with --shard 0/n … --shard n-1/n, then one runs merge.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    const budget = f.budget;
    const resultsDir = path.resolve(f.results);
    if (f._[0] === "throughput") {
      if (f._.length !== 2) throw new UsageError("usage: infty ablate throughput <spec>");
      const spec = load(f._[1]);
      checkWritableDir(resultsDir, `--results ${f.results}`);
      await startBackend(f.backend);
      const t = await measureThroughput(spec, budget, { resultsDir, rounds: f.rounds, steps: f.steps, log: (l) => console.error(l) });
      for (const v of t.variants) console.log(`${v.label.padEnd(20)} ${v.stepsPerSecond.toFixed(2)} step/s` + (v.speedup === null ? "" : `  speedup ${v.speedup.toFixed(2)}×`));
      return;
    }
    if (f._[0] === "merge") {
      if (f._.length !== 2) throw new UsageError("usage: infty ablate merge <spec>");
      const exp = loadAny(f._[1]);
      const outs = [`${exp.name}.${budget}.merged.json`, `${exp.name}.${budget}.md`].map((n) => path.join(resultsDir, n));
      // the tables are rebuilt from the result files on every merge (replaced by design), never over the spec
      guardFiles({ reads: [{ flag: "spec", file: f._[1] }], writes: outs.map((file) => ({ flag: "merge", file, state: true })), dirs: [{ flag: "--results", dir: f.results as string }] });
      const { merged, markdown } = exp.merge(budget, resultsDir);
      console.log(`## ${exp.title}\n\n${markdown}`);
      const m = merged as { skipped?: string[]; featureNets?: unknown[] };
      if (m.skipped?.length) console.error(`skipped ${m.skipped.length} incomplete file(s): ${m.skipped.join(", ")}`);
      if ((m.featureNets?.length ?? 0) > 1) console.error(`warning: results measured with ${m.featureNets!.length} different feature nets`);
      writeFileAtomic(outs[0], JSON.stringify(merged, null, 2) + "\n");
      writeFileAtomic(outs[1], `## ${exp.title}\n\n${markdown}\n`);
      return;
    }
    if (f._.length !== 1) throw new UsageError("give one spec: table2, table3, fig7, fig2 (or a spec .json), or 'merge <spec>'");
    const exp = loadAny(f._[0]);
    let shard;
    try {
      shard = parseShard(f.shard);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    checkWritableDir(resultsDir, `--results ${f.results}`);
    checkWritableDir(path.resolve(f.runs), `--runs ${f.runs}`);
    const all = exp.plans(budget);
    const runs = exp.plans(budget, shard).filter((r) => f.seed === undefined || r.seed === f.seed);
    if (f.list) {
      for (const r of runs) console.log(r.line);
      return;
    }
    await startBackend(f.backend);
    console.error(`${exp.name} (${budget}): shard ${shard.index}/${shard.count} has ${runs.length} of ${all.length} runs`);
    const s = await exp.run(budget, runs, {
      resultsDir, runsDir: path.resolve(f.runs), progress: !f.quiet, waitForFeatureNet: !!f.wait, log: (l) => console.error(l),
    });
    console.error(`${exp.name}: ${s.computed} computed, ${s.cached} already done${s.note ? `, ${s.note}` : ""}`);
  },
};
