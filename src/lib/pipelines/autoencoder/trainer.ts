/** The autoencoder's joint trainer (decoder + encoder, then the latent model on frozen z), resumable in its run folder. */
import * as fs from "fs";
import * as path from "path";
import { currentBackend, tf } from "../../runtime/backend";
import { Rng, RngState } from "../../runtime/rng";
import { LabConfig } from "../../config/config";
import { Params, ParamTensors } from "../../nn/params";
import { Adam, AdamState } from "../../nn/optim";
import { Mollifier } from "../../diffusion/mollifier";
import { Schedule } from "../../diffusion/schedules";
import { diffusionProcess } from "../../config/grid";
import { batchTensors, checkTrainingImages, drawBatchNoise, drawBatchPoints, gradsByName } from "../training-batch";
import { mse } from "../../diffusion/parameterisations";
import { uniformSubset } from "../../coords/coordinates";
import { ImageSet, sliceSet, toTensor } from "../../data/image-ops";
import { saveCheckpoint, loadCheckpoint, writeFileAtomic } from "../../runtime/checkpoint";
import { Progress } from "../../runtime/progress";
import { learningRate, trainingImages, readLogFile, LogThinner } from "../train";
import { diskError, removeStaleTemps } from "../../runtime/atomic-write";
import { LatentDenoiser, LatentTarget } from "./latent";
import { AutoencoderConfig, autoencoderConfigOf } from "./config";
import { DiffusionAutoencoder, warmStartWeights } from "./model";

/** One row of an autoencoder's training log. */
export interface AutoencoderLogRow {
  step: number;
  /** decoder loss (Eq. 46 at the subset) */
  loss: number;
  kl: number;
  latentLoss: number;
  lr: number;
  sec: number;
}

/** How the latent model is refitted on the frozen encoder's z (DiffAE's second stage). */
export interface FitLatentOptions {
  steps: number; batchSize?: number; lr?: number; target?: LatentTarget; images?: ImageSet; latents?: Float32Array; seed?: number;
  /** called after every step with its loss */
  onStep?: (step: number, loss: number) => void;
}

/** Trains the diffusion autoencoder jointly (encoder, z-conditioned decoder, latent model), resumably. */
export class AutoencoderTrainer {
  readonly model: DiffusionAutoencoder;
  readonly mollifier: Mollifier;
  readonly schedule: Schedule;
  private readonly adams: Adam[];
  rng: Rng;
  step = 0;
  /** seconds spent in trainStep over the run's life (kept across resumes) */
  wallSeconds = 0;
  /** the unconditional checkpoint the decoder was warm-started from, if any */
  initFrom: string | null = null;

  /** the last post-hoc fit of the latent model (fitLatent), if any */
  latentFit: { steps: number; images: number; target: LatentTarget; finalLoss: number; seconds: number } | null = null;
  private readonly adamOpts: { beta1: number; beta2: number; clipNorm: number };

  constructor(readonly cfg: LabConfig, public ae: AutoencoderConfig, readonly data: ImageSet) {
    const init = new Rng(cfg.train.seed);
    this.model = new DiffusionAutoencoder(cfg, ae, init.fork());
    const opt = (this.adamOpts = { beta1: cfg.train.adamBeta1, beta2: cfg.train.adamBeta2, clipNorm: cfg.train.gradClip });
    this.adams = [this.model.net.params, this.model.encoder.params, this.model.latent.params].map((p) => new Adam(p, opt));
    ({ mollifier: this.mollifier, schedule: this.schedule } = diffusionProcess(cfg));
    this.rng = init.fork();
    checkTrainingImages(cfg, data);
  }

  private drawBatch(rng: Rng) {
    const { cfg } = this;
    const B = cfg.train.batchSize, r = cfg.model.resolution;
    // the unconditional recipe's draws, with the encoder's subset drawn before the noise
    const { idx, ts, set } = drawBatchPoints(cfg, this.data.shape[0], this.schedule.T, rng);
    const encSet = uniformSubset(rng, B, r, r, { ratio: this.ae.encoderRatio });
    const xi = drawBatchNoise(cfg, rng);
    const zeps = rng.normalTensor<tf.Rank.R2>([B, this.ae.zDim]);
    const zts = Array.from({ length: B }, () => rng.int(this.schedule.T));
    const latEps = rng.normalTensor<tf.Rank.R2>([B, this.ae.zDim]);
    return { idx, ts, set, encSet, xi, zeps, zts, latEps };
  }

  /**
   * The losses of one batch; `train` applies the updates (else evaluation: no dropout, no update). A generator that
   * yields each scalar it must read and resumes with its value, so one body serves the synchronous driver (`dataSync`)
   * and the asynchronous one (`await data()`, the only way on webgpu).
   */
  private *run(batch: ReturnType<AutoencoderTrainer["drawBatch"]>, train: boolean, lr: number): Generator<tf.Tensor, { loss: number; kl: number; latentLoss: number }, Float32Array> {
    const { model, ae } = this;
    const pts = batchTensors(this.cfg, this.data, batch, batch.xi, this, batch.encSet);
    const xtPts = pts.xt, targetPts = pts.target, encPts = pts.x0!;
    const dctx = model.net.context(batch.set), ectx = model.encoder.context(batch.encSet);
    const t = tf.tensor1d(batch.ts, "int32");
    const dropRng = train ? this.rng.fork() : null;
    let z: tf.Tensor2D | null = null;
    let klT: tf.Scalar | null = null;
    const objective = (): tf.Scalar => {
      const { mu, logvar } = model.encoder.apply(encPts, ectx);
      const zz = logvar ? tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), batch.zeps)) as tf.Tensor2D : mu;
      z = tf.keep(tf.clone(zz));
      const cond = model.zProj.apply(zz) as tf.Tensor2D;
      const diff = mse(model.net.apply(xtPts, dctx, t, { dropoutRng: dropRng, cond }), targetPts);
      if (!logvar) return diff;
      // KL(N(μ, σ²) ‖ N(0, I)), mean over the batch and latent dimensions
      const kl = tf.mean(tf.mul(0.5, tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(1, logvar)))) as tf.Scalar;
      klT = tf.keep(tf.clone(kl));
      return tf.add(diff, tf.mul(ae.klWeight, kl)) as tf.Scalar;
    };
    let loss: number, latentLoss: number;
    const zt = batch.zts;
    const latentObjective = (zFixed: tf.Tensor2D) => () => model.latent.loss(zFixed, zt, batch.latEps, this.schedule);
    try {
      if (train) {
        const vars = [...model.net.params.variables(), ...model.encoder.params.variables()];
        const { value, grads } = tf.variableGrads(objective, vars);
        loss = (yield value)[0];
        if (Number.isFinite(loss)) {
          tf.dispose([this.adams[0].apply(gradsByName(model.net.params, grads), lr), this.adams[1].apply(gradsByName(model.encoder.params, grads), lr)]);
        }
        tf.dispose([value, ...Object.values(grads)]);
        const lat = tf.variableGrads(latentObjective(z!), model.latent.params.variables());
        latentLoss = (yield lat.value)[0];
        if (Number.isFinite(latentLoss)) tf.dispose(this.adams[2].apply(gradsByName(model.latent.params, lat.grads), lr));
        tf.dispose([lat.value, ...Object.values(lat.grads)]);
      } else {
        const lossT = tf.tidy(() => objective());
        try { loss = (yield lossT)[0]; } finally { lossT.dispose(); }
        const latT = tf.tidy(() => latentObjective(z!)());
        try { latentLoss = (yield latT)[0]; } finally { latT.dispose(); }
      }
      const kl = klT ? (yield (klT as tf.Scalar))[0] : 0;
      return { loss, kl, latentLoss };
    } finally {
      tf.dispose([xtPts, targetPts, encPts, t, batch.xi, batch.zeps, batch.latEps]);
      if (z) (z as tf.Tensor).dispose();
      if (klT) (klT as tf.Tensor).dispose();
      dctx.dispose();
      ectx.dispose();
    }
  }

  /** One optimisation step of all three parts; returns its log row. */
  trainStep(): AutoencoderLogRow {
    const t0 = Date.now();
    const lr = learningRate(this.cfg, this.step);
    return this.finishStep(t0, lr, driveSync(this.run(this.drawBatch(this.rng), true, lr)));
  }

  /** `trainStep` with asynchronous reads (three per step: loss, latent loss, KL when variational). */
  async trainStepAsync(): Promise<AutoencoderLogRow> {
    const t0 = Date.now();
    const lr = learningRate(this.cfg, this.step);
    return this.finishStep(t0, lr, await driveAsync(this.run(this.drawBatch(this.rng), true, lr)));
  }

  private finishStep(t0: number, lr: number, r: { loss: number; kl: number; latentLoss: number }): AutoencoderLogRow {
    if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss} at step ${this.step + 1}`);
    this.step += 1;
    const sec = (Date.now() - t0) / 1000;
    this.wallSeconds += sec;
    return { step: this.step, ...r, lr, sec };
  }

  /** Mean decoder loss (+ KL, latent loss) on `nBatches` batches drawn from Rng(seed): the same batches per seed. */
  evalLoss(seed: number, nBatches = 4): { loss: number; kl: number; latentLoss: number } {
    const rng = new Rng(seed);
    const acc = { loss: 0, kl: 0, latentLoss: 0 };
    for (let i = 0; i < nBatches; i++) {
      const r = driveSync(this.run(this.drawBatch(rng), false, 0));
      acc.loss += r.loss / nBatches; acc.kl += r.kl / nBatches; acc.latentLoss += r.latentLoss / nBatches;
    }
    return acc;
  }

  /** Writes an atomic checkpoint (weights, EMA, optimiser, step, RNG) to `file`. */
  save(file: string): void {
    const snap = (p: Params) => p.snapshot();
    this.writeCheckpoint(file, this.adams.map((a) => a.state()), snap(this.model.net.params), snap(this.model.encoder.params), snap(this.model.latent.params));
  }

  /** `save` with asynchronous reads (webgpu). */
  async saveAsync(file: string): Promise<void> {
    const st: AdamState[] = [];
    for (const a of this.adams) st.push(await a.stateAsync());
    const m = this.model;
    this.writeCheckpoint(file, st, await m.net.params.snapshotAsync(), await m.encoder.params.snapshotAsync(), await m.latent.params.snapshotAsync());
  }

  private writeCheckpoint(file: string, st: AdamState[], params: ParamTensors, encoder: ParamTensors, latent: ParamTensors): void {
    saveCheckpoint(file, {
      meta: {
        kind: "infty-diff-autoencoder", config: this.cfg, autoencoder: this.ae, step: this.step, rng: this.rng.state(), adamSteps: st.map((s) => s.step),
        wallSeconds: this.wallSeconds, backend: currentBackend()?.name ?? tf.getBackend(), initFrom: this.initFrom, latentFit: this.latentFit,
      },
      groups: {
        params, encoder, latent,
        ...Object.fromEntries(st.flatMap((s, i) => [[`adam${i}M`, s.m], [`adam${i}V`, s.v]])),
      },
    });
  }

  /** Resumes from a checkpoint written by `save`. */
  restore(file: string): void {
    const ck = loadCheckpoint(file);
    const m = ck.meta as { step: number; rng: RngState; adamSteps: number[]; wallSeconds?: number; initFrom?: string | null; latentFit?: AutoencoderTrainer["latentFit"] };
    if (autoencoderConfigOf(ck.meta).latentTarget !== this.ae.latentTarget) throw new Error(`${file} has a latent model predicting ${autoencoderConfigOf(ck.meta).latentTarget}, this trainer ${this.ae.latentTarget}`);
    this.model.net.params.load(ck.groups.params);
    this.model.encoder.params.load(ck.groups.encoder);
    this.model.latent.params.load(ck.groups.latent);
    this.adams.forEach((a, i) => a.load({ step: m.adamSteps[i], m: ck.groups[`adam${i}M`], v: ck.groups[`adam${i}V`] }));
    this.step = m.step;
    this.rng = new Rng(m.rng);
    this.wallSeconds = m.wallSeconds ?? 0;
    this.initFrom = m.initFrom ?? null;
    this.latentFit = m.latentFit ?? null;
  }

  /** z (posterior mean, full grid) of images [N,H,W,C] → Float32Array [N, zDim], 256 images at a time. */
  encodeLatents(images: ImageSet): Float32Array {
    return driveSync(this.encodeSteps(images));
  }

  private *encodeSteps(images: ImageSet): Generator<tf.Tensor, Float32Array, Float32Array> {
    const N = images.shape[0], D = this.ae.zDim;
    const Z = new Float32Array(N * D);
    for (let s = 0; s < N; s += 256) {
      const e = Math.min(N, s + 256);
      const z = tf.tidy(() => this.model.encode(toTensor(sliceSet(images, s, e))));
      try { Z.set(yield z, s * D); } finally { z.dispose(); }
    }
    return Z;
  }

  /**
   * DiffAE's second stage: (re)fits the latent model on the frozen encoder's z (posterior mean, full grid) of `images`
   * (default: the first 10,000 training images), or on given `latents` [N, zDim] — Adam at a constant `lr`, `batchSize` latents and fresh (t, ε) per
   * step. A `target` other than the current one starts a fresh latent model (a checkpoint trained with ε becomes v).
   */
  fitLatent(opts: FitLatentOptions): { losses: number[] } {
    return driveSync(this.fitLatentSteps(opts));
  }

  /** `fitLatent` with asynchronous reads (webgpu). */
  fitLatentAsync(opts: FitLatentOptions): Promise<{ losses: number[] }> {
    return driveAsync(this.fitLatentSteps(opts));
  }

  private *fitLatentSteps(opts: FitLatentOptions): Generator<tf.Tensor, { losses: number[] }, Float32Array> {
    const t0 = Date.now();
    const D = this.ae.zDim;
    const Z = opts.latents ?? (yield* this.encodeSteps(opts.images ?? sliceSet(this.data, 0, 10000)));
    if (Z.length % D !== 0 || Z.length === 0) throw new Error(`latents must be [N, ${D}], got ${Z.length} values`);
    const N = Z.length / D;
    const rng = new Rng(opts.seed ?? this.cfg.train.seed + 7);
    const target = opts.target ?? this.ae.latentTarget;
    if (target !== this.ae.latentTarget) {
      this.model.latent.dispose();
      this.model.latent = new LatentDenoiser(D, this.ae.latentWidth, this.ae.latentDepth, rng.fork(), target);
      this.adams[2].dispose();
      this.adams[2] = new Adam(this.model.latent.params, this.adamOpts);
      this.ae = Object.freeze({ ...this.ae, latentTarget: target });
      this.model.ae = this.ae;
    }
    const B = Math.min(opts.batchSize ?? 256, N), lr = opts.lr ?? 1e-3, losses: number[] = [];
    const zAll = tf.tensor2d(Z, [N, D]);
    try {
      for (let i = 0; i < opts.steps; i++) {
        const idx = tf.tensor1d(Array.from({ length: B }, () => rng.int(N)), "int32");
        const ts = Array.from({ length: B }, () => rng.int(this.schedule.T));
        const eps = rng.normalTensor<tf.Rank.R2>([B, D]);
        const z = tf.gather(zAll, idx) as tf.Tensor2D;
        const { value, grads } = tf.variableGrads(() => this.model.latent.loss(z, ts, eps, this.schedule), this.model.latent.params.variables());
        const loss = (yield value)[0];
        if (!Number.isFinite(loss)) throw new Error(`latent loss is ${loss} at fit step ${i + 1}`);
        tf.dispose(this.adams[2].apply(gradsByName(this.model.latent.params, grads), lr));
        tf.dispose([value, ...Object.values(grads), idx, eps, z]);
        losses.push(loss);
        opts.onStep?.(i + 1, loss);
      }
    } finally {
      zAll.dispose();
    }
    const tail = losses.slice(-50);
    this.latentFit = { steps: opts.steps, images: N, target, finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(tail.length, 1), seconds: (Date.now() - t0) / 1000 };
    return { losses };
  }

  /**
   * Warm start: the decoder takes the EMA weights of an unconditional ∞-Diff checkpoint with the same model config,
   * and W_z starts at zero, so at step 0 the autoencoder samples exactly as that model does and z's influence is
   * learnt from there (training an autoencoder from scratch costs as much again as the unconditional model).
   */
  warmStart(file: string): void {
    this.model.net.params.load(warmStartWeights(file, this.cfg));
    this.initFrom = file;
    tf.tidy(() => {
      this.model.zProj.w.assign(tf.zerosLike(this.model.zProj.w));
      if (this.model.zProj.b) this.model.zProj.b.assign(tf.zerosLike(this.model.zProj.b));
    });
  }

  /** Frees the model, its EMA copy and the optimiser. */
  dispose(): void {
    this.model.dispose();
    for (const a of this.adams) a.dispose();
    this.mollifier.dispose();
  }
}

/** The checkpoint file name inside an autoencoder run folder. */
export const AUTOENCODER_CHECKPOINT = "autoencoder.ckpt";

/**
 * Trains (or resumes) a diffusion autoencoder in `runDir` up to `steps` (default cfg.train.steps), checkpointing
 * atomically every cfg.train.checkpointEvery steps and at the end; config.json and log.jsonl as train() writes them.
 * On resume the log is cut back to the checkpoint's step, so a killed run leaves no duplicate rows. `initFrom` (an
 * unconditional checkpoint) warm-starts the decoder of a new run (AutoencoderTrainer.warmStart).
 */
export async function trainAutoencoder(opts: {
  cfg: LabConfig; ae: AutoencoderConfig; runDir: string; data?: ImageSet; steps?: number; initFrom?: string; progress?: boolean;
  onStep?: (row: AutoencoderLogRow) => void;
}): Promise<{ step: number; resumedFrom: number; trainer: AutoencoderTrainer }> {
  const { cfg, ae, runDir } = opts;
  try {
    fs.mkdirSync(runDir, { recursive: true });
  } catch (e) {
    throw diskError(e, runDir);
  }
  removeStaleTemps(runDir);
  const ckpt = path.join(runDir, AUTOENCODER_CHECKPOINT);
  const log = path.join(runDir, "log.jsonl");
  const trainer = new AutoencoderTrainer(cfg, ae, opts.data ?? trainingImages(cfg));
  if (fs.existsSync(ckpt)) {
    trainer.restore(ckpt);
    // keep the log consistent with the checkpoint (steps after it will be redone; a torn last line is dropped)
    const kept = readLogFile<AutoencoderLogRow>(log, trainer.step);
    writeFileAtomic(log, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  } else {
    if (opts.initFrom) trainer.warmStart(opts.initFrom);
    writeFileAtomic(path.join(runDir, "config.json"), JSON.stringify({ ...cfg, autoencoder: ae, initFrom: opts.initFrom ?? null }, null, 2));
    if (fs.existsSync(log)) fs.unlinkSync(log);
  }
  const resumedFrom = trainer.step;
  const target = opts.steps ?? cfg.train.steps;
  const bar = new Progress({ label: `train-ae ${path.basename(runDir)}`, total: target, unit: "step", enabled: opts.progress === true }, trainer.step);
  let smoothed = NaN;
  const thinner = new LogThinner<AutoencoderLogRow>(log, cfg.train.logEvery);
  while (trainer.step < target) {
    const row = await trainer.trainStepAsync();
    thinner.add(row, trainer.step % cfg.train.checkpointEvery === 0 || trainer.step === target);
    opts.onStep?.(row);
    smoothed = Number.isNaN(smoothed) ? row.loss : 0.95 * smoothed + 0.05 * row.loss;
    bar.tick(1, { loss: smoothed, latent: row.latentLoss });
    if (trainer.step % cfg.train.checkpointEvery === 0 || trainer.step === target) await trainer.saveAsync(ckpt);
  }
  bar.finish({ loss: smoothed });
  return { step: trainer.step, resumedFrom, trainer };
}


/** Runs a generator that yields tensors to read, resuming it with each one's values read synchronously. */
function driveSync<R>(g: Generator<tf.Tensor, R, Float32Array>): R {
  let r = g.next();
  try {
    while (!r.done) r = g.next((r.value as tf.Tensor).dataSync() as Float32Array); // (casts: tslab's settings do not narrow)
  } catch (e) {
    g.return(undefined as unknown as R); // runs the generator's finally blocks (disposals)
    throw e;
  }
  return r.value as R;
}

/** The same with `await data()` reads (webgpu). */
async function driveAsync<R>(g: Generator<tf.Tensor, R, Float32Array>): Promise<R> {
  let r = g.next();
  try {
    while (!r.done) r = g.next((await (r.value as tf.Tensor).data()) as Float32Array);
  } catch (e) {
    g.return(undefined as unknown as R);
    throw e;
  }
  return r.value as R;
}
