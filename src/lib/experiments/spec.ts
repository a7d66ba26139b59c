/**
 * Declarative experiment specs (experiments/<name>.json): the paper's Table 2 (architecture ablations), Table 3
 * (coordinate sparsity) and Fig. 7 (FID vs DDIM steps × sampling resolution), each as
 *   a base config → per-budget config overrides → per-variant overrides, seeds per budget, and an evaluation grid.
 *
 * A spec expands into runs. A run is one (resolved config, training budget, seed, evaluation point); its key is a
 * hash of exactly those, so the same computation has the same key in every spec (Table 2's ∞-Diff row and Table 3's
 * ratio ¼ row share a key) and any change of config or budget gives a new key. The trained model has its own key
 * (config + training budget), so Fig. 7's twelve evaluation points share one training run.
 *
 * Validation rejects unknown keys at every level (configs through `resolveConfig`), so a typo never silently runs
 * the default.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LabConfig, resolveConfig, ConfigError, LEGACY_CONVENTIONS } from "../config";
import { projectRoot } from "../data/paths";

export type BudgetName = "fast" | "full";
export const BUDGET_NAMES: readonly BudgetName[] = ["fast", "full"];

/** What the paper reports for a variant (Table 2/3: FID_CLIP; Table 3: training speedup over ratio 1). */
export interface PaperNumbers {
  fid?: number;
  speedup?: number;
}

export interface Variant {
  /** row label, e.g. "1/4" or "Sparse Downsample" */
  label: string;
  /** partial LabConfig applied last (over base and budget) */
  overrides: Record<string, unknown>;
  paper?: PaperNumbers;
}

/** The evaluation points of each trained model (Fig. 7: steps × resolutions; tables: one point). */
export interface EvalGrid {
  /** DDIM steps (η = 0) */
  ddimSteps: number[];
  /** sampling resolution = multiplier × training resolution */
  resolutionMultipliers: number[];
}

export interface Budget {
  /** one line saying what this budget is for */
  note: string;
  /** partial LabConfig applied over the base (model size, batch, resolution, EMA, …) */
  config: Record<string, unknown>;
  /** training steps */
  steps: number;
  seeds: number[];
  /** training images (first N of the train-fit split; 0 = all) */
  trainImages: number;
  /** generated samples per evaluation point (FID/KID) */
  samples: number;
  /** Fashion-MNIST test images used as the reference set */
  testImages: number;
  sampleBatch: number;
  checkpointEvery: number;
  eval: EvalGrid;
}

export interface ExperimentSpec {
  name: string;
  title: string;
  /** what the paper measured, in one line (shown beside the table) */
  paperNote: string;
  /** the row the speedup is measured against (Table 3: ratio 1); omitted: no speedup column */
  baseline?: string;
  /** the ∞-Diff row: every other variant gets a paired comparison (same seeds) against it */
  reference?: string;
  base: Record<string, unknown>;
  variants: Variant[];
  budgets: Record<BudgetName, Budget>;
}

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpecError";
  }
}

// ---- validation -------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fields(v: unknown, where: string, required: string[], optional: string[] = []): Obj {
  if (!isObj(v)) throw new SpecError(`${where}: must be an object`);
  const allowed = [...required, ...optional];
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length) throw new SpecError(`${where}: unknown key '${extra[0]}' (allowed: ${allowed.join(", ")})`);
  const missing = required.filter((k) => v[k] === undefined);
  if (missing.length) throw new SpecError(`${where}: missing key '${missing[0]}'`);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || !v) throw new SpecError(`${where}: must be a non-empty string`);
  return v;
}

function int(v: unknown, where: string, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new SpecError(`${where}: must be an integer ≥ ${min}`);
  return v;
}

function intList(v: unknown, where: string, min: number): number[] {
  if (!Array.isArray(v) || v.length === 0) throw new SpecError(`${where}: must be a non-empty list of integers`);
  const out = v.map((x, i) => int(x, `${where}[${i}]`, min));
  if (new Set(out).size !== out.length) throw new SpecError(`${where}: has duplicates`);
  return out;
}

/** Deep merge of partial configs: objects merge key by key, anything else (numbers, lists) is replaced. */
export function mergeConfig(...parts: Obj[]): Obj {
  const out: Obj = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) out[k] = isObj(v) && isObj(out[k]) ? mergeConfig(out[k] as Obj, v) : structuredClone(v);
  }
  return out;
}

function validateBudget(v: unknown, where: string): Budget {
  const b = fields(v, where, ["note", "config", "steps", "seeds", "trainImages", "samples", "testImages", "sampleBatch", "checkpointEvery", "eval"]);
  if (!isObj(b.config)) throw new SpecError(`${where}.config: must be an object`);
  const e = fields(b.eval, `${where}.eval`, ["ddimSteps", "resolutionMultipliers"]);
  const budget: Budget = {
    note: str(b.note, `${where}.note`),
    config: b.config,
    steps: int(b.steps, `${where}.steps`, 1),
    seeds: intList(b.seeds, `${where}.seeds`, 0),
    trainImages: int(b.trainImages, `${where}.trainImages`, 0),
    samples: int(b.samples, `${where}.samples`, 2),
    testImages: int(b.testImages, `${where}.testImages`, 2),
    sampleBatch: int(b.sampleBatch, `${where}.sampleBatch`, 1),
    checkpointEvery: int(b.checkpointEvery, `${where}.checkpointEvery`, 1),
    eval: {
      ddimSteps: intList(e.ddimSteps, `${where}.eval.ddimSteps`, 1),
      resolutionMultipliers: intList(e.resolutionMultipliers, `${where}.eval.resolutionMultipliers`, 1),
    },
  };
  if (budget.samples > budget.testImages) throw new SpecError(`${where}: samples (${budget.samples}) must be ≤ testImages (${budget.testImages}) for KID subsets`);
  return budget;
}

/** Validates a parsed spec (unknown keys rejected; every variant × budget config resolved). */
export function validateSpec(raw: unknown, source = "spec"): ExperimentSpec {
  const s = fields(raw, source, ["name", "title", "paperNote", "base", "variants", "budgets"], ["baseline", "reference", "$comment"]);
  if (!isObj(s.base)) throw new SpecError(`${source}.base: must be an object`);
  if (!Array.isArray(s.variants) || s.variants.length === 0) throw new SpecError(`${source}.variants: must be a non-empty list`);
  const variants = s.variants.map((v, i): Variant => {
    const o = fields(v, `${source}.variants[${i}]`, ["label", "overrides"], ["paper"]);
    if (!isObj(o.overrides)) throw new SpecError(`${source}.variants[${i}].overrides: must be an object`);
    let paper: PaperNumbers | undefined;
    if (o.paper !== undefined) {
      const p = fields(o.paper, `${source}.variants[${i}].paper`, [], ["fid", "speedup"]);
      for (const k of ["fid", "speedup"]) {
        if (p[k] !== undefined && (typeof p[k] !== "number" || !Number.isFinite(p[k]))) throw new SpecError(`${source}.variants[${i}].paper.${k}: must be a number`);
      }
      paper = p as PaperNumbers;
    }
    return { label: str(o.label, `${source}.variants[${i}].label`), overrides: o.overrides, paper };
  });
  const labels = variants.map((v) => v.label);
  if (new Set(labels).size !== labels.length) throw new SpecError(`${source}.variants: labels must be distinct`);
  const b = fields(s.budgets, `${source}.budgets`, [...BUDGET_NAMES]);
  const spec: ExperimentSpec = {
    name: str(s.name, `${source}.name`),
    title: str(s.title, `${source}.title`),
    paperNote: str(s.paperNote, `${source}.paperNote`),
    baseline: s.baseline === undefined ? undefined : str(s.baseline, `${source}.baseline`),
    reference: s.reference === undefined ? undefined : str(s.reference, `${source}.reference`),
    base: s.base,
    variants,
    budgets: { fast: validateBudget(b.fast, `${source}.budgets.fast`), full: validateBudget(b.full, `${source}.budgets.full`) },
  };
  if (!/^[a-z0-9][a-z0-9-]*$/.test(spec.name)) throw new SpecError(`${source}.name: lower-case letters, digits and '-' only`);
  if (spec.baseline !== undefined && !labels.includes(spec.baseline)) throw new SpecError(`${source}.baseline: '${spec.baseline}' is not a variant label`);
  if (spec.reference !== undefined && !labels.includes(spec.reference)) throw new SpecError(`${source}.reference: '${spec.reference}' is not a variant label`);
  for (const bn of BUDGET_NAMES) for (const v of variants) {
    try {
      resolvedConfig(spec, bn, v, spec.budgets[bn].seeds[0]);
    } catch (e) {
      if (e instanceof ConfigError) throw new SpecError(`${source}: variant '${v.label}', budget ${bn}: ${e.message}`);
      throw e;
    }
  }
  return spec;
}

/** The specs shipped with the lab live in experiments/<name>.json under the project root. */
export function specPath(nameOrFile: string): string {
  return nameOrFile.endsWith(".json") ? path.resolve(nameOrFile) : path.join(projectRoot(), "experiments", `${nameOrFile}.json`);
}

/** Reads and validates a spec by name (experiments/<name>.json) or path. */
export function loadSpec(nameOrFile: string): ExperimentSpec {
  const file = specPath(nameOrFile);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new SpecError(`cannot read spec ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SpecError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return validateSpec(raw, path.basename(file));
}

// ---- expansion --------------------------------------------------------------------------------------------------

/** default ← base ← budget.config ← variant.overrides ← {train.seed, train.steps, train.checkpointEvery}. */
export function resolvedConfig(spec: ExperimentSpec, budget: BudgetName, variant: Variant, seed: number): LabConfig {
  const b = spec.budgets[budget];
  return resolveConfig(mergeConfig(spec.base, b.config, variant.overrides, {
    train: { seed, steps: b.steps, checkpointEvery: b.checkpointEvery },
  }));
}

/** JSON with object keys sorted at every level: the canonical text that is hashed. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

export function shortHash(v: unknown): string {
  return crypto.createHash("sha256").update(canonicalJson(v)).digest("hex").slice(0, 16);
}

/**
 * The config as it is hashed: convention fields (config.ts LEGACY_CONVENTIONS) that hold the value they had before
 * they were fields are left out, so every result computed before keeps its key; any other value gives a new key.
 */
export function hashableConfig(config: LabConfig): Obj {
  const out = structuredClone(config) as unknown as Record<string, Obj>;
  for (const [section, legacy] of Object.entries(LEGACY_CONVENTIONS) as [string, Obj][]) {
    for (const [k, v] of Object.entries(legacy)) if (out[section][k] === v) delete out[section][k];
  }
  return out;
}

/** The hashed form of a TrainKey. */
export function trainKeyHashable(train: TrainKey): Obj {
  return { config: hashableConfig(train.config), trainImages: train.trainImages };
}

/** What determines a trained model: the resolved config (seed and steps included) and the training images. */
export interface TrainKey {
  config: LabConfig;
  trainImages: number;
}

/** What determines one evaluation of a trained model. */
export interface EvalPoint {
  resolution: number;
  resolutionMultiplier: number;
  ddimSteps: number;
  samples: number;
  testImages: number;
  sampleBatch: number;
  /**
   * Samples above r₀ are area-resized to r₀ before the feature net, like the reference (present only when m ≠ 1, so
   * 1× keys are unchanged). Without it Fig. 7 compared sharp 28/56-px samples with a reference upsampled from 14 px,
   * and 2×/4× looked far worse than 1× (FID 223/183 vs 129; resized first: 114/104).
   */
  compareAt?: "r0";
}

/** One run of a sweep: train (or reuse) a model, sample at one evaluation point, measure FID/KID. */
export interface RunPlan {
  /** key of this result: hash of {train, eval} */
  hash: string;
  /** key of the trained model (shared across evaluation points and specs) */
  trainHash: string;
  spec: string;
  budget: BudgetName;
  variant: string;
  seed: number;
  train: TrainKey;
  eval: EvalPoint;
  /** relative cost estimate (training pixel-steps + sampling pixel-steps), for ordering a shard cheap-first */
  cost: number;
}

/** Every run of a spec at a budget: variants × seeds × eval grid, sorted by hash (the order shards split). */
export function expandRuns(spec: ExperimentSpec, budget: BudgetName): RunPlan[] {
  const b = spec.budgets[budget];
  const runs: RunPlan[] = [];
  for (const v of spec.variants) {
    for (const seed of b.seeds) {
      const config = resolvedConfig(spec, budget, v, seed);
      const train: TrainKey = { config, trainImages: b.trainImages };
      const trainHash = shortHash(trainKeyHashable(train));
      const r0 = config.model.resolution;
      for (const m of b.eval.resolutionMultipliers) {
        for (const steps of b.eval.ddimSteps) {
          const ev: EvalPoint = { resolution: m * r0, resolutionMultiplier: m, ddimSteps: steps, samples: b.samples, testImages: b.testImages, sampleBatch: b.sampleBatch, ...(m !== 1 ? { compareAt: "r0" as const } : {}) };
          const trainCost = b.steps * config.train.batchSize * config.train.coordRatio * r0 * r0;
          const sampleCost = b.samples * steps * (m * r0) ** 2;
          runs.push({
            hash: shortHash({ train: trainKeyHashable(train), eval: ev }), trainHash, spec: spec.name, budget, variant: v.label, seed,
            train, eval: ev, cost: trainCost + sampleCost,
          });
        }
      }
    }
  }
  runs.sort((a, c) => (a.hash < c.hash ? -1 : a.hash > c.hash ? 1 : 0));
  return runs;
}

export interface Shard {
  index: number;
  count: number;
}

/** Parses "i/n" (0 ≤ i < n): the i-th of n shards. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new SpecError(`shard must look like i/n (0-based, e.g. 0/4), got '${text}'`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) throw new SpecError(`shard ${text}: need 0 ≤ i < n`);
  return { index, count };
}

/**
 * The runs of one shard. Runs are grouped by trained model (so a model is trained by one shard only), the groups
 * ordered by trainHash and dealt round-robin: deterministic, disjoint, and together every run exactly once.
 */
export function shardRuns(runs: RunPlan[], shard: Shard): RunPlan[] {
  const groups = [...new Set(runs.map((r) => r.trainHash))].sort();
  const mine = new Set(groups.filter((_, i) => i % shard.count === shard.index));
  return runs.filter((r) => mine.has(r.trainHash));
}
