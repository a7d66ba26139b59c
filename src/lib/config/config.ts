/**
 * Configuration is data: one zod declaration (below) gives the types, the validation and the one-line messages naming
 * the offending path (schema.ts); unknown keys and out-of-range values are refused. Quantities derived from a config
 * on a grid (points per image, mollifier std, noise multiplier, kernel size, DDIM grid) are computed in grid.ts only.
 */
import { bool, deepFreeze, int, intList, num, obj, oneOf, parseWith, z } from "./schema";
import { parseJsonText } from "./json-text";
import type { KnnWeights } from "../operators/interpolation";
import { KERNEL_RESAMPLE_MODES, KernelResampleMode } from "../operators/kernel-resample";
import { PARAMETERISATION_NAMES } from "../diffusion/parameterisations";
import { DATASET_NAMES } from "../data/datasets";

const KNN_WEIGHTS: readonly KnnWeights[] = ["inverse-squared-distance", "inverse-distance"];

/** The grid part of the network (nn/unet.ts): a time-conditioned U-Net at a fixed resolution. */
const UNET = obj({
  /** grid side (the U-Net's fixed resolution) */
  res: int(2, 256),
  baseChannels: int(1, 1024),
  /** channel multiplier per level; level i works at res / 2^i */
  mults: intList(1, 16),
  blocksPerLevel: int(1, 8),
  /** grid sides at which self-attention follows each residual block (the middle block always has one) */
  attnRes: intList(1, 256, { allowEmpty: true }),
  /** dropout in residual blocks at grid sides ≤ this */
  dropoutRes: int(0, 256),
  dropout: num(0, 0.99),
  groups: int(1, 64),
});

const MODEL = obj({
  /**
   * "lab": the lab's network (nn/network.ts); "authors": the authors' SparseUNet layer for layer (nn/authors/), which
   * loads their PyTorch weights (`infty import`). The other fields keep their meaning (mapping in
   * nn/authors/import.ts). Resolved configs hold the key only for "authors": absent means "lab", so every lab
   * config, checkpoint and experiment hash from before the field existed stays as it was.
   */
  arch: oneOf(["lab", "authors"] as const).optional(),
  /**
   * arch "authors" only: which of the authors' sparse backends the weights come from, i.e. their state_dict layout
   * (torchsparse: LayerNorms with a bias, Linear MLPs, kernels (h w) i o; docs/authors-architecture.md). Absent =
   * "torch_dense", as before the field existed.
   */
  authorsBackend: oneOf(["torch_dense", "torchsparse"] as const).optional(),
  /**
   * arch "authors" only: their z-conditioned decoder (`z_dim`, every published config of theirs): each modulated norm
   * is also scaled by 1 + MLP(z), z [B, authorsZDim] passed as the forward's `cond`. Absent: unconditional.
   */
  authorsZDim: int(1, 8192).optional(),
  /** image channels */
  channels: int(1, 4),
  /** training resolution r₀ (square) */
  resolution: int(4, 4096),
  /** feature channels on the coordinates */
  nf: int(1, 1024),
  timeEmbDim: int(2, 4096),
  /** sparse residual blocks before (and, with skips, after) the grid part */
  sparseBlocks: int(0, 16),
  /** sparse kernel size at r₀ (odd) */
  kernelSize: int(1, 31, { odd: true }),
  /** MLP expansion in sparse blocks (C → mult·C → C) */
  mlpMult: int(1, 8),
  /** neighbours of the kNN interpolation points → grid */
  knnNeighbours: int(1, 16),
  /** weights of that interpolation (convention; checkpoints without the field were trained with "inverse-distance") */
  knnWeights: oneOf(KNN_WEIGHTS),
  /** how sparse kernels are resampled at another resolution: a key of kernel-resample.ts's registry (convention; absent in old checkpoints = "extent") */
  kernelResampling: oneOf(KERNEL_RESAMPLE_MODES),
  /** Table 2: depthwise (ours), regular (full) sparse convs, or a nonlinear kernel */
  operator: oneOf(["depthwise", "regular", "nonlinear"] as const),
  /** Table 2: interpolate to a grid (ours) or downsample by random coordinate subsets */
  downsample: oneOf(["knn-grid", "sparse"] as const),
  unet: UNET,
});

const DIFFUSION = obj({
  schedule: oneOf(["cosine", "linear"] as const),
  timesteps: int(2, 100000),
  /** what the network predicts: a key of diffusion/parameterisations.ts's registry */
  parameterisation: oneOf(PARAMETERISATION_NAMES),
  /** mollifier std in pixels at the training resolution (0 = white-noise process, T = I) */
  mollifierStd: num(0, 64),
  /** Wiener filter inverse SNR used to turn sampled Tx₀ into x₀ */
  wienerInvSnr: num(0, 10),
  /**
   * DDIM step grid (schedules.ts; convention; absent in old checkpoints = "even"): "even" = T−1 … 0 evenly,
   * "ddim-stride" = the authors' space_timesteps "ddimN" (default: on the shipped model at 25 steps, n = 500, FID
   * 132.8 against 139.4 for "even"; a tie at 100 steps). Some step counts have no integer stride (45, …): use "even".
   */
  ddimGrid: oneOf(["even", "ddim-stride"] as const),
  /** clip the predicted Tx₀ to [−1, 1] while sampling, as the authors' clip_denoised=True (convention) */
  clipTx0: bool(),
});

const TRAIN = obj({
  /** a key of the dataset registry (data/datasets.ts) */
  dataset: oneOf(DATASET_NAMES),
  batchSize: int(1, 4096),
  /** fraction of pixels sampled per image (∞-Diff §3.1; paper default 1/4) */
  coordRatio: num(0, 1, { minExclusive: true }),
  coordSampler: oneOf(["uniform", "qmc"] as const),
  lr: num(0, 1, { minExclusive: true }),
  adamBeta1: num(0, 0.99999),
  adamBeta2: num(0, 0.99999999),
  warmupSteps: int(0, 1e9),
  gradClip: num(0, 1e6),
  emaDecay: num(0, 0.999999),
  steps: int(1, 1e9),
  seed: int(0, 2 ** 31 - 1),
  logEvery: int(1, 1e9),
  checkpointEvery: int(1, 1e9),
});

/** The lab's config, declared once: `LabConfig` is its type, `resolveConfig` its check. */
export const LAB_CONFIG = obj({ model: MODEL, diffusion: DIFFUSION, train: TRAIN });

/** A whole run configuration (validated by `resolveConfig`; unknown keys are errors). */
export type LabConfig = z.infer<typeof LAB_CONFIG>;
/** The network: channels, sparse blocks and their kernels, the U-Net on the grid, interpolation conventions. */
export type ModelConfig = LabConfig["model"];
/** The diffusion process: schedule, mollifier, loss parameterisation and sampler conventions. */
export type DiffusionConfig = LabConfig["diffusion"];
/** Training: data, coordinate ratio and sampler, optimiser, EMA, batch, checkpoints and logging. */
export type TrainConfig = LabConfig["train"];
/** The U-Net's config (nn/unet.ts): the model's `unet` part plus what the network sets */
export type UNetConfig = ModelConfig["unet"] & { /** channels in and out */ channels: number; /** width of the time embedding fed to every block */ embDim: number };
/** How a sparse block mixes neighbours: depthwise kernels (∞-Diff), dense kernels, or a nonlinear kernel (Table 2). */
export type SparseOperator = ModelConfig["operator"];
/** How points reach the U-Net: kNN interpolation onto a grid (∞-Diff) or sparse downsampling levels (Table 2). */
export type Downsample = ModelConfig["downsample"];
/** How training picks its pixel subset: uniformly at random or by a randomly shifted Halton sequence (QMC). */
export type CoordSampler = TrainConfig["coordSampler"];
// KnnWeights lives with the interpolation it configures (operators import no config; config imports operators)
export type { KnnWeights };
/** kernel resampling across resolutions: the keys of kernel-resample.ts's registry (extent, per-tap, authors, none) */
export type KernelResampling = KernelResampleMode;
/** the authors' sparse backends whose state_dicts the lab reads and writes (nn/authors/) */
export type AuthorsBackend = NonNullable<ModelConfig["authorsBackend"]>;
/** DDIM step grid (schedules.ts): "even" = T−1 … 0 evenly, "ddim-stride" = the authors' space_timesteps "ddimN" */
export type DdimGrid = DiffusionConfig["ddimGrid"];

/** The default configuration: the shipped Fashion-MNIST model with the authors' conventions. */
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

/** A configuration that fails validation; the message names the offending key path. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}


/**
 * Validates a (partial) config over the defaults: missing keys take defaults, unknown keys and out-of-range values
 * throw ConfigError. Returns a frozen, complete config.
 */
export function resolveConfig(partial: unknown = {}): LabConfig {
  const cfg: LabConfig = parseWith(LAB_CONFIG, partial, "", { prefix: "config ", error: (m) => new ConfigError(m), defaults: DEFAULT_CONFIG });
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
  // a byte-order mark skipped, a __proto__ key refused, every parse error one line (json-text.ts)
  return resolveConfig(parseJsonText(text, source));
}
