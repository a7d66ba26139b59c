/**
 * Configuration is data: typed interfaces, defaults, and a validator that rejects unknown keys and out-of-range
 * values with a one-line message naming the offending path. Derived quantities (points per image, mollifier std at a
 * resolution, noise multiplier, kernel size at a resolution) are computed in `derived()` only.
 */
import { UNetConfig } from "./nn/unet";

export type SparseOperator = "depthwise" | "regular" | "nonlinear";
export type Downsample = "knn-grid" | "sparse";
export type CoordSampler = "uniform" | "qmc";
/** kNN weights points → grid: the authors' inverse squared distance (PointNet++ Eq. 2) or inverse distance */
export type KnnWeights = "inverse-squared-distance" | "inverse-distance";
/** kernel resampling across resolutions (kernel-resample.ts): the lab's extent rule, per-tap, the authors' rule, none */
export type KernelResampling = "extent" | "per-tap" | "authors" | "none";
/** DDIM step grid (schedules.ts): "even" = T−1 … 0 evenly, "ddim-stride" = the authors' space_timesteps "ddimN" */
export type DdimGrid = "even" | "ddim-stride";

export interface ModelConfig {
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
  parameterisation: "mollifiedEps" | "eps" | "x0" | "v";
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
  dataset: "fashion-mnist" | "procedural" | "textures";
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

// ---- validation -------------------------------------------------------------------------------------------------

type Spec =
  | { t: "int"; min?: number; max?: number; odd?: true }
  | { t: "num"; min?: number; max?: number; minExclusive?: true }
  | { t: "enum"; values: readonly string[] }
  | { t: "bool" }
  | { t: "intList"; min?: number; max?: number; allowEmpty?: true }
  | { t: "obj"; fields: Record<string, Spec> };

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
        channels: { t: "int", min: 1, max: 4 },
        resolution: { t: "int", min: 4, max: 4096 },
        nf: { t: "int", min: 1, max: 1024 },
        timeEmbDim: { t: "int", min: 2, max: 4096 },
        sparseBlocks: { t: "int", min: 0, max: 16 },
        kernelSize: { t: "int", min: 1, max: 31, odd: true },
        mlpMult: { t: "int", min: 1, max: 8 },
        knnNeighbours: { t: "int", min: 1, max: 16 },
        knnWeights: { t: "enum", values: ["inverse-squared-distance", "inverse-distance"] },
        kernelResampling: { t: "enum", values: ["extent", "per-tap", "authors", "none"] },
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
        parameterisation: { t: "enum", values: ["mollifiedEps", "eps", "x0", "v"] },
        mollifierStd: { t: "num", min: 0, max: 64 },
        wienerInvSnr: { t: "num", min: 0, max: 10 },
        ddimGrid: { t: "enum", values: ["even", "ddim-stride"] },
        clipTx0: { t: "bool" },
      },
    },
    train: {
      t: "obj",
      fields: {
        dataset: { t: "enum", values: ["fashion-mnist", "procedural", "textures"] },
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

function check(value: unknown, spec: Spec, path: string, dflt: unknown): unknown {
  if (value === undefined) return structuredClone(dflt);
  const fail = (why: string): never => {
    throw new ConfigError(`config ${path}: ${why} (got ${JSON.stringify(value)})`);
  };
  switch (spec.t) {
    case "int": {
      if (typeof value !== "number" || !Number.isInteger(value)) fail("must be an integer");
      const v = value as number;
      if (spec.min !== undefined && v < spec.min) fail(`must be ≥ ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) fail(`must be ≤ ${spec.max}`);
      if (spec.odd && v % 2 !== 1) fail("must be odd");
      return v;
    }
    case "num": {
      if (typeof value !== "number" || !Number.isFinite(value)) fail("must be a finite number");
      const v = value as number;
      if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) {
        fail(`must be ${spec.minExclusive ? ">" : "≥"} ${spec.min}`);
      }
      if (spec.max !== undefined && v > spec.max) fail(`must be ≤ ${spec.max}`);
      return v;
    }
    case "enum":
      if (typeof value !== "string" || !spec.values.includes(value)) fail(`must be one of ${spec.values.join(", ")}`);
      return value;
    case "bool":
      if (typeof value !== "boolean") fail("must be true or false");
      return value;
    case "intList": {
      if (!Array.isArray(value)) fail("must be a list of integers");
      const arr = value as unknown[];
      if (!spec.allowEmpty && arr.length === 0) fail("must not be empty");
      arr.forEach((x, i) => check(x, { t: "int", min: spec.min, max: spec.max }, `${path}[${i}]`, undefined));
      return arr.slice();
    }
    case "obj": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) fail("must be an object");
      const obj = value as Record<string, unknown>;
      const unknown = Object.keys(obj).filter((k) => !(k in spec.fields));
      if (unknown.length) {
        throw new ConfigError(`config ${path}: unknown key '${unknown[0]}' (allowed: ${Object.keys(spec.fields).join(", ")})`);
      }
      const out: Record<string, unknown> = {};
      const d = (dflt ?? {}) as Record<string, unknown>;
      for (const [k, s] of Object.entries(spec.fields)) out[k] = check(obj[k], s, path ? `${path}.${k}` : k, d[k]);
      return out;
    }
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.values(o as Record<string, unknown>).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}

/**
 * Validates a (partial) config over the defaults: missing keys take defaults, unknown keys and out-of-range values
 * throw ConfigError. Returns a frozen, complete config.
 */
export function resolveConfig(partial: unknown = {}): LabConfig {
  const cfg = check(partial, SPEC, "", DEFAULT_CONFIG) as LabConfig;
  const u = cfg.model.unet;
  const lowest = u.res / 2 ** (u.mults.length - 1);
  if (!Number.isInteger(lowest)) throw new ConfigError(`config model.unet.res: ${u.res} must be divisible by 2^${u.mults.length - 1}`);
  if (cfg.model.nf % 1 !== 0) throw new ConfigError("config model.nf must be an integer");
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

/** Quantities derived from a config, computed here only. */
export function derived(cfg: LabConfig, resolution = cfg.model.resolution) {
  const r0 = cfg.model.resolution;
  return {
    /** points per image during training */
    pointsPerImage: Math.max(1, Math.round(cfg.train.coordRatio * r0 * r0)),
    /** mollifier std in pixels at `resolution` (the same continuous operator at every resolution) */
    mollifierStdPx: (cfg.diffusion.mollifierStd * resolution) / r0,
    /** white-noise multiplier r/r₀ used while sampling at `resolution` */
    noiseMultiplier: resolution / r0,
  };
}
