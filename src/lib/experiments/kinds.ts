/**
 * The experiment kinds of the one runner: every spec in experiments/ is one kind, and a kind is its declaration
 * (zod), its plans (runs with a result hash and a training key, sharded by `shardRuns`), how a run is measured and
 * how its result files merge into a table. The table sweeps (Tables 2/3, Fig. 7: FID/KID per variant) and the
 * Fig. 2 cross-resolution measurement share the spec reader, the training step (`ensureModel`), sharding, result
 * paths and the merge-and-render step; `infty ablate` runs and merges either.
 *
 * Adding a kind: its spec declaration, plans and measurement in its own file, and one entry here.
 */
import type { BudgetName } from "./spec";
import { expandRuns, readSpecFile, shardRuns, Shard, validateSpec, ExperimentSpec, RunPlan } from "./spec";
import { mergeResults } from "./merge";
import { markdownTable } from "./render";
import { runSweep } from "./runner";
import { CrossResPlan, CrossResSpec, crossResMarkdown, expandCrossRes, mergeCrossRes, runCrossRes, validateCrossResSpec } from "./cross-resolution";

/** What a run of plans did: computed now, found done, and a note (e.g. runs trained but waiting for the feature net). */
export interface RunCounts {
  computed: number;
  cached: number;
  note?: string;
}

/** What `runs` needs besides the plans: where results and model runs go, progress, and the log. */
export interface KindRunOptions {
  resultsDir: string;
  runsDir: string;
  progress?: boolean;
  /** where progress lines go (default: the console) */
  log?: (line: string) => void;
  /** table sweeps: train now, evaluate when the feature net exists */
  waitForFeatureNet?: boolean;
}

/**
 * What every spec kind names itself by. Taken from the zod-inferred type rather than spelled out: under tslab's
 * non-strict compiler zod infers these keys as optional, and a literal `{ name: string }` would then reject both kinds.
 */
export type SpecNames = Pick<ExperimentSpec, "name" | "title">;

/** A kind of experiment spec (ablation table or cross-resolution): how its files are recognised, validated, planned, run and merged. */
export interface ExperimentKind<S extends SpecNames, P extends { hash: string; trainHash: string; seed: number }> {
  readonly about: string;
  /** does a parsed spec file belong to this kind (by its keys) */
  matches(raw: Record<string, unknown>): boolean;
  /** the spec checked and typed (an error naming the file and key otherwise) */
  validate(raw: unknown, source: string): S;
  /** every run the spec plans at a budget */
  plans(spec: S, budget: BudgetName): P[];
  /** one line per plan for `--list` */
  describe(plan: P): string;
  /** runs (or resumes) the given plans; returns what was computed, read back and copied */
  run(spec: S, budget: BudgetName, plans: P[], opts: KindRunOptions): Promise<RunCounts>;
  /** the merged table (JSON-able) and its markdown, from every complete result file */
  merge(spec: S, budget: BudgetName, resultsDir: string): { merged: unknown; markdown: string };
}

const table: ExperimentKind<ExperimentSpec, RunPlan> = {
  about: "FID/KID per variant over seeds (Tables 2 and 3, Fig. 7)",
  matches: (raw) => "variants" in raw && !("datasets" in raw),
  validate: validateSpec,
  plans: expandRuns,
  describe: (r) => `${r.hash}  train ${r.trainHash}  ${r.variant}  seed ${r.seed}  ${r.eval.resolution}px  DDIM-${r.eval.ddimSteps}`,
  run: async (spec, budget, runs, o) => {
    const s = await runSweep({ spec, budget, runs, resultsDir: o.resultsDir, runsDir: o.runsDir, progress: o.progress, waitForFeatureNet: o.waitForFeatureNet });
    return {
      computed: s.computed.length, cached: s.cached.length + s.copied.length,
      note: [s.copied.length ? `${s.copied.length} copied from another spec` : "", s.deferred.length ? `${s.deferred.length} trained but not evaluated (no feature net; rerun later)` : ""].filter(Boolean).join(", "),
    };
  },
  merge: (spec, budget, dir) => {
    const merged = mergeResults(spec, budget, dir);
    return { merged, markdown: markdownTable(merged, spec) };
  },
};

const crossResolution: ExperimentKind<CrossResSpec, CrossResPlan> = {
  about: "one white-noise field sampled at r₀, 2r₀, 4r₀ and compared at r₀ (Fig. 2)",
  matches: (raw) => "datasets" in raw,
  validate: validateCrossResSpec,
  plans: expandCrossRes,
  describe: (p) => `${p.hash}  train ${p.trainHash}  ${p.dataset}  ${p.variant}  seed ${p.seed}  ×${p.multipliers.join("/")}  DDIM-${p.ddimSteps}`,
  run: async (spec, _budget, plans, o) => {
    const s = await runCrossRes(plans, { resultsDir: o.resultsDir, runsDir: o.runsDir, specName: spec.name, progress: o.progress, log: o.log });
    return { computed: s.computed.length, cached: s.cached.length };
  },
  merge: (spec, budget, dir) => {
    const merged = mergeCrossRes(spec, budget, dir);
    return { merged, markdown: crossResMarkdown(spec, budget, merged) };
  },
};

/** The registry: its keys are the `ExperimentKindName` union. */
export const EXPERIMENT_KINDS = { table, "cross-resolution": crossResolution } as const;
/** An experiment kind's registry key. */
export type ExperimentKindName = keyof typeof EXPERIMENT_KINDS;

/** A loaded spec of any kind, with the kind's operations bound to it. */
export interface LoadedExperiment {
  kind: ExperimentKindName;
  name: string;
  title: string;
  spec: unknown;
  /** the planned runs at a budget (a shard's share of them), each with its `--list` line */
  plans(budget: BudgetName, shard?: Shard): { hash: string; trainHash: string; seed: number; line: string }[];
  /** runs (or resumes) the given plans */
  run(budget: BudgetName, plans: { hash: string }[], opts: KindRunOptions): Promise<RunCounts>;
  /** the merged table and its markdown from the complete result files */
  merge(budget: BudgetName, resultsDir: string): { merged: unknown; markdown: string };
}

function bind<S extends SpecNames, P extends { hash: string; trainHash: string; seed: number }>(
  name: ExperimentKindName, k: ExperimentKind<S, P>, spec: S,
): LoadedExperiment {
  const all = new Map<BudgetName, P[]>();
  const plansOf = (b: BudgetName) => all.get(b) ?? (all.set(b, k.plans(spec, b)), all.get(b)!);
  return {
    kind: name, name: spec.name, title: spec.title, spec,
    plans: (b, shard) => (shard ? shardRuns(plansOf(b), shard) : plansOf(b)).map((p) => ({ hash: p.hash, trainHash: p.trainHash, seed: p.seed, line: k.describe(p) })),
    run: (b, chosen, o) => {
      const keep = new Set(chosen.map((p) => p.hash));
      return k.run(spec, b, plansOf(b).filter((p) => keep.has(p.hash)), o);
    },
    merge: (b, dir) => k.merge(spec, b, dir),
  };
}

/** Reads a spec of any kind by name (experiments/<name>.json) or path; its keys say which kind it is. */
export function loadExperiment(nameOrFile: string): LoadedExperiment {
  const { raw, source } = readSpecFile(nameOrFile);
  const obj = (raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (crossResolution.matches(obj)) return bind("cross-resolution", crossResolution, crossResolution.validate(raw, source));
  return bind("table", table, table.validate(raw, source));
}
