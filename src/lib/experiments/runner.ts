/**
 * The sweep runner: for each planned run (spec.ts), train its model (resumable, shared by key), sample at the run's
 * evaluation point, and write one result JSON atomically to <results>/<spec>/<hash>.json.
 *
 *  - A run whose result file exists is never recomputed. A result computed under another spec with the same key
 *    (same config, budget, seed, evaluation point) is copied, not recomputed.
 *  - Models live in <runs>/<trainHash>/ (train.ts: checkpoint.bin, log.jsonl); a killed run resumes from its last
 *    checkpoint. Nothing is written to results/ before the run is complete (writeFileAtomic: temp + fsync + rename).
 *  - Training throughput (Table 3's speedup) is the median wall time per optimisation step over the run's log rows
 *    after the first 10% of steps, so the first steps (kernel compilation, caches) do not count; on a shared machine
 *    the median is more robust to other processes than the mean. Both are recorded.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import { spawnSync } from "child_process";
import * as path from "path";
import { currentBackend } from "../runtime/backend";
import { train, readLog, CHECKPOINT_FILE, trainingImages } from "../pipelines/train";
import { loadModel, sampleModel } from "../pipelines/sample";
import type { DatasetName } from "../data/datasets";
import type { LabConfig } from "../config/config";
import { ImageSet, areaResize } from "../data/image-ops";
import { FeatureNet, featureNetFor, fidOf, fid, kid } from "../eval";
import { writeFileAtomic } from "../runtime/checkpoint";
import { Progress, formatDuration } from "../runtime/progress";
import { note } from "../runtime/notebook";
import { RunPlan, Budget, ExperimentSpec, BudgetName } from "./spec";

/** Format tag of an ablation result file. */
export const RESULT_FORMAT = "infty-ablate-result/1";

/** One ablation run's result file: config, seed, metrics, timings, host and code version. */
export interface RunResult {
  format: typeof RESULT_FORMAT;
  hash: string;
  trainHash: string;
  spec: string;
  variant: string;
  seed: number;
  /** budget name and the budget itself, as it was when the run was made */
  budget: BudgetName;
  budgetSpec: Budget;
  config: RunPlan["train"]["config"];
  trainImages: number;
  eval: RunPlan["eval"];
  metrics: {
    fid: number;
    kid: number;
    kidStd: number;
    /** generated samples and reference (test) images the metrics used */
    nSamples: number;
    nTest: number;
    /** resolution of the reference test images (the training resolution) before both are resized to 28×28 */
    referenceResolution: number;
  };
  train: {
    steps: number;
    /** optimisation steps per second: 1 / median step time (see file header) */
    stepsPerSecond: number;
    medianStepSeconds: number;
    meanStepSeconds: number;
    /** sum of step times (over all resumptions) */
    trainSeconds: number;
    finalLoss: number;
    /** the run's training was resumed from a checkpoint at least once */
    resumed: boolean;
  };
  sampleSeconds: number;
  metricSeconds: number;
  /** wall seconds of the invocation that finished this run (training included only when it trained) */
  wallSeconds: number;
  backend: string | null;
  featureNet: { sha256: string; testAccuracy: number | null };
  host: { cpus: number; platform: string; node: string };
  /** the lab's git commit when the run finished (dirty: uncommitted changes to tracked files); null outside a checkout */
  code?: { commit: string; dirty: boolean } | null;
  finishedAt: string;
  /** set when the result was copied from another spec's identical run */
  copiedFrom?: string;
}

/** What a sweep runs: spec, budget, shard, seeds, folders, and how it reports. */
export interface SweepOptions {
  spec: ExperimentSpec;
  budget: BudgetName;
  runs: RunPlan[];
  /** results root (default "results"); files go to <resultsDir>/<spec>/<hash>.json */
  resultsDir: string;
  /** model runs root (default "runs/ablate") */
  runsDir: string;
  /** feature network for FID/KID (default: the committed one, data/feature-net/) */
  featureNet?: FeatureNet;
  progress?: boolean;
  /**
   * When the feature net is not available yet (it is trained separately), models are still trained and their
   * evaluation deferred; with waitForFeatureNet the sweep then polls every 60 s until it appears, else it leaves them.
   */
  waitForFeatureNet?: boolean;
  /** tests: stop training after this many steps in this call, as a kill would (no result written) */
  killAfterSteps?: number;
  /** where progress lines go (default: the console) */
  log?: (line: string) => void;
  /** called after each run's result is known (computed, cached or copied), e.g. to redraw a table */
  onResult?: (result: RunResult, summary: SweepSummary) => void | Promise<void>;
}

/** What a sweep did: runs computed, read back, copied from identical runs, and failed. */
export interface SweepSummary {
  done: RunResult[];
  /** runs whose result already existed */
  cached: string[];
  /** runs copied from an identical result of another spec */
  copied: string[];
  /** runs computed in this call */
  computed: string[];
  /** runs left unfinished (killed in tests) */
  unfinished: string[];
  /** runs trained but not evaluated because the feature net was missing */
  deferred: string[];
}

/** The result file of a run: <resultsDir>/<spec>/<hash>.json. */
export function resultPath(resultsDir: string, spec: string, hash: string): string {
  return path.join(resultsDir, spec, `${hash}.json`);
}

/** A result file if it exists and is complete (parses, right format and hash); null otherwise. */
export function readResult(file: string): RunResult | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  try {
    const r = JSON.parse(text) as RunResult;
    if (r.format !== RESULT_FORMAT || typeof r.hash !== "string" || path.basename(file) !== `${r.hash}.json`) return null;
    if (!r.metrics || typeof r.metrics.fid !== "number" || !r.train || typeof r.train.stepsPerSecond !== "number") return null;
    return r;
  } catch {
    return null;
  }
}

/** An identical run's result under another spec's directory, if any. */
function findElsewhere(resultsDir: string, plan: RunPlan): { file: string; result: RunResult } | null {
  if (!fs.existsSync(resultsDir)) return null;
  for (const d of fs.readdirSync(resultsDir).sort()) {
    if (d === plan.spec) continue;
    const file = resultPath(resultsDir, d, plan.hash);
    const result = readResult(file);
    if (result) return { file, result };
  }
  return null;
}

const imageCache = new Map<string, ImageSet>();
function cached(key: string, make: () => ImageSet): ImageSet {
  let v = imageCache.get(key);
  if (!v) {
    v = make();
    imageCache.set(key, v);
  }
  return v;
}

const netHashes = new WeakMap<FeatureNet, string>();
/** sha256 of the feature network's weights (which net measured a result). */
function featureNetHash(net: FeatureNet): string {
  let h = netHashes.get(net);
  if (!h) {
    const hash = crypto.createHash("sha256");
    const snap = net.params.snapshot();
    for (const n of net.params.names()) hash.update(Buffer.from(snap[n].values.buffer, snap[n].values.byteOffset, snap[n].values.byteLength));
    h = hash.digest("hex");
    netHashes.set(net, h);
  }
  return h;
}

/** A sweep needs the feature net (data/feature-net) and it is not there. */
export class FeatureNetMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FeatureNetMissing";
  }
}

function featureNetAvailable(opts: SweepOptions, name: DatasetName): boolean {
  if (opts.featureNet) return true;
  try {
    featureNetFor(name);
    return true;
  } catch {
    return false;
  }
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/**
 * Trains (or resumes, or reuses) the model of a training key in `runDir` — every experiment kind's runs train here;
 * `complete` is false if training was stopped early (killAfterSteps).
 */
export async function ensureModel(
  trainKey: { config: LabConfig; trainImages: number }, runDir: string, label: string, opts: { progress?: boolean; killAfterSteps?: number },
): Promise<{ complete: boolean; resumed: boolean }> {
  const cfg = trainKey.config;
  const ckpt = path.join(runDir, CHECKPOINT_FILE);
  const marker = path.join(runDir, "resumed");
  if (fs.existsSync(ckpt)) {
    const rows = readLog(runDir);
    if (rows.length && rows[rows.length - 1].step >= cfg.train.steps) return { complete: true, resumed: fs.existsSync(marker) };
    writeFileAtomic(marker, `resumed from a checkpoint at ${new Date().toISOString()}\n`);
  }
  const data = cached(`train:${cfg.train.dataset}:${cfg.model.resolution}:${trainKey.trainImages}:${cfg.train.seed}`,
    () => trainingImages(cfg, trainKey.trainImages || undefined));
  let bar: Progress | null = null;
  const res = await train({
    runDir, config: cfg, data, progress: false, killAfter: opts.killAfterSteps,
    onLog: (row) => {
      // the bar starts at the first step of this call, so the rate and ETA exclude earlier (resumed) steps
      if (!bar) bar = new Progress({ label: `${label} train`, total: cfg.train.steps, unit: "step", enabled: opts.progress !== false }, row.step);
      else bar.tick(1, { loss: row.loss });
    },
  });
  const b = bar as Progress | null;
  if (res.step >= cfg.train.steps) b?.finish();
  return { complete: res.step >= cfg.train.steps, resumed: fs.existsSync(marker) };
}

function throughput(runDir: string, steps: number) {
  const rows = readLog(runDir, steps);
  const skip = Math.floor(rows.length / 10);
  // a log row covers `steps` steps when train.logEvery > 1 (its sec is their sum)
  const secs = rows.slice(skip).map((r) => r.sec / (r.steps ?? 1)).filter((s) => s > 0);
  const med = median(secs);
  const mean = secs.reduce((a, b) => a + b, 0) / Math.max(secs.length, 1);
  return {
    medianStepSeconds: med, meanStepSeconds: mean, stepsPerSecond: 1 / med,
    trainSeconds: rows.reduce((a, r) => a + r.sec, 0), finalLoss: rows.length ? rows[rows.length - 1].loss : NaN,
  };
}

/** Runs (or skips) every planned run: seed by seed, cheap runs first, so an interrupted sweep has the most rows. */
export async function runSweep(opts: SweepOptions): Promise<SweepSummary> {
  const log = opts.log ?? note;
  const summary: SweepSummary = { done: [], cached: [], copied: [], computed: [], unfinished: [], deferred: [] };
  const order = opts.runs.slice().sort((a, b) => a.seed - b.seed || a.cost - b.cost || (a.hash < b.hash ? -1 : 1));
  const t0 = Date.now();
  let computedCost = 0;
  const totalCost = order.reduce((a, r) => a + r.cost, 0);
  const pending = order.map((plan, i) => ({ plan, i }));
  for (let pass = 0; pending.length; pass++) {
    if (pass > 0) {
      if (!opts.waitForFeatureNet) break;
      if (!featureNetAvailable(opts, pending[0].plan.train.config.train.dataset)) {
        log(`feature net not available yet (data/feature-net/); ${pending.length} trained run(s) wait for it`);
        await new Promise((r) => setTimeout(r, 60000));
        continue;
      }
      summary.deferred = [];
    }
    const todo = pending.splice(0, pending.length);
  for (const { plan, i } of todo) {
    const label = `[${i + 1}/${order.length}] ${plan.spec} '${plan.variant}' seed ${plan.seed}` +
      (plan.eval.resolutionMultiplier !== 1 || order.length > 1 ? ` @${plan.eval.resolution}px/${plan.eval.ddimSteps} steps` : "") + ` (${plan.hash})`;
    const file = resultPath(opts.resultsDir, plan.spec, plan.hash);
    const existing = readResult(file);
    if (existing) {
      summary.cached.push(plan.hash);
      summary.done.push(existing);
      log(`${label}: done already`);
      if (opts.onResult) await opts.onResult(existing, summary);
      continue;
    }
    const other = findElsewhere(opts.resultsDir, plan);
    if (other) {
      const copy: RunResult = { ...other.result, spec: plan.spec, variant: plan.variant, copiedFrom: path.relative(opts.resultsDir, other.file) };
      writeFileAtomic(file, JSON.stringify(copy, null, 2) + "\n");
      summary.copied.push(plan.hash);
      summary.done.push(copy);
      log(`${label}: identical run in ${copy.copiedFrom}, copied`);
      if (opts.onResult) await opts.onResult(copy, summary);
      continue;
    }
    const elapsed = (Date.now() - t0) / 1000;
    const eta = computedCost > 0 ? (elapsed / computedCost) * (totalCost - computedCost) : NaN;
    log(`${label}: start (sweep elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(eta)})`);
    let result: RunResult | null;
    try {
      result = await runOne(plan, label, opts);
    } catch (e) {
      if (!(e instanceof FeatureNetMissing)) throw e;
      summary.deferred.push(plan.hash);
      pending.push({ plan, i });
      log(`${label}: model trained; evaluation deferred (${e.message})`);
      continue;
    }
    computedCost += plan.cost;
    if (!result) {
      summary.unfinished.push(plan.hash);
      log(`${label}: stopped before the end of training (resumes from its checkpoint)`);
      continue;
    }
    writeFileAtomic(file, JSON.stringify(result, null, 2) + "\n");
    summary.computed.push(plan.hash);
    summary.done.push(result);
    log(`${label}: FID ${result.metrics.fid.toFixed(2)}  KID ${result.metrics.kid.toFixed(4)}  ` +
      `${result.train.stepsPerSecond.toFixed(2)} step/s  → ${file}`);
    if (opts.onResult) await opts.onResult(result, summary);
  }
  }
  return summary;
}

/** Trains, samples and measures one run; null when training was stopped early. */
export async function runOne(plan: RunPlan, label: string, opts: SweepOptions): Promise<RunResult | null> {
  const t0 = Date.now();
  const runDir = path.join(opts.runsDir, plan.trainHash);
  const { complete, resumed } = await ensureModel(plan.train, runDir, label, opts);
  if (!complete) return null;
  const cfg = plan.train.config;
  const fidRef = fidOf(cfg.train.dataset);
  if (!featureNetAvailable(opts, cfg.train.dataset)) throw new FeatureNetMissing(`no feature net at data/${fidRef.featureNet}/ (run \`infty train-features\`)`);
  const model = loadModel(path.join(runDir, CHECKPOINT_FILE));
  let samples: ImageSet, sampleSeconds: number;
  try {
    if (opts.progress !== false) note(`${label} sampling ${plan.eval.samples} at ${plan.eval.resolution}² with DDIM-${plan.eval.ddimSteps}`);
    const out = await sampleModel(model.net, model.cfg, {
      resolution: plan.eval.resolution, n: plan.eval.samples, batchSize: plan.eval.sampleBatch, steps: plan.eval.ddimSteps,
      seed: 1000 + plan.seed, progress: opts.progress !== false,
    });
    samples = out.x0;
    sampleSeconds = out.seconds;
  } finally {
    model.net.dispose();
  }
  const m0 = Date.now();
  const net = opts.featureNet ?? featureNetFor(cfg.train.dataset);
  // reference: test images at the training resolution r₀ (what the model can know), features at 28×28 as for samples
  const r0 = cfg.model.resolution;
  const test = cached(`test:${cfg.train.dataset}:${plan.eval.testImages}:${r0}`, () => fidRef.reference({ resolution: r0, limit: plan.eval.testImages }));
  // samples above r₀ are compared at r₀, as the reference is (EvalPoint.compareAt)
  const fs_ = await net.features(plan.eval.compareAt === "r0" && plan.eval.resolution !== r0 ? areaResize(samples, r0, r0) : samples);
  const ft = await net.features(test);
  const fidValue = fid(fs_, ft);
  const k = kid(fs_, ft, { subsetSize: Math.min(fs_.n, ft.n, 1000) });
  const metricSeconds = (Date.now() - m0) / 1000;
  const tp = throughput(runDir, cfg.train.steps);
  const spec = opts.spec;
  return {
    format: RESULT_FORMAT,
    hash: plan.hash, trainHash: plan.trainHash, spec: plan.spec, variant: plan.variant, seed: plan.seed,
    budget: plan.budget, budgetSpec: spec.budgets[plan.budget],
    config: cfg, trainImages: plan.train.trainImages, eval: plan.eval,
    metrics: { fid: fidValue, kid: k.mean, kidStd: k.std, nSamples: fs_.n, nTest: ft.n, referenceResolution: r0 },
    train: { steps: cfg.train.steps, ...tp, resumed },
    sampleSeconds, metricSeconds, wallSeconds: (Date.now() - t0) / 1000,
    backend: currentBackend()?.name ?? null,
    featureNet: { sha256: featureNetHash(net), testAccuracy: net.record?.testAccuracy ?? null },
    host: { cpus: os.cpus().length, platform: `${os.platform()}-${os.arch()}`, node: process.version },
    code: codeVersion(),
    finishedAt: new Date().toISOString(),
  };
}

/**
 * Provenance: results are keyed by their config, not by the code, so a table can mix runs from different code (this
 * lab's first Tables 2/3 did: seed 0 predated the x₀ clip and EMA warm-up, and its spread was mostly that).
 */
export function codeVersion(): { commit: string; dirty: boolean } | null {
  const git = (args: string[]) => spawnSync("git", args, { cwd: path.resolve(__dirname, "..", "..", ".."), encoding: "utf8", timeout: 10000 });
  const head = git(["rev-parse", "HEAD"]);
  if (head.status !== 0) return null;
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  return { commit: head.stdout.trim(), dirty: status.status === 0 && status.stdout.trim().length > 0 };
}
