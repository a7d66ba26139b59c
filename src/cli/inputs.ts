/**
 * What several commands read from the user, in one place (no command imports another): resolutions, config files,
 * the backend, checkpoints, input images and the limits every request is held to before any compute starts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { guardFiles } from "./guard";
import { UsageError } from "./errors";
import { bool, choice, FlagSpecs, Flags, int, num, SEED_MAX, str } from "./args";
import { BACKEND_NAMES, BackendInfo, currentBackend, initBackend } from "../lib/runtime/backend";
import { resolveConfig, DdimGrid, LabConfig } from "../lib/config/config";
import { strideTimesteps } from "../lib/diffusion/schedules";
import { JsonTextError } from "../lib/config/json-text";
import { readJsonFile } from "../lib/config/json-file";
import { loadCheckpoint, ParamTensors } from "../lib/runtime/checkpoint";
import { ImageSet, areaResize } from "../lib/data/image-ops";
import { DATASETS, DATASET_NAMES, DatasetEntry, DatasetName } from "../lib/data/datasets";
import { loadGuidedModel as loadGuided } from "../lib/pipelines/autoencoder";
import { loadModel, LoadedModel } from "../lib/pipelines/sample";
import { GridDenoiser } from "../lib/nn/network";
import { decodePNG } from "../viz/png";

/** The limits on requests (README "bad input" lists them); each says why it is there. */
export const LIMITS = {
  /** output side in pixels: a 4096² image is 16.7 M points per sample, the edge of what a CPU samples in a day */
  side: 4096,
  /** samples one `sample` writes (streamed to disk, so memory is bounded by --batch; the disk is checked first) */
  samples: 1_000_000,
  /** samples `eval` holds in memory at once (FID needs them all; the test set it compares with has 10,000) */
  evalSamples: 50_000,
  /** images per batch */
  batch: 1024,
  /** sampler steps: at most the model's T, and never more than this */
  steps: 100_000,
  /** rows of a `grid` (each row is one sample at every resolution) */
  gridRows: 256,
  /** procedural dataset images are drawn in order, so image i costs i + 1 draws */
  proceduralIndex: 999_999,
  /** the Fashion-MNIST test split */
  fashionIndex: 9_999,
};

/**
 * The memory model of sampling, calibrated on measured peaks (bench/sample-memory.ts → bench/sample-memory.json:
 * `infty sample`'s sampler in its own process under /usr/bin/time -v, the shipped nf = 32 model on wasm, 8² … 448²,
 * batch 1 … 64). The network goes through the grid in calls of whole images of at most GridDenoiser.maxPixelsPerCall
 * pixels (one image when a single image is larger), so the peak is a fixed part (runtime, model), the working set
 * of one call (per pixel, ∝ nf, and per image: the U-Net on each image's coarse grid) and the batch's own state
 * (x_t, x̂₀ and noise per pixel), not B·H·W times one big constant: 224² at batch 4 peaks at 343 MiB, 28² at
 * batch 64 at 459 MiB. tests/cli/sample-memory.test.ts pins this estimate to 1.0–1.5× every measured peak (1.02–1.17× now).
 */
export const SAMPLE_MEMORY = {
  /** runtime, backend and model, before any grid */
  fixedBytes: 160 * 2 ** 20,
  /** per pixel in one network call, per feature channel (nf): ≈ 3.7 kB a pixel at nf = 32 */
  callBytesPerPixelPerNf: 116,
  /** per image in one network call, at nf = 32 (the U-Net at its own resolution, per-image contexts) */
  callBytesPerImage: 3 * 2 ** 20,
  /** per pixel and channel of the whole batch (x_t, x̂₀, noise, outputs), held across calls */
  batchBytesPerValue: 128,
};

/** Estimated peak bytes of sampling a batch of B images at H×W (see SAMPLE_MEMORY). */
export function estimateSampleBytes(cfg: LabConfig, B: number, H: number, W: number): number {
  const px = H * W, m = SAMPLE_MEMORY;
  const perCall = Math.max(1, Math.min(B, Math.floor(GridDenoiser.maxPixelsPerCall / px)));
  return m.fixedBytes + perCall * px * cfg.model.nf * m.callBytesPerPixelPerNf + perCall * m.callBytesPerImage * (cfg.model.nf / 32) +
    B * px * cfg.model.channels * m.batchBytesPerValue;
}
const GiB = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/** What a batch may use: half this machine's memory, and on wasm (32-bit addresses, a 4 GiB heap) at most 3 GiB. */
export function sampleMemoryBudget(): { bytes: number; why: string } {
  const half = os.totalmem() / 2;
  if (currentBackend()?.tfName === "wasm" && half > 3 * 2 ** 30) return { bytes: 3 * 2 ** 30, why: "the wasm backend's 4 GiB heap, less headroom" };
  return { bytes: half, why: "half this machine's memory" };
}

/** Refuses a batch whose estimated memory exceeds the budget (after `startBackend`, before any compute). */
export function checkSampleMemory(cfg: LabConfig, B: number, H: number, W: number): void {
  const need = estimateSampleBytes(cfg, B, H, W), have = sampleMemoryBudget();
  if (need > have.bytes) {
    throw new UsageError(`a batch of ${B} at ${H}×${W} needs about ${GiB(need)} (estimated from measured peaks, bench/sample-memory.json), ` +
      `more than ${have.why} (${GiB(have.bytes)}); lower ${B > 1 ? "--batch or " : ""}--resolution`);
  }
}

/**
 * The batch to sample with: `requested` (checked) when the user gave --batch; otherwise the largest batch up to
 * `cap` that fits the memory budget, said on stderr when it is smaller than `cap`. Refuses when one image does not fit.
 */
export function chooseBatch(cfg: LabConfig, requested: number | undefined, cap: number, H: number, W: number, label: string): number {
  if (requested !== undefined) {
    checkSampleMemory(cfg, requested, H, W);
    return requested;
  }
  checkSampleMemory(cfg, 1, H, W);
  const have = sampleMemoryBudget();
  let lo = 1, hi = Math.max(1, cap);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (estimateSampleBytes(cfg, mid, H, W) <= have.bytes) lo = mid;
    else hi = mid - 1;
  }
  if (lo < cap) console.error(`infty ${label}: batch ${lo}, the largest that fits ${have.why} (${GiB(have.bytes)}) at ${H}×${W}; --batch chooses another`);
  return lo;
}

/** Refuses n samples [n, H, W, C] held in memory at once (FID needs them all) beyond a quarter of this machine's memory. */
export function checkHeldSamples(n: number, H: number, W: number, C: number): void {
  const need = n * H * W * C * 4, have = os.totalmem() / 4;
  if (need > have) {
    throw new UsageError(`--n ${n} samples at ${H}×${W} would hold ${GiB(need)} in memory (FID needs them all), more than a quarter ` +
      `of this machine's memory (${GiB(have)}); lower --n or --resolution`);
  }
}

/** Checks sampler steps against the model's T (a respaced schedule cannot have more steps than timesteps). */
export function checkSteps(steps: number, cfg: LabConfig, flag = "--steps", grid: DdimGrid | null = cfg.diffusion.ddimGrid): void {
  const T = cfg.diffusion.timesteps;
  if (steps > T) throw new UsageError(`${flag} must be ≤ the model's ${T} timesteps, got ${steps}`);
  // the authors' strided grid exists only for some counts: say so now, not after the model is loaded
  if (grid === "ddim-stride") {
    try {
      strideTimesteps(T, steps);
    } catch (e) {
      throw new UsageError(`${flag} ${steps}: ${(e as Error).message}`);
    }
  }
}

export const seedFlag = (help = "seed") => int(help, { min: 0, max: SEED_MAX, default: 0 });
export const backendFlag = (help = "tensorflow | webgpu | wasm | cpu (default: fastest available, or INFTY_BACKEND)") =>
  choice(help, BACKEND_NAMES);

/** The requested backend; one that cannot start is the user's to fix (exit 2). */
export async function startBackend(request: string | undefined, opts?: Parameters<typeof initBackend>[1]): Promise<BackendInfo> {
  try {
    return await initBackend(request, opts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** "56" → [56, 56]; "28x56" → [28, 56]; anything else is a usage error. */
export function parseResolution(s: string, flag = "--resolution"): [number, number] {
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/.exec(s);
  if (!m) throw new UsageError(`${flag} must be a positive integer r or HxW, got '${s}'`);
  const h = Number(m[1]), w = m[2] !== undefined ? Number(m[2]) : h;
  if (h < 1 || w < 1) throw new UsageError(`${flag} must be ≥ 1, got '${s}'`);
  if (h > LIMITS.side || w > LIMITS.side) throw new UsageError(`${flag} must be ≤ ${LIMITS.side} (16.7 M points per sample), got '${s}'`);
  return [h, w];
}

/** A JSON lab config file (validated), or the defaults when none is given. */
export function loadConfigFile(file: string | undefined): LabConfig {
  if (!file) return resolveConfig({});
  try {
    return resolveConfig(readJsonFile(file, "config", file));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Any JSON file the user names (`what` says which, for the message). */
export function readJson(file: string, what: string): unknown {
  try {
    return readJsonFile(file, what);
  } catch (e) {
    const detail = (e as JsonTextError).detail;
    throw new UsageError(detail !== undefined ? `${what} ${file} is not valid JSON: ${detail}` : (e as Error).message);
  }
}

/** A checkpoint's config (read from the file only, no tensors: the backend may not be started yet), or a usage error. */
export function checkpointConfig(file: string): { cfg: LabConfig; kind: unknown } {
  const { meta, groups } = loadCheckpoint(file);
  checkFiniteWeights(groups, `checkpoint ${file}`, "it cannot be sampled");
  try {
    return { cfg: resolveConfig(meta.config), kind: meta.kind };
  } catch (e) {
    throw new UsageError(`checkpoint ${file} has an invalid config: ${(e as Error).message}`);
  }
}

/**
 * Refuses weights holding NaN or ±∞ (a checkpoint, imported weights, a warm start): they do not show as NaN samples
 * (the sampler's clipping turns them into flat images) and a run resumed from them fails only after a step of
 * compute, so every command checks them before anything is written.
 */
export function checkFiniteWeights(groups: Record<string, ParamTensors>, what: string, why: string): void {
  let bad = 0, total = 0;
  for (const g of Object.values(groups)) {
    for (const t of Object.values(g)) {
      total += t.values.length;
      for (let i = 0; i < t.values.length; i++) if (!Number.isFinite(t.values[i])) bad++;
    }
  }
  if (bad) throw new UsageError(`${what} holds ${bad} non-finite weights (of ${total}); ${why}`);
}

/** An unconditional checkpoint's model, or a usage error (after `startBackend`: it makes tensors). */
export function loadModelChecked(file: string, opts: { ema?: boolean } = {}): LoadedModel {
  try {
    return loadModel(file, opts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The datasets whose images --index can pick (those with an order: `image` in the registry). */
const INDEXED_DATASETS = DATASET_NAMES.filter((n) => (DATASETS[n] as DatasetEntry).image) as DatasetName[];

/** Flags every image command shares: the checkpoint, where the input comes from, the output. */
export const INPUT_FLAGS = {
  checkpoint: str("checkpoint (unconditional, or an autoencoder.ckpt: then z of the input conditions it)", { default: "data/checkpoints/fashion-mnist.ckpt" }),
  input: str("input PNG (converted to the model's channels, values to [−1, 1])"),
  index: int("use image #index of the dataset instead (fashion-mnist test split, or procedural)", { min: 0, max: LIMITS.proceduralIndex, why: "procedural images are drawn in order" }),
  dataset: choice(`${INDEXED_DATASETS.join(" | ")} (with --index)`, INDEXED_DATASETS, "fashion-mnist"),
  steps: int("sampler steps", { min: 1, max: LIMITS.steps, default: 50 }),
  lambda: num("guidance weight λ (λ_t = λ·ᾱ_t; 0 = unguided)", { min: 0, max: 1e6, default: 0.5 }),
  seed: seedFlag(),
  out: str("output PNG", { default: "out.png" }),
  force: bool("replace an existing output file"),
  backend: backendFlag(),
} satisfies FlagSpecs;
type InputFlags = Flags<typeof INPUT_FLAGS>;

/** The model of --checkpoint (unconditional or autoencoder), or a usage error. */
export function loadGuidedModel(file: string): ReturnType<typeof loadGuided> {
  if (!fs.existsSync(file)) throw new UsageError(`checkpoint ${file} does not exist`);
  try {
    return loadGuided(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * What a guided command (inpaint, superres) checks before anything is loaded or computed: --input/--index, the
 * checkpoint, that --out overwrites none of its inputs (guard.ts); returns the output path and the checkpoint's config.
 */
export function startGuided(f: Pick<InputFlags, "input" | "index" | "dataset" | "checkpoint" | "out" | "force">): { out: string; cfg: LabConfig } {
  checkInputChoice(f);
  if (!fs.existsSync(f.checkpoint)) throw new UsageError(`checkpoint ${f.checkpoint} does not exist`);
  guardFiles({
    reads: [{ flag: "--checkpoint", file: f.checkpoint }, { flag: "--input", file: f.input }],
    writes: [{ flag: "--out", file: f.out, force: f.force }],
  });
  return { out: path.resolve(f.out), cfg: checkpointConfig(f.checkpoint).cfg };
}

/** Checks --input/--index before anything is loaded or computed. */
export function checkInputChoice(f: Pick<InputFlags, "input" | "index" | "dataset">): void {
  if ((f.input === undefined) === (f.index === undefined)) throw new UsageError("give exactly one of --input file.png or --index N");
  if (f.index !== undefined && f.dataset === "fashion-mnist" && f.index > LIMITS.fashionIndex) {
    throw new UsageError(`--index must be ≤ ${LIMITS.fashionIndex} for the fashion-mnist test split, got ${f.index}`);
  }
  if (f.input !== undefined && !fs.existsSync(f.input)) throw new UsageError(`input ${f.input} does not exist`);
}

/** The input image [1, r, r, C] at `resolution`: a PNG (area-resized when its size differs) or a dataset index. */
export function loadInput(f: Pick<InputFlags, "input" | "index" | "dataset">, cfg: LabConfig, resolution: number): ImageSet {
  const C = cfg.model.channels;
  checkInputChoice(f);
  if (f.input !== undefined) {
    const file = f.input;
    let png;
    try {
      png = decodePNG(fs.readFileSync(file));
    } catch {
      throw new UsageError(`input ${file} is not a PNG`);
    }
    const { width: w, height: h, rgba } = png;
    const img = new Float32Array(h * w * C);
    for (let p = 0; p < h * w; p++) {
      if (C === 1) img[p] = ((rgba[4 * p] + rgba[4 * p + 1] + rgba[4 * p + 2]) / 3 / 255) * 2 - 1;
      else for (let c = 0; c < C; c++) img[p * C + c] = (rgba[4 * p + c] / 255) * 2 - 1;
    }
    const set: ImageSet = { images: img, shape: [1, h, w, C] };
    return h === resolution && w === resolution ? set : areaResize(set, resolution, resolution);
  }
  const i = f.index;
  if (i === undefined) throw new UsageError("give exactly one of --input file.png or --index N");
  const d: DatasetEntry = DATASETS[f.dataset];
  if (!d.channels.includes(C)) throw new UsageError(`${f.dataset} has ${d.channels.join(" or ")} channel(s); this model has ${C}`);
  return d.image!(i, { resolution, channels: C });
}
