/**
 * Training ∞-Diff on coordinate subsets (§3.1, §3.2, Eq. 46): each step draws a batch, noise ξ and timesteps, builds
 * x_t = √ᾱ_t·Tx₀ + √(1−ᾱ_t)·Tξ on the full grid (Eq. 11), samples a fresh random subset of pixels per image, and
 * regresses the network's output at those points onto the parameterisation's target there (Tξ by default).
 *
 * A run lives in one directory: config.json (resolved), checkpoint.bin (atomic), log.jsonl (a row every logEvery steps).
 * Starting `train` on a directory with a checkpoint resumes it exactly (weights, EMA, Adam moments, step, RNG).
 */
import * as fs from "fs";
import * as path from "path";
import { tf, currentBackend, syncReadsAvailable } from "../runtime/backend";
import { Rng, RngState } from "../runtime/rng";
import { LabConfig, resolveConfig, resolveStoredConfig } from "../config/config";
import { diffusionProcess } from "../config/grid";
import { InftyDiffNetwork } from "../nn/network";
import { Adam, AdamState } from "../nn/optim";
import type { ParamTensors } from "../nn/params";
import { Mollifier } from "../diffusion/mollifier";
import { Schedule } from "../diffusion/schedules";
import { mse } from "../diffusion/parameterisations";
import { ImageSet } from "../data/image-ops";
import { batchTensors, checkTrainingImages, drawBatchNoise, drawBatchPoints, gradsByName } from "./training-batch";
import { dataset } from "../data/datasets";
import { saveCheckpoint, loadCheckpoint, writeFileAtomic } from "../runtime/checkpoint";
import { appendLine, diskError, removeStaleTemps } from "../runtime/atomic-write";
import { Progress } from "../runtime/progress";
import { GradWorkerPool, GradJob, batchSlices, sliceCoordSet } from "./parallel";

/** Trainer options beyond the config: worker threads and the backend they use. */
export interface TrainerOptions {
  /**
   * Gradient workers: > 1 splits each batch across that many worker threads (each its own backend instance) with
   * the same result up to float32 summation order; use `trainStepAsync`. Default 1 (this thread).
   */
  workers?: number;
}

/** One row of a training log (log.jsonl): mean loss since the previous row, lr, gradient norm, time, memory. */
export interface LogRow {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** wall seconds of this step (in log.jsonl: of the `steps` steps the row covers) */
  sec: number;
  /** in log.jsonl (train.logEvery): steps this row averages, live tensors and resident MiB when it was written */
  steps?: number;
  numTensors?: number;
  rssMB?: number;
}

/** The training images a config asks for, at the model's resolution, NHWC in [−1,1]. */
export function trainingImages(cfg: LabConfig, limit?: number): ImageSet {
  const { resolution, channels } = cfg.model;
  return dataset(cfg.train.dataset, channels).train({ resolution, channels, seed: cfg.train.seed + 1, limit });
}

/**
 * EMA decay at a step: min(decay, (1 + step)/(10 + step)). Why: the EMA starts from the random initial weights, and
 * with a fixed 0.999 they still make up 0.999^n of it after n steps (41 % at step 900) — a short run's EMA samples
 * are noise although its raw weights already draw garments. The warm-up (as in diffusers' EMAModel) forgets the
 * start quickly and reaches the configured decay after ~10⁴ steps.
 */
export function emaDecayAt(cfg: LabConfig, step: number): number {
  return Math.min(cfg.train.emaDecay, (1 + step) / (10 + step));
}

/** Linear warm-up, then constant. */
export function learningRate(cfg: LabConfig, step: number): number {
  const w = cfg.train.warmupSteps;
  return w > 0 && step < w ? (cfg.train.lr * (step + 1)) / w : cfg.train.lr;
}

/** Everything that changes during training, with save/restore. */
export class Trainer {
  readonly net: InftyDiffNetwork;
  readonly ema: InftyDiffNetwork;
  readonly adam: Adam;
  readonly mollifier: Mollifier;
  readonly schedule: Schedule;
  rng: Rng;
  step = 0;
  wallSeconds = 0;

  /** gradient workers (data-parallel over the batch) when constructed with workers > 1 */
  private pool: GradWorkerPool | null = null;

  constructor(readonly cfg: LabConfig, readonly data: ImageSet, opts: TrainerOptions = {}) {
    const init = new Rng(cfg.train.seed);
    this.net = new InftyDiffNetwork(cfg.model, init.fork());
    this.ema = new InftyDiffNetwork(cfg.model, init.fork());
    this.ema.params.copyFrom(this.net.params);
    this.adam = new Adam(this.net.params, { beta1: cfg.train.adamBeta1, beta2: cfg.train.adamBeta2, clipNorm: cfg.train.gradClip });
    ({ mollifier: this.mollifier, schedule: this.schedule } = diffusionProcess(cfg));
    this.rng = init.fork();
    checkTrainingImages(cfg, data);
    const workers = opts.workers ?? 1;
    if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`workers must be a positive integer, got ${workers}`);
    if (workers > 1) this.pool = new GradWorkerPool(cfg.model, Math.min(workers, cfg.train.batchSize), this.net.params, currentBackend()?.name ?? tf.getBackend());
  }

  /** number of gradient workers (1: this thread computes the gradients) */
  get workers(): number {
    return this.pool ? this.pool.n : 1;
  }

  /** Draws one training batch's randomness (images, timesteps, coordinate subsets, noise) from `rng`. */
  private drawBatch(rng: Rng) {
    const points = drawBatchPoints(this.cfg, this.data.shape[0], this.schedule.T, rng);
    return { ...points, xi: drawBatchNoise(this.cfg, rng) };
  }

  /**
   * The batch's network inputs and targets at the sampled points: x_t (Eq. 11) and the parameterisation's target
   * (Tξ for mollified ε, Eq. 46), both built on the full grid and gathered at the subset. [B,M,C] each.
   */
  private pointsOf(batch: ReturnType<Trainer["drawBatch"]>): [tf.Tensor3D, tf.Tensor3D] {
    const { xt, target } = batchTensors(this.cfg, this.data, batch, batch.xi, this);
    return [xt, target];
  }

  /** The step's loss (a scalar tensor, not yet read) and gradients by parameter name: the forward and backward pass. */
  private lossAndGrads(): { t0: number; value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    const t0 = Date.now();
    const batch = this.drawBatch(this.rng);
    const dropRng = this.rng.fork();
    const ctx = this.net.context(batch.set);
    const t = tf.tensor1d(batch.ts, "int32");
    const [xtPts, targetPts] = this.pointsOf(batch);
    const { value, grads } = tf.variableGrads(
      () => mse(this.net.apply(xtPts, ctx, t, { dropoutRng: dropRng }), targetPts),
      this.net.params.variables(),
    );
    tf.dispose([batch.xi, t, xtPts, targetPts]);
    ctx.dispose();
    return { t0, value, grads: gradsByName(this.net.params, grads) };
  }

  /** One optimisation step on this thread; returns its log row. Throws on a non-finite loss (weights untouched). */
  trainStep(): LogRow {
    if (!syncReadsAvailable()) {
      throw new Error(`Trainer.trainStep reads synchronously, which the ${tf.getBackend()} backend cannot do: use trainStepAsync`);
    }
    const { t0, value, grads } = this.lossAndGrads();
    const loss = value.dataSync()[0];
    value.dispose();
    const norm = this.update(loss, grads);
    const gradNorm = norm.dataSync()[0];
    norm.dispose();
    return this.finishStep(t0, loss, gradNorm);
  }

  /**
   * One optimisation step; with workers, the batch (drawn here exactly as `trainStep` draws it) is split into
   * contiguous slices whose loss and gradients the workers compute (parallel.ts); Adam and EMA run here. Without
   * workers it is `trainStep` with asynchronous reads: two per step (the loss, then the gradient norm), which is all
   * that leaves the device on webgpu.
   */
  async trainStepAsync(): Promise<LogRow> {
    if (!this.pool) {
      const { t0, value, grads } = this.lossAndGrads();
      const loss = (await value.data())[0];
      value.dispose();
      const norm = this.update(loss, grads);
      const gradNorm = (await norm.data())[0];
      norm.dispose();
      return this.finishStep(t0, loss, gradNorm);
    }
    const t0 = Date.now();
    const batch = this.drawBatch(this.rng);
    const dropRng = this.rng.fork();
    const [xtPts, targetPts] = this.pointsOf(batch);
    const xt = (await xtPts.data()) as Float32Array, target = (await targetPts.data()) as Float32Array;
    tf.dispose([batch.xi, xtPts, targetPts]);
    const B = batch.ts.length, per = xt.length / B;
    const drop = dropRng.state();
    const jobs: GradJob[] = batchSlices(B, this.pool.n).map(([b0, b1]) => ({
      kind: "grads",
      set: sliceCoordSet(batch.set, b0, b1),
      xt: xt.slice(b0 * per, b1 * per),
      target: target.slice(b0 * per, b1 * per),
      ts: batch.ts.slice(b0, b1),
      drop,
      start: b0,
      total: B,
    }));
    const { loss, grads } = await this.pool.lossAndGrads(this.net.params, jobs);
    const norm = this.update(loss, grads);
    const gradNorm = (await norm.data())[0];
    norm.dispose();
    return this.finishStep(t0, loss, gradNorm);
  }

  /**
   * Adam (with clipping) and EMA from gradients by parameter name (disposed here). Returns the gradient norm as a
   * scalar tensor (NaN when the loss is not finite); throws NonFiniteLossError, weights untouched, on such a loss.
   */
  private update(loss: number, grads: Record<string, tf.Tensor>): tf.Scalar {
    let norm: tf.Scalar | null = null;
    const lr = learningRate(this.cfg, this.step);
    if (Number.isFinite(loss)) {
      norm = this.adam.apply(grads, lr);
      this.ema.params.emaUpdate(this.net.params, emaDecayAt(this.cfg, this.step));
    }
    tf.dispose(Object.values(grads));
    if (!Number.isFinite(loss)) {
      throw new NonFiniteLossError(`loss is ${loss} at step ${this.step + 1}; stopping (the last checkpoint is intact)`);
    }
    return norm!;
  }

  /** Counts the step and returns its log row. */
  private finishStep(t0: number, loss: number, gradNorm: number): LogRow {
    this.step += 1;
    const sec = (Date.now() - t0) / 1000;
    this.wallSeconds += sec;
    return { step: this.step, loss, lr: learningRate(this.cfg, this.step - 1), gradNorm, sec };
  }

  /**
   * The loss of the current (or EMA) weights on `nBatches` batches drawn from `Rng(seed)` — the same batches for
   * the same seed, so two calls compare weights, not luck. No update, no dropout.
   */
  evalLoss(seed: number, nBatches = 4, which: "net" | "ema" = "net"): number {
    const rng = new Rng(seed);
    const net = which === "ema" ? this.ema : this.net;
    let total = 0;
    for (let i = 0; i < nBatches; i++) {
      const batch = this.drawBatch(rng);
      const ctx = net.context(batch.set);
      const [xtPts, targetPts] = this.pointsOf(batch);
      total += tf.tidy(() => {
        const t = tf.tensor1d(batch.ts, "int32");
        return mse(net.apply(xtPts, ctx, t, { dropoutRng: null }), targetPts).dataSync()[0];
      });
      tf.dispose([batch.xi, xtPts, targetPts]);
      ctx.dispose();
    }
    return total / nBatches;
  }

  /** Writes an atomic checkpoint (weights, EMA, optimiser, step, RNG) to `file`. */
  save(file: string): void {
    this.writeCheckpoint(file, this.adam.state(), this.net.params.snapshot(), this.ema.params.snapshot());
  }

  /** `save` with asynchronous reads (the way on webgpu). */
  async saveAsync(file: string): Promise<void> {
    this.writeCheckpoint(file, await this.adam.stateAsync(), await this.net.params.snapshotAsync(), await this.ema.params.snapshotAsync());
  }

  private writeCheckpoint(file: string, opt: AdamState, params: ParamTensors, ema: ParamTensors): void {
    saveCheckpoint(file, {
      meta: {
        kind: "infty-diff-train",
        config: this.cfg,
        step: this.step,
        adamStep: opt.step,
        rng: this.rng.state(),
        wallSeconds: this.wallSeconds,
        backend: currentBackend()?.name ?? null,
        savedAt: new Date().toISOString(),
      },
      groups: { params, ema, adamM: opt.m, adamV: opt.v },
    });
  }

  /** Resumes from a checkpoint written by `save`, bit for bit. */
  restore(file: string): void {
    const ck = loadCheckpoint(file);
    const m = ck.meta as { step: number; adamStep: number; rng: RngState; wallSeconds: number; config: unknown };
    this.net.params.load(ck.groups.params);
    this.ema.params.load(ck.groups.ema);
    this.adam.load({ step: m.adamStep, m: ck.groups.adamM, v: ck.groups.adamV });
    this.rng = new Rng(m.rng);
    this.step = m.step;
    this.wallSeconds = m.wallSeconds ?? 0;
  }

  /** Frees the model, its EMA copy, the optimiser and any worker threads. */
  dispose(): void {
    if (this.pool) void this.pool.dispose();
    this.pool = null;
    this.net.dispose();
    this.ema.dispose();
    this.adam.dispose();
    this.mollifier.dispose();
  }
}

/** Training stopped because the loss became NaN or infinite (the last checkpoint is kept). */
export class NonFiniteLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** What `train` runs: config, run folder, steps, workers and callbacks. */
export interface TrainOptions {
  runDir: string;
  /** the run's config; when resuming it must equal the stored one (omit to resume with the stored config) */
  config?: LabConfig;
  /** override the number of steps to reach (default config.train.steps) */
  steps?: number;
  /** the images to train on (default: the config's dataset) */
  data?: ImageSet;
  /** stop after this many steps in this call WITHOUT a final checkpoint — simulates a kill (tests) */
  killAfter?: number;
  progress?: boolean;
  /** called with every log row as it is written */
  onLog?: (row: LogRow) => void;
  /** gradient workers (TrainerOptions.workers); default 1 */
  workers?: number;
  /** also keep a copy of the checkpoint every this many steps, as snapshots/step-N.bin (a quality curve needs them) */
  keepEvery?: number;
}

/** What `train` did: the step reached, where it started, its last loss and the run folder. */
export interface TrainResult {
  step: number;
  resumedFrom: number;
  rows: LogRow[];
  wallSeconds: number;
}

/** The checkpoint file in a run folder. */
export const CHECKPOINT_FILE = "checkpoint.bin";
/** The loss log in a run folder (JSON lines, `LogRow`). */
export const LOG_FILE = "log.jsonl";
/** Where `--keep-every` keeps step-N.bin snapshots inside a run folder. */
export const SNAPSHOT_DIR = "snapshots";

/** Where `train({ keepEvery })` keeps the checkpoint of `step`. */
export function snapshotFile(runDir: string, step: number): string {
  return path.join(runDir, SNAPSHOT_DIR, `step-${step}.bin`);
}
/** The resolved config a run folder was started with. */
export const CONFIG_FILE = "config.json";

/** Reads a run's log, keeping whole lines with step ≤ `upTo` (drops a torn last line and steps past a checkpoint). */
export function readLog(runDir: string, upTo = Infinity): LogRow[] {
  return readLogFile(path.join(runDir, LOG_FILE), upTo);
}

/** Reads a log.jsonl file (e.g. the shipped model's training log); missing file → []. */
export function readLogFile<Row extends { step: number } = LogRow>(file: string, upTo = Infinity): Row[] {
  if (!fs.existsSync(file)) return [];
  const rows: Row[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as Row;
      if (row.step <= upTo) rows.push(row);
    } catch {
      /* torn line from a kill: ignore */
    }
  }
  return rows;
}

/**
 * The log file's rows: one every `logEvery` steps (and at every checkpoint and the last step, so a resume never loses
 * an interval), averaging each numeric field over the steps since the last row, summing `sec`, with `steps` (the
 * number of steps it covers), `numTensors` (tf.memory()) and `rssMB` so a leak in a long run shows in the log.
 */
export class LogThinner<Row extends { step: number; sec: number }> {
  private acc: Row[] = [];
  constructor(private readonly file: string, private readonly every: number) {}

  /** Adds a step's row; writes the aggregate when `force` or the step is a multiple of logEvery. */
  add(row: Row, force: boolean): void {
    this.acc.push(row);
    if (!force && row.step % this.every !== 0) return;
    const out: Record<string, unknown> = { ...row };
    for (const [k, v] of Object.entries(row)) {
      if (typeof v !== "number" || k === "step" || k === "lr") continue;
      const vals = this.acc.map((r) => (r as unknown as Record<string, number>)[k]);
      out[k] = k === "sec" ? vals.reduce((a, b) => a + b, 0) : vals.reduce((a, b) => a + b, 0) / vals.length;
    }
    out.steps = this.acc.length;
    out.numTensors = tf.memory().numTensors;
    out.rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
    appendLine(this.file, JSON.stringify(out));
    this.acc = [];
  }
}

/**
 * Bytes of a training checkpoint of `cfg` (weights, EMA, two Adam moments in float32, plus the header), counted on
 * a network built and disposed at once, so `train` can ask for the space before its first step.
 */
export function estimateCheckpointBytes(cfg: LabConfig): number {
  const net = new InftyDiffNetwork(cfg.model, new Rng(0));
  try {
    return 4 * 4 * net.params.count() + 64 * 1024;
  } finally {
    net.dispose();
  }
}

/** Trains (or resumes) the run in `runDir` up to the configured number of steps. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  try {
    fs.mkdirSync(opts.runDir, { recursive: true });
  } catch (e) {
    throw diskError(e, opts.runDir);
  }
  const ckptFile = path.join(opts.runDir, CHECKPOINT_FILE);
  const cfgFile = path.join(opts.runDir, CONFIG_FILE);
  const resuming = fs.existsSync(ckptFile);
  // temps of checkpoint/log writes that a kill or a full disk interrupted
  removeStaleTemps(opts.runDir);
  if (fs.existsSync(path.join(opts.runDir, SNAPSHOT_DIR))) removeStaleTemps(path.join(opts.runDir, SNAPSHOT_DIR));
  let cfg: LabConfig;
  if (resuming) {
    const stored = resolveStoredConfig(loadCheckpoint(ckptFile).meta.config);
    if (opts.config && JSON.stringify(opts.config) !== JSON.stringify(stored)) {
      throw new Error(`run ${opts.runDir} was started with a different config; use a new run directory`);
    }
    cfg = stored;
  } else {
    cfg = opts.config ?? resolveConfig({});
    writeFileAtomic(cfgFile, JSON.stringify(cfg, null, 2) + "\n");
  }
  const data = opts.data ?? trainingImages(cfg);
  const trainer = new Trainer(cfg, data, { workers: opts.workers });
  try {
    if (resuming) trainer.restore(ckptFile);
    const resumedFrom = trainer.step;
    // a run folder carried to a fresh machine (its snapshots stay behind) and stopped at a kept step gets that
    // snapshot back, so its score can still be taken
    if (resuming && opts.keepEvery !== undefined && resumedFrom > 0 && resumedFrom % opts.keepEvery === 0 && !fs.existsSync(snapshotFile(opts.runDir, resumedFrom))) {
      fs.mkdirSync(path.join(opts.runDir, SNAPSHOT_DIR), { recursive: true });
      writeFileAtomic(snapshotFile(opts.runDir, resumedFrom), fs.readFileSync(ckptFile));
    }
    // keep the log consistent with the checkpoint: steps after it will be redone
    const kept = readLog(opts.runDir, trainer.step);
    const logFile = path.join(opts.runDir, LOG_FILE);
    writeFileAtomic(logFile, kept.map((r) => JSON.stringify(r)).join("\n") + (kept.length ? "\n" : ""));
    // the log's length at the last checkpoint: a failed checkpoint write cuts the log back to it
    let loggedBytes = fs.statSync(logFile).size;
    const target = opts.steps ?? cfg.train.steps;
    const bar = new Progress({ label: `train ${path.basename(opts.runDir)}`, total: target, unit: "step", enabled: opts.progress !== false }, trainer.step);
    const rows: LogRow[] = [];
    let smoothed = NaN;
    let done = 0;
    const log = new LogThinner<LogRow>(path.join(opts.runDir, LOG_FILE), cfg.train.logEvery);
    while (trainer.step < target) {
      const row = await trainer.trainStepAsync();
      rows.push(row);
      log.add(row, trainer.step % cfg.train.checkpointEvery === 0 || trainer.step === target);
      opts.onLog?.(row);
      smoothed = Number.isNaN(smoothed) ? row.loss : 0.95 * smoothed + 0.05 * row.loss;
      bar.tick(1, { loss: smoothed });
      done++;
      if (opts.killAfter !== undefined && done >= opts.killAfter) {
        return { step: trainer.step, resumedFrom, rows, wallSeconds: trainer.wallSeconds };
      }
      const keep = opts.keepEvery !== undefined && trainer.step % opts.keepEvery === 0;
      if (keep || trainer.step % cfg.train.checkpointEvery === 0 || trainer.step === target) {
        try {
          await trainer.saveAsync(ckptFile);
        } catch (e) {
          // the log ends where the kept checkpoint does (truncating needs no free space)
          try { fs.truncateSync(logFile, loggedBytes); } catch { /* the error below says what failed */ }
          throw e;
        }
        loggedBytes = fs.statSync(logFile).size;
      }
      if (keep) {
        // a copy of the checkpoint just written (atomic: a kill leaves no half snapshot); a resume rewrites it identically
        fs.mkdirSync(path.join(opts.runDir, SNAPSHOT_DIR), { recursive: true });
        writeFileAtomic(snapshotFile(opts.runDir, trainer.step), fs.readFileSync(ckptFile));
      }
    }
    bar.finish({ loss: smoothed });
    return { step: trainer.step, resumedFrom, rows, wallSeconds: trainer.wallSeconds };
  } finally {
    trainer.dispose();
  }
}

