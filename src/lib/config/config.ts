/**
 * Configuration is data: typed interfaces, defaults, and a validator that rejects unknown keys and out-of-range
 * values with a one-line message naming the offending path. Quantities derived from a config on a grid (points per
 * image, mollifier std, noise multiplier, kernel size) are computed in grid.ts only.
 */
import { Schema, checkSchema, deepFreeze } from "./schema";
import type { KnnWeights } from "../operators/interpolation";
import { KERNEL_RESAMPLE_MODES, KernelResampleMode } from "../operators/kernel-resample";
import { PARAMETERISATION_NAMES, ParameterisationName } from "../diffusion/parameterisations";
import { DATASET_NAMES, DatasetName } from "../data/datasets";

/** The grid part of the network (nn/unet.ts): a time-conditioned U-Net at a fixed resolution. */
export interface UNetConfig {
  /** grid side (the U-Net's fixed resolution) */
  res: number;
  /** channels in and out */
  channels: number;
  baseChannels: number;
  /** channel multiplier per level; level i works at res / 2^i */
  mults: number[];
  blocksPerLevel: number;
  /** grid sides at which self-attention follows each residual block (the middle block always has one) */
  attnRes: number[];
  /** dropout in residual blocks at grid sides ≤ this */
  dropoutRes: number;
  dropout: number;
  groups: number;
  /** width of the time embedding fed to every block */
  embDim: number;
}

export type SparseOperator = "depthwise" | "regular" | "nonlinear";
export type Downsample = "knn-grid" | "sparse";
export type CoordSampler = "uniform" | "qmc";
// KnnWeights lives with the interpolation it configures (operators import no config; config imports operators)
export type { KnnWeights };
/** kernel resampling across resolutions: the keys of kernel-resample.ts's registry (extent, per-tap, authors, none) */
export type KernelResampling = KernelResampleMode;
/** the authors' sparse backends whose state_dicts the lab reads and writes (nn/authors/) */
export type AuthorsBackend = "torch_dense" | "torchsparse";
/** DDIM step grid (schedules.ts): "even" = T−1 … 0 evenly, "ddim-stride" = the authors' space_timesteps "ddimN" */
export type DdimGrid = "even" | "ddim-stride";

export interface ModelConfig {
  /**
   * "lab": the lab's network (nn/network.ts); "authors": the authors' SparseUNet layer for layer (nn/authors/), which
   * loads their PyTorch weights (`infty import`). The other fields keep their meaning (mapping in
   * nn/authors/import.ts). Resolved configs hold the key only for "authors": absent means "lab", so every lab
   * config, checkpoint and experiment hash from before the field existed stays as it was.
   */
  arch?: "lab" | "authors";
  /**
   * arch "authors" only: which of the authors' sparse backends the weights come from, i.e. their state_dict layout
   * (torchsparse: LayerNorms with a bias, Linear MLPs, kernels (h w) i o; docs/authors-architecture.md). Absent =
   * "torch_dense", as before the field existed.
   */
  authorsBackend?: AuthorsBackend;
  /**
   * arch "authors" only: their z-conditioned decoder (`z_dim`, every published config of theirs): each modulated norm
   * is also scaled by 1 + MLP(z), z [B, authorsZDim] passed as the forward's `cond`. Absent: unconditional.
   */
  authorsZDim?: number;
  /** image channels */
  channels: number;
  /** training resolution r₀ (square) */
  resolution: number;
  /** feature channels on the coordinates */
  nf: number;
  timeEmbDim: number;
  /** sparse residual blocks before (and, with skips, after) the grid part */
  sparseBlocks: number;
  /** sparse kernel size at r₀ (odd) */
  kernelSize: number;
  /** MLP expansion in sparse blocks (C → mult·C → C) */
  mlpMult: number;
  /** neighbours of the kNN interpolation points → grid */
  knnNeighbours: number;
  /** weights of that interpolation (convention; checkpoints without the field were trained with "inverse-distance") */
  knnWeights: KnnWeights;
  /** how sparse kernels are resampled at another resolution (convention; absent in old checkpoints = "extent") */
  kernelResampling: KernelResampling;
  /** Table 2: depthwise (ours), regular (full) sparse convs, or a nonlinear kernel */
  operator: SparseOperator;
  /** Table 2: interpolate to a grid (ours) or downsample by random coordinate subsets */
  downsample: Downsample;
  unet: Omit<UNetConfig, "channels" | "embDim">;
}

export interface DiffusionConfig {
  schedule: "cosine" | "linear";
  timesteps: number;
  parameterisation: ParameterisationName;
  /** mollifier std in pixels at the training resolution (0 = white-noise process, T = I) */
  mollifierStd: number;
  /** Wiener filter inverse SNR used to turn sampled Tx₀ into x₀ */
  wienerInvSnr: number;
  /**
   * DDIM step grid used by sampleModel (convention; absent in old checkpoints = "even"). Default "ddim-stride", the
   * authors' grid: on the shipped model at 25 steps, n = 500, FID 132.8 against 139.4 for "even"; a tie at 100 steps
   * (n = 200: 133.3 vs 133.9; README, "Conventions").
   * Some step counts have no integer stride (45, …): choose "even" for those.
   */
  ddimGrid: DdimGrid;
  /** clip the predicted Tx₀ to [−1, 1] while sampling, as the authors' clip_denoised=True (convention) */
  clipTx0: boolean;
}

export interface TrainConfig {
  /** a key of the dataset registry (data/datasets.ts) */
  dataset: DatasetName;
  batchSize: number;
  /** fraction of pixels sampled per image (∞-Diff §3.1; paper default 1/4) */
  coordRatio: number;
  coordSampler: CoordSampler;
  lr: number;
  adamBeta1: number;
  adamBeta2: number;
  warmupSteps: number;
  gradClip: number;
  emaDecay: number;
  steps: number;
  seed: number;
  logEvery: number;
  checkpointEvery: number;
}

export interface LabConfig {
  model: ModelConfig;
  diffusion: DiffusionConfig;
  train: TrainConfig;
}

export const DEFAULT_CONFIG: LabConfig = Object.freeze({
  model: {
    channels: 1,
    resolution: 28,
    nf: 32,
    timeEmbDim: 128,
    sparseBlocks: 3,
    kernelSize: 7,
    mlpMult: 2,
    knnNeighbours: 3,
    knnWeights: "inverse-squared-distance",
    kernelResampling: "extent",
    operator: "depthwise",
    downsample: "knn-grid",
    unet: { res: 16, baseChannels: 32, mults: [1, 2, 2], blocksPerLevel: 2, attnRes: [4], dropoutRes: 4, dropout: 0.1, groups: 8 },
  },
  diffusion: { schedule: "cosine", timesteps: 1000, parameterisation: "mollifiedEps", mollifierStd: 1.0, wienerInvSnr: 0.05, ddimGrid: "ddim-stride", clipTx0: true },
  train: {
    dataset: "fashion-mnist",
    batchSize: 32,
    coordRatio: 0.25,
    coordSampler: "uniform",
    lr: 2e-4,
    adamBeta1: 0.9,
    adamBeta2: 0.99,
    warmupSteps: 200,
    gradClip: 1.0,
    emaDecay: 0.999,
    steps: 20000,
    seed: 0,
    logEvery: 25,
    checkpointEvery: 250,
  },
}) as LabConfig;

/**
 * The conventions as they were before they became config fields: a stored config (checkpoint, result) that lacks a
 * field was made with this value, so `resolveStoredConfig` fills it in instead of today's default.
 */
export const LEGACY_CONVENTIONS = Object.freeze({
  model: Object.freeze({ knnWeights: "inverse-distance" as KnnWeights, kernelResampling: "extent" as KernelResampling }),
  diffusion: Object.freeze({ ddimGrid: "even" as DdimGrid, clipTx0: true }),
});

// ---- validation (the lab's one schema language: schema.ts) ------------------------------------------------------

type Spec = Schema;

const UNET_SPEC: Spec = {
  t: "obj",
  fields: {
    res: { t: "int", min: 2, max: 256 },
    baseChannels: { t: "int", min: 1, max: 1024 },
    mults: { t: "intList", min: 1, max: 16 },
    blocksPerLevel: { t: "int", min: 1, max: 8 },
    attnRes: { t: "intList", min: 1, max: 256, allowEmpty: true },
    dropoutRes: { t: "int", min: 0, max: 256 },
    dropout: { t: "num", min: 0, max: 0.99 },
    groups: { t: "int", min: 1, max: 64 },
  },
};

const SPEC: Spec = {
  t: "obj",
  fields: {
    model: {
      t: "obj",
      fields: {
        arch: { t: "enum", values: ["lab", "authors"] },
        authorsBackend: { t: "enum", values: ["torch_dense", "torchsparse"] },
        authorsZDim: { t: "int", min: 1, max: 8192 },
        channels: { t: "int", min: 1, max: 4 },
        resolution: { t: "int", min: 4, max: 4096 },
        nf: { t: "int", min: 1, max: 1024 },
        timeEmbDim: { t: "int", min: 2, max: 4096 },
        sparseBlocks: { t: "int", min: 0, max: 16 },
        kernelSize: { t: "int", min: 1, max: 31, odd: true },
        mlpMult: { t: "int", min: 1, max: 8 },
        knnNeighbours: { t: "int", min: 1, max: 16 },
        knnWeights: { t: "enum", values: ["inverse-squared-distance", "inverse-distance"] },
        kernelResampling: { t: "enum", values: KERNEL_RESAMPLE_MODES },
        operator: { t: "enum", values: ["depthwise", "regular", "nonlinear"] },
        downsample: { t: "enum", values: ["knn-grid", "sparse"] },
        unet: UNET_SPEC,
      },
    },
    diffusion: {
      t: "obj",
      fields: {
        schedule: { t: "enum", values: ["cosine", "linear"] },
        timesteps: { t: "int", min: 2, max: 100000 },
        parameterisation: { t: "enum", values: PARAMETERISATION_NAMES },
        mollifierStd: { t: "num", min: 0, max: 64 },
        wienerInvSnr: { t: "num", min: 0, max: 10 },
        ddimGrid: { t: "enum", values: ["even", "ddim-stride"] },
        clipTx0: { t: "bool" },
      },
    },
    train: {
      t: "obj",
      fields: {
        dataset: { t: "enum", values: DATASET_NAMES },
        batchSize: { t: "int", min: 1, max: 4096 },
        coordRatio: { t: "num", min: 0, max: 1, minExclusive: true },
        coordSampler: { t: "enum", values: ["uniform", "qmc"] },
        lr: { t: "num", min: 0, max: 1, minExclusive: true },
        adamBeta1: { t: "num", min: 0, max: 0.99999 },
        adamBeta2: { t: "num", min: 0, max: 0.99999999 },
        warmupSteps: { t: "int", min: 0, max: 1e9 },
        gradClip: { t: "num", min: 0, max: 1e6 },
        emaDecay: { t: "num", min: 0, max: 0.999999 },
        steps: { t: "int", min: 1, max: 1e9 },
        seed: { t: "int", min: 0, max: 2 ** 31 - 1 },
        logEvery: { t: "int", min: 1, max: 1e9 },
        checkpointEvery: { t: "int", min: 1, max: 1e9 },
      },
    },
  },
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const check = (value: unknown, spec: Spec, path: string, dflt: unknown): unknown =>
  checkSchema(value, spec, path, dflt, { prefix: "config ", error: (m) => new ConfigError(m) });

/**
 * Validates a (partial) config over the defaults: missing keys take defaults, unknown keys and out-of-range values
 * throw ConfigError. Returns a frozen, complete config.
 */
export function resolveConfig(partial: unknown = {}): LabConfig {
  const cfg = check(partial, SPEC, "", DEFAULT_CONFIG) as LabConfig;
  if (cfg.model.arch === "lab") delete cfg.model.arch; // one canonical form: absent = "lab"
  const u = cfg.model.unet;
  const lowest = u.res / 2 ** (u.mults.length - 1);
  if (!Number.isInteger(lowest)) throw new ConfigError(`config model.unet.res: ${u.res} must be divisible by 2^${u.mults.length - 1}`);
  if (cfg.model.nf % 1 !== 0) throw new ConfigError("config model.nf must be an integer");
  if (cfg.model.arch === "authors") {
    const m = cfg.model;
    if (m.operator !== "depthwise") throw new ConfigError(`config model.operator: the authors' architecture needs "depthwise" (got "${m.operator}")`);
    if (m.downsample !== "knn-grid") throw new ConfigError(`config model.downsample: the authors' architecture needs "knn-grid" (got "${m.downsample}")`);
    if (m.mlpMult !== 2) throw new ConfigError(`config model.mlpMult: the authors' architecture has 2 (got ${m.mlpMult})`);
    if (m.authorsBackend === "torch_dense") delete m.authorsBackend; // one canonical form: absent = torch_dense
    // off r₀ the authors' network has two behaviours: "authors" (kernel resampled, their sparse backends) and "none"
    // (kernel kept, their torch_dense); the lab's default "extent" is read as "authors", what this arch always did
    if (m.kernelResampling === "extent") m.kernelResampling = "authors";
    if (m.kernelResampling === "per-tap") throw new ConfigError(`config model.kernelResampling: the authors' architecture has "authors" (resampled kernel) or "none" (kept kernel), not "per-tap"`);
  } else if (cfg.model.authorsBackend !== undefined || cfg.model.authorsZDim !== undefined) {
    throw new ConfigError(`config model.${cfg.model.authorsBackend !== undefined ? "authorsBackend" : "authorsZDim"}: only for arch "authors"`);
  }
  return deepFreeze(cfg);
}

/**
 * A config read back from a checkpoint or result: fields missing there take the value they had when it was written
 * (LEGACY_CONVENTIONS), not today's defaults, so an old checkpoint behaves exactly as it was trained.
 */
export function resolveStoredConfig(stored: unknown): LabConfig {
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return resolveConfig(stored);
  const s = stored as Record<string, Record<string, unknown> | undefined>;
  const fill = (part: Record<string, unknown> | undefined, legacy: Record<string, unknown>) =>
    (part === undefined || (typeof part === "object" && part !== null && !Array.isArray(part)) ? { ...legacy, ...(part ?? {}) } : part);
  return resolveConfig({ ...s, model: fill(s.model, LEGACY_CONVENTIONS.model), diffusion: fill(s.diffusion, LEGACY_CONVENTIONS.diffusion) });
}

/** Parses JSON text into a validated config; JSON errors become one-line ConfigErrors. */
export function parseConfig(text: string, source = "config"): LabConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  return resolveConfig(raw);
}
