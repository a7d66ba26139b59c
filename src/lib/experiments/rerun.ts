/**
 * A sweep rerun for notebooks (and anyone else who wants the table as it fills): any spec at any budget, one shard
 * of it, resuming what exists (finished results are read, partly trained models resume from their checkpoints), with
 * a callback that receives the merged table after every run. `runSweep` does the work.
 */
import * as path from "path";
import { BudgetName, ExperimentSpec, expandRuns, loadSpec, parseShard, shardRuns } from "./spec";
import { runSweep, SweepSummary } from "./runner";
import type { FeatureNet } from "../eval";
import { MergedTable, mergeResults } from "./merge";
import { TableRow } from "./render";

/** What `rerunSweep` runs: spec, budget, shard, seeds, results folder and callbacks. */
export interface RerunOptions {
  /** a spec name ("table2", "table3", "fig7"), a spec file, or a loaded spec */
  spec: string | ExperimentSpec;
  budget: BudgetName;
  /** "i/n": run only the i-th of n shards (default: all runs) */
  shard?: string;
  /** only these seeds (default: every seed the budget plans) */
  seeds?: number[];
  resultsDir: string;
  /** model runs root (default <resultsDir>/runs) */
  runsDir?: string;
  /** receives the merged table once before the first run and after every run */
  onTable?: (merged: MergedTable) => void | Promise<void>;
  /** feature network for FID/KID (default: the committed one) */
  featureNet?: FeatureNet;
  progress?: boolean;
  /** where progress lines go (default: the console) */
  log?: (line: string) => void;
}

/** Runs (or resumes) a sweep and returns its summary and merged table: what `infty ablate` does, callable from a notebook. */
export async function rerunSweep(opts: RerunOptions): Promise<{ summary: SweepSummary; merged: MergedTable; planned: number }> {
  const spec = typeof opts.spec === "string" ? loadSpec(opts.spec) : opts.spec;
  let runs = expandRuns(spec, opts.budget);
  if (opts.seeds) runs = runs.filter((r) => opts.seeds!.includes(r.seed));
  if (opts.shard) runs = shardRuns(runs, parseShard(opts.shard));
  const merge = () => mergeResults(spec, opts.budget, opts.resultsDir);
  if (opts.onTable) await opts.onTable(merge());
  const summary = await runSweep({
    spec, budget: opts.budget, runs, resultsDir: opts.resultsDir, runsDir: opts.runsDir ?? path.join(opts.resultsDir, "runs"),
    featureNet: opts.featureNet, progress: opts.progress, log: opts.log,
    onResult: opts.onTable ? async () => { await opts.onTable!(merge()); } : undefined,
  });
  return { summary, merged: merge(), planned: runs.length };
}

/** Every merged row (all resolutions and step counts, e.g. Fig. 7's grid) as a flat table row. */
export function sweepRows(merged: MergedTable): TableRow[] {
  return merged.rows.map((r) => ({
    variant: r.variant, resolution: r.resolution, "DDIM steps": r.ddimSteps, seeds: `${r.seeds.length}/${r.plannedSeeds}`,
    FID: r.fid, "FID std": r.fidStd, KID: r.kid, "step/s": r.stepsPerSecond, speedup: r.speedup,
  }));
}
