/**
 * `infty sample`: draws samples from a checkpoint at any resolution; writes a PNG grid and the raw array (.npy).
 * Samples are streamed to disk batch by batch (`<out>.part.npy`, renamed to `<out>.npy` when complete), so any n runs
 * in memory bounded by --batch and a killed run keeps every finished batch.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, choice, flagsHelp, int, num, parseFlags, str } from "../args";
import { backendFlag, checkpointConfig, checkSteps, chooseBatch, LIMITS, loadModelChecked, parseResolution, seedFlag, startBackend } from "../inputs";
import { guardFiles } from "../guard";
import { sampleModel } from "../../lib/pipelines/sample";
import { inBatches } from "../../lib/pipelines/sampling";
import { SAMPLER_NAMES } from "../../lib/diffusion/samplers";
import { NpyAppender } from "../../lib/runtime/npy";
import { writeFileAtomic } from "../../lib/runtime/checkpoint";
import { diskError } from "../../lib/runtime/atomic-write";
import { loadAutoencoder, sampleAutoencoder } from "../../lib/pipelines/autoencoder";
import { Progress } from "../../lib/runtime/progress";
import { encodePNG, imageGrid } from "../../viz/png";

/** The batch when --batch is not given and memory allows (the seeds of batch k depend on it, so it stays fixed). */
const DEFAULT_BATCH = 16;
/** The PNG shows at most this many samples (the .npy holds all of them). */
const PNG_MAX = 256;

const FLAGS = {
  checkpoint: str("checkpoint file", { default: "data/checkpoints/fashion-mnist.ckpt" }),
  resolution: str("output side r, or HxW (e.g. 56 or 28x56)", { default: "28" }),
  n: int("number of samples (streamed to disk; the PNG shows the first 256)", { min: 1, max: LIMITS.samples, default: 16 }),
  batch: int("samples per batch (batch k > 0 draws from seed + k·2654435769 mod 2³²; default: the largest up to 16 that fits in memory)", { min: 1, max: LIMITS.batch }),
  steps: int("sampler steps (≤ the model's T)", { min: 1, max: LIMITS.steps, default: 100 }),
  sampler: choice(SAMPLER_NAMES.join(" | "), SAMPLER_NAMES, "ddim"),
  eta: num("DDIM η (0 = deterministic, 1 = DDPM-like)", { min: 0, max: 1, default: 0 }),
  seed: seedFlag(),
  out: str("output prefix: writes <out>.png and <out>.npy", { default: "samples" }),
  force: bool("replace existing output files"),
  raw: bool("use the raw (non-EMA) weights"),
  backend: backendFlag(),
  workers: int("worker threads splitting each batch (same samples up to float order; 2 on an idle 2-core CPU)", { min: 1, max: 64, default: 1 }),
  quiet: bool("no progress bar"),
};

/** The seed of batch k: batch 0 uses --seed itself, so a single-batch run draws what it always drew. */
const batchSeed = (seed: number, k: number) => (seed + k * 2654435769) % 2 ** 32;

export const sampleCommand: Command = {
  name: "sample",
  summary: "sample a checkpoint at any resolution (PNG grid + .npy)",
  usage: `usage: infty sample [--checkpoint file] [--resolution r|HxW] [--n N] [options]\n\n` +
    `Samples with the EMA weights on the full H×W grid: kernels resampled, mollifier and noise scaled by r/r₀.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    // a prefix, not a folder: "--out dir/" would write dir.npy beside the folder, not in it
    if (/[\\/]$/.test(f.out)) throw new UsageError(`--out ${f.out} names a folder; give a file prefix such as ${f.out}samples`);
    const [H, W] = parseResolution(f.resolution);
    const n = f.n;
    const { cfg, kind } = checkpointConfig(f.checkpoint);
    if (cfg.model.authorsZDim) {
      throw new UsageError(`${f.checkpoint} is the authors' z-conditioned decoder (z_dim ${cfg.model.authorsZDim}): it samples given z, from code (sampleModel with cond; docs/authors-architecture.md)`);
    }
    const autoencoder = kind === "infty-diff-autoencoder";
    if (autoencoder && (f.sampler !== "ddim" || f.eta !== 0 || f.raw || f.workers > 1)) {
      throw new UsageError("an autoencoder checkpoint samples with DDIM η = 0 only (no --sampler/--eta/--raw/--workers)");
    }
    checkSteps(f.steps, cfg);
    const C = cfg.model.channels;
    const prefix = path.resolve(f.out);
    const npyFile = `${prefix}.npy`, pngFile = `${prefix}.png`, partFile = `${prefix}.part.npy`;
    guardFiles({
      reads: [{ flag: "--checkpoint", file: f.checkpoint }],
      writes: [
        { flag: "--out", file: npyFile, force: f.force, bytes: n * H * W * C * 4 + 256 },
        { flag: "--out", file: pngFile, force: f.force },
        // a killed run's finished batches are kept until the user says otherwise
        { flag: "--out", file: partFile, force: f.force },
      ],
    });
    await startBackend(f.backend);
    const bs = chooseBatch(cfg, f.batch === undefined ? undefined : Math.min(f.batch, n), Math.min(DEFAULT_BATCH, n), H, W, "sample");

    // one batch [b, H, W, C] of x₀ in [−1, 1], from the right model
    let drawBatch: (b: number, seed: number, progress: boolean) => Promise<Float32Array>;
    let dispose: () => void;
    if (autoencoder) {
      // z from the latent diffusion model, then the z-conditioned decoder at H×W (DDIM; no EMA in this checkpoint)
      let ae: ReturnType<typeof loadAutoencoder>;
      try {
        ae = loadAutoencoder(f.checkpoint);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      drawBatch = async (b, seed) => {
        const x = await sampleAutoencoder(ae.model, { n: b, resolution: [H, W], steps: f.steps, seed, batchSize: b });
        const data = (await x.data()) as Float32Array; // clipped to [−1, 1] by the pipeline
        x.dispose();
        return data;
      };
      dispose = () => ae.model.dispose();
    } else {
      const model = loadModelChecked(f.checkpoint, { ema: !f.raw });
      drawBatch = async (b, seed, progress) => (await sampleModel(model.net, model.cfg, {
        resolution: [H, W], n: b, batchSize: b, steps: f.steps, sampler: f.sampler, eta: f.eta, seed, progress, workers: f.workers,
      })).x0.images;
      dispose = () => model.net.dispose();
    }

    const t0 = Date.now();
    const shown = Math.min(n, PNG_MAX);
    const firstSamples = new Float32Array(shown * H * W * C);
    const batches = Math.ceil(n / bs);
    // one batch: the sampler's own step bar; several: one bar over images
    const bar = new Progress({ label: `sample ${H}×${W}`, total: n, unit: "img", enabled: !f.quiet && batches > 1 });
    // a new folder for the output is made as `grid` makes one (and removed again if nothing is kept in it)
    let made: string | undefined;
    try {
      made = fs.mkdirSync(path.dirname(prefix), { recursive: true });
    } catch (e) {
      dispose();
      throw diskError(e, partFile);
    }
    let npy: NpyAppender;
    try {
      npy = new NpyAppender(partFile, [H, W, C], n);
    } catch (e) {
      dispose();
      if (made) fs.rmSync(made, { recursive: true, force: true });
      throw e;
    }
    try {
      // the sampling pipeline's batching (sampling.ts), each batch streamed to the .part.npy as it finishes
      await inBatches(n, bs, H * W * C, async (done, b) => [await drawBatch(b, batchSeed(f.seed, done / bs), !f.quiet && batches === 1)], (done, [x]) => {
        const bad = x.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new Error(`sample ${done + Math.floor(bad / (H * W * C))} is not finite (NaN/∞); no ${npyFile} written`);
        npy.append(x);
        if (done < shown) firstSamples.set(x.subarray(0, (Math.min(shown, done + x.length / (H * W * C)) - done) * H * W * C), done * H * W * C);
        bar.tick(x.length / (H * W * C));
      });
      bar.finish();
    } catch (e) {
      // say where the finished batches are (or leave no empty file behind)
      if (npy.rows > 0 && e instanceof Error) e.message += `; the ${npy.rows} finished samples are in ${partFile}`;
      else {
        fs.rmSync(partFile, { force: true });
        if (made) fs.rmSync(made, { recursive: true, force: true });
      }
      throw e;
    } finally {
      npy.close();
      dispose();
    }
    try {
      fs.renameSync(partFile, npyFile);
    } catch (e) {
      throw diskError(e, npyFile);
    }
    writeFileAtomic(pngFile, encodePNG(imageGrid({ data: firstSamples, shape: [shown, H, W, C] })));
    console.error(`wrote ${pngFile} and ${npyFile} (${n} ${autoencoder ? "autoencoder " : ""}samples at ${H}×${W}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  },
};
