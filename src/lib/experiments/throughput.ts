/**
 * Training throughput measured under equal conditions (Table 3's speedup). A sweep's runs are trained one after the
 * other, so on a shared machine their logged step times also measure whatever else ran at the time. Here the
 * variants' trainers live in one process and take turns: `rounds` rounds, each timing `steps` optimisation steps of
 * every variant in turn (after a warm-up), so background load falls on all of them alike. Speedup = baseline median
 * step time / variant median step time. Written atomically to <results>/<spec>/throughput-<hash>.json.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { currentBackend } from "../runtime/backend";
import { Trainer, trainingImages } from "../pipelines/train";
import { writeFileAtomic } from "../runtime/checkpoint";
import { ExperimentSpec, BudgetName, resolvedConfig, shortHash, hashableConfig } from "./spec";

/** Format tag of a throughput measurement file. */
export const THROUGHPUT_FORMAT = "infty-ablate-throughput/1";

/** Training steps per second of every variant, measured interleaved in one process. */
export interface ThroughputResult {
  format: typeof THROUGHPUT_FORMAT;
  hash: string;
  spec: string;
  budget: BudgetName;
  rounds: number;
  stepsPerRound: number;
  variants: { label: string; medianStepSeconds: number; stepsPerSecond: number; speedup: number | null; stepSeconds: number[] }[];
  backend: string | null;
  wallSeconds: number;
  host: { cpus: number; loadAverage: number[] };
  finishedAt: string;
}

/** The key of a throughput measurement: the variants' configs, rounds and steps. */
export function throughputKey(spec: ExperimentSpec, budget: BudgetName, rounds: number, steps: number) {
  return shortHash({ configs: spec.variants.map((v) => hashableConfig(resolvedConfig(spec, budget, v, 0))), rounds, steps });
}

/** Where a throughput measurement is stored under the results folder. */
export function throughputPath(resultsDir: string, spec: ExperimentSpec, budget: BudgetName, rounds: number, steps: number): string {
  return path.join(resultsDir, spec.name, `throughput-${throughputKey(spec, budget, rounds, steps)}.json`);
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Measures (or returns the stored) interleaved throughput of every variant of `spec` at `budget` (seed 0). */
export async function measureThroughput(spec: ExperimentSpec, budget: BudgetName, opts: { resultsDir: string; rounds?: number; steps?: number; warmup?: number; log?: (l: string) => void }): Promise<ThroughputResult> {
  const rounds = opts.rounds ?? 5, steps = opts.steps ?? 10, warmup = opts.warmup ?? 3;
  const file = throughputPath(opts.resultsDir, spec, budget, rounds, steps);
  const stored = readThroughput(file);
  if (stored) return stored;
  const t0 = Date.now();
  const cfgs = spec.variants.map((v) => resolvedConfig(spec, budget, v, 0));
  const trainers = cfgs.map((c) => new Trainer(c, trainingImages(c, 2000)));
  const times = trainers.map(() => [] as number[]);
  try {
    for (const tr of trainers) for (let i = 0; i < warmup; i++) tr.trainStep();
    for (let r = 0; r < rounds; r++) {
      trainers.forEach((tr, v) => {
        for (let i = 0; i < steps; i++) times[v].push(tr.trainStep().sec);
      });
      opts.log?.(`throughput ${spec.name}: round ${r + 1}/${rounds}`);
    }
  } finally {
    for (const tr of trainers) tr.dispose();
  }
  const med = times.map(median);
  const b = spec.baseline === undefined ? -1 : spec.variants.findIndex((v) => v.label === spec.baseline);
  const result: ThroughputResult = {
    format: THROUGHPUT_FORMAT, hash: throughputKey(spec, budget, rounds, steps), spec: spec.name, budget, rounds, stepsPerRound: steps,
    variants: spec.variants.map((v, i) => ({ label: v.label, medianStepSeconds: med[i], stepsPerSecond: 1 / med[i], speedup: b < 0 ? null : med[b] / med[i], stepSeconds: times[i] })),
    backend: currentBackend()?.name ?? null, wallSeconds: (Date.now() - t0) / 1000,
    host: { cpus: os.cpus().length, loadAverage: os.loadavg() }, finishedAt: new Date().toISOString(),
  };
  writeFileAtomic(file, JSON.stringify(result, null, 2) + "\n");
  return result;
}

/** A throughput file, or null when absent or incomplete. */
export function readThroughput(file: string): ThroughputResult | null {
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8")) as ThroughputResult;
    return r.format === THROUGHPUT_FORMAT && Array.isArray(r.variants) ? r : null;
  } catch {
    return null;
  }
}
