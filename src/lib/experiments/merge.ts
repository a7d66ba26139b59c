/**
 * Merging a sweep: read every complete result file of a spec (files written by the runner are complete by
 * construction; temp files, torn or foreign JSON are skipped and reported), keep the runs the spec plans at the
 * requested budget, and aggregate per variant (tables) or per evaluation point (Fig. 7) over seeds: mean and sample
 * standard deviation of FID and KID, and, with a baseline, the training speedup = baseline median step time / this
 * variant's median step time (means over seeds).
 */
import * as fs from "fs";
import * as path from "path";
import { ExperimentSpec, BudgetName, expandRuns } from "./spec";
import { RunResult, readResult } from "./runner";
import { ThroughputResult, readThroughput } from "./throughput";
import { Rng } from "../runtime/rng";
import { RankAgreement, PairedComparison, bootstrapMeanInterval, pairedComparison, rankAgreement } from "../eval/statistics";

/** Seed of the bootstrap resampling, so a merge is reproducible. */
const BOOTSTRAP_SEED = 16;

/** One variant at one evaluation point, merged over seeds: mean FID/KID, spread, speed. */
export interface MergedRow {
  variant: string;
  resolution: number;
  resolutionMultiplier: number;
  ddimSteps: number;
  /** seeds that finished */
  seeds: number[];
  /** seeds the spec plans at this budget */
  plannedSeeds: number;
  fid: number;
  fidStd: number | null;
  /** 95 % percentile-bootstrap interval of the mean FID over seeds (null below 2 seeds) */
  fidInterval: [number, number] | null;
  /** per seed, for paired comparisons and figures */
  perSeed: { seed: number; fid: number; kid: number }[];
  kid: number;
  kidStd: number | null;
  stepsPerSecond: number;
  /**
   * training speedup over the spec's baseline variant: from the interleaved throughput measurement when there is
   * one (throughput.ts), else from the runs' own logs (null without a baseline or its results)
   */
  speedup: number | null;
  /** speedup from the runs' own training logs (sequential runs: includes changes of machine load) */
  speedupFromLogs: number | null;
  nSamples: number;
  nTest: number;
  trainSteps: number;
  backend: string | null;
  wallSeconds: number;
}

/** A spec's results merged into rows, with what is missing and the table's statistics. */
export interface MergedTable {
  spec: string;
  title: string;
  budget: BudgetName;
  budgetNote: string;
  rows: MergedRow[];
  /** runs planned but without a complete result */
  missing: number;
  planned: number;
  /** files in the spec's directory that were not complete results (temp, torn, foreign) */
  skipped: string[];
  /** distinct feature-net hashes among the results (more than one means the metrics are not comparable) */
  featureNets: string[];
  /** the interleaved throughput measurement used for `speedup`, if any */
  throughput: ThroughputResult | null;
  /** tables only (one evaluation point): ranking against the paper and paired comparisons against the reference row */
  statistics: TableStatistics | null;
}

/** A table's statistics: ranking against the paper and paired comparisons with the reference row. */
export interface TableStatistics {
  /** the ∞-Diff row (spec.reference) */
  reference: string | null;
  /** Spearman ρ of our mean FIDs against the paper's FID_CLIP over the variants with both (null below 3 variants) */
  rank: (RankAgreement & { variants: string[] }) | null;
  /** per variant other than the reference: FID(variant) − FID(reference) on shared seeds */
  paired: ({ variant: string } & PairedComparison)[];
}

/** Every complete result in <resultsDir>/<spec>/ (and the names of files that are not). */
export function readResults(resultsDir: string, spec: string): { results: RunResult[]; skipped: string[] } {
  const dir = path.join(resultsDir, spec);
  if (!fs.existsSync(dir)) return { results: [], skipped: [] };
  const results: RunResult[] = [], skipped: string[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (f.startsWith("throughput-")) continue;
    const r = f.endsWith(".json") ? readResult(path.join(dir, f)) : null;
    if (r) results.push(r);
    else skipped.push(f);
  }
  return { results, skipped };
}

function meanStd(xs: number[]): [number, number | null] {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return [m, null];
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1))];
}

/** Reads a spec's result files and merges them into rows (incomplete files are skipped and listed). */
export function mergeResults(spec: ExperimentSpec, budget: BudgetName, resultsDir: string): MergedTable {
  const plan = expandRuns(spec, budget);
  const { results, skipped } = readResults(resultsDir, spec.name);
  const byHash = new Map(results.map((r) => [r.hash, r]));
  const groups = new Map<string, { key: RunResultKey; results: RunResult[] }>();
  let missing = 0;
  for (const p of plan) {
    const key: RunResultKey = { variant: p.variant, resolution: p.eval.resolution, resolutionMultiplier: p.eval.resolutionMultiplier, ddimSteps: p.eval.ddimSteps };
    const id = `${p.variant}|${p.eval.resolution}|${p.eval.ddimSteps}`;
    if (!groups.has(id)) groups.set(id, { key, results: [] });
    const r = byHash.get(p.hash);
    if (r) groups.get(id)!.results.push(r);
    else missing++;
  }
  const seedsPlanned = spec.budgets[budget].seeds.length;
  const rows: MergedRow[] = [];
  const rng = new Rng(BOOTSTRAP_SEED);
  for (const { key, results: rs } of groups.values()) {
    if (!rs.length) continue;
    rs.sort((a, b) => a.seed - b.seed);
    const [fid, fidStd] = meanStd(rs.map((r) => r.metrics.fid));
    const [kid, kidStd] = meanStd(rs.map((r) => r.metrics.kid));
    const [medStep] = meanStd(rs.map((r) => r.train.medianStepSeconds));
    rows.push({
      ...key, seeds: rs.map((r) => r.seed).sort((a, b) => a - b), plannedSeeds: seedsPlanned,
      fid, fidStd, fidInterval: bootstrapMeanInterval(rs.map((r) => r.metrics.fid), rng),
      perSeed: rs.map((r) => ({ seed: r.seed, fid: r.metrics.fid, kid: r.metrics.kid })), kid, kidStd, stepsPerSecond: 1 / medStep, speedup: null, speedupFromLogs: null,
      nSamples: rs[0].metrics.nSamples, nTest: rs[0].metrics.nTest, trainSteps: rs[0].train.steps,
      backend: rs[0].backend, wallSeconds: rs.reduce((a, r) => a + r.wallSeconds, 0),
    });
  }
  let throughput: ThroughputResult | null = null;
  const dir = path.join(resultsDir, spec.name);
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).sort()) {
      const t = f.startsWith("throughput-") ? readThroughput(path.join(dir, f)) : null;
      if (t && t.budget === budget && (!throughput || t.finishedAt > throughput.finishedAt)) throughput = t;
    }
  }
  if (spec.baseline !== undefined) {
    for (const row of rows) {
      const base = rows.find((r) => r.variant === spec.baseline && r.resolution === row.resolution && r.ddimSteps === row.ddimSteps);
      if (base) row.speedupFromLogs = row.stepsPerSecond / base.stepsPerSecond;
      row.speedup = throughput?.variants.find((v) => v.label === row.variant)?.speedup ?? row.speedupFromLogs;
    }
  }
  const order = spec.variants.map((v) => v.label);
  rows.sort((a, b) => order.indexOf(a.variant) - order.indexOf(b.variant) || a.resolution - b.resolution || a.ddimSteps - b.ddimSteps);
  const ev = spec.budgets[budget].eval;
  const isTable = ev.ddimSteps.length * ev.resolutionMultipliers.length === 1;
  return {
    spec: spec.name, title: spec.title, budget, budgetNote: spec.budgets[budget].note, rows, missing, planned: plan.length, skipped,
    featureNets: [...new Set(results.map((r) => r.featureNet.sha256))], throughput,
    statistics: isTable ? tableStatistics(spec, rows, rng) : null,
  };
}

/** Spearman ρ against the paper and paired comparisons against spec.reference, for a one-point table. */
export function tableStatistics(spec: ExperimentSpec, rows: MergedRow[], rng: Rng): TableStatistics {
  const withPaper = spec.variants.map((v) => ({ v, row: rows.find((r) => r.variant === v.label) }))
    .filter((x) => x.v.paper?.fid !== undefined && x.row);
  const rank = withPaper.length >= 3
    ? { ...rankAgreement(withPaper.map((x) => x.row!.perSeed.map((p) => p.fid)), withPaper.map((x) => x.v.paper!.fid!), rng), variants: withPaper.map((x) => x.v.label) }
    : null;
  const ref = spec.reference ? rows.find((r) => r.variant === spec.reference) : undefined;
  const paired: TableStatistics["paired"] = [];
  if (ref) {
    const refMap = new Map(ref.perSeed.map((p) => [p.seed, p.fid]));
    for (const r of rows) {
      if (r === ref) continue;
      const c = pairedComparison(new Map(r.perSeed.map((p) => [p.seed, p.fid])), refMap, rng);
      if (c) paired.push({ variant: r.variant, ...c });
    }
  }
  return { reference: spec.reference ?? null, rank, paired };
}

interface RunResultKey {
  variant: string;
  resolution: number;
  resolutionMultiplier: number;
  ddimSteps: number;
}
