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
import { readJsonFile } from "../config/json-file";
import * as crypto from "crypto";
import * as path from "path";
import { LabConfig, resolveConfig, ConfigError, LEGACY_CONVENTIONS } from "../config/config";
import { int, intList, list, num, obj, parseWith, record, str, withDefaults, z } from "../config/schema";
import { projectRoot } from "../data/paths";

/** A spec budget: `fast` (a smoke test) or `full` (what docs/results.md reports). */
export type BudgetName = "fast" | "full";
/** Every budget name. */
export const BUDGET_NAMES: readonly BudgetName[] = ["fast", "full"];

const posInt = (min: number) => int(min);
const intSet = (min: number) => intList(min, undefined, { unique: true });

const VARIANT = obj({
  /** row label, e.g. "1/4" or "Sparse Downsample" */
  label: str(),
  /** partial LabConfig applied last (over base and budget) */
  overrides: record(),
  /** what the paper reports for the variant (Table 2/3: FID_CLIP; Table 3: training speedup over ratio 1) */
  paper: obj({ fid: num().optional(), speedup: num().optional() }).optional(),
});

/** The evaluation points of each trained model (Fig. 7: steps × resolutions; tables: one point). */
const EVAL_GRID = obj({
  /** DDIM steps (η = 0) */
  ddimSteps: intSet(1),
  /** sampling resolution = multiplier × training resolution */
  resolutionMultipliers: intSet(1),
});

const BUDGET = obj({
  /** one line saying what this budget is for */
  note: str(),
  /** partial LabConfig applied over the base (model size, batch, resolution, EMA, …) */
  config: record(),
  /** training steps */
  steps: posInt(1),
  seeds: intSet(0),
  /** training images (first N of the train-fit split; 0 = all) */
  trainImages: posInt(0),
  /** generated samples per evaluation point (FID/KID) */
  samples: posInt(2),
  /** held-out images of the dataset used as the reference set */
  testImages: posInt(2),
  sampleBatch: posInt(1),
  checkpointEvery: posInt(1),
  eval: EVAL_GRID,
});

/** An experiment spec (experiments/*.json), declared once: the types below are inferred from it. */
const SPEC = obj({
  name: str(),
  title: str(),
  /** what the paper measured, in one line (shown beside the table) */
  paperNote: str(),
  /** the row the speedup is measured against (Table 3: ratio 1); omitted: no speedup column */
  baseline: str().optional(),
  /** the ∞-Diff row: every other variant gets a paired comparison (same seeds) against it */
  reference: str().optional(),
  $comment: z.unknown().optional(),
  base: record(),
  variants: list(VARIANT),
  budgets: obj(Object.fromEntries(BUDGET_NAMES.map((b) => [b, BUDGET])) as Record<BudgetName, typeof BUDGET>),
});

/** One row of an ablation table: a label, config overrides and the paper's numbers. */
export type Variant = z.infer<typeof VARIANT>;
/** The paper's numbers for a row: FID_CLIP and, for Table 3, the speedup. */
export type PaperNumbers = NonNullable<Variant["paper"]>;
/** Where a budget evaluates: samples, test images, DDIM steps and resolutions. */
export type EvalGrid = z.infer<typeof EVAL_GRID>;
/** A budget: config overrides, seeds, and the evaluation points. */
export type Budget = z.infer<typeof BUDGET>;
/** A declarative ablation (experiments/*.json): base config, variants, budgets, the reference row. */
export type ExperimentSpec = Omit<z.infer<typeof SPEC>, "$comment">;

/** A spec that fails validation; the message names the file and key. */
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

/** Deep merge of partial configs: objects merge key by key, anything else (numbers, lists) is replaced (schema.ts). */
export function mergeConfig(...parts: Obj[]): Obj {
  return parts.reduce<Obj>((acc, p) => withDefaults(p, acc) as Obj, {});
}

/** Validates a parsed spec (unknown keys rejected by the lab's schema, schema.ts; every variant × budget config resolved). */
export function validateSpec(raw: unknown, source = "spec"): ExperimentSpec {
  const { $comment: _comment, ...spec } = parseWith(SPEC, raw, source, { error: (m) => new SpecError(m) });
  const labels = spec.variants.map((v) => v.label);
  if (new Set(labels).size !== labels.length) throw new SpecError(`${source}.variants: labels must be distinct`);
  for (const bn of BUDGET_NAMES) {
    const b = spec.budgets[bn];
    if (b.samples > b.testImages) throw new SpecError(`${source}.budgets.${bn}: samples (${b.samples}) must be ≤ testImages (${b.testImages}) for KID subsets`);
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(spec.name)) throw new SpecError(`${source}.name: lower-case letters, digits and '-' only`);
  if (spec.baseline !== undefined && !labels.includes(spec.baseline)) throw new SpecError(`${source}.baseline: '${spec.baseline}' is not a variant label`);
  if (spec.reference !== undefined && !labels.includes(spec.reference)) throw new SpecError(`${source}.reference: '${spec.reference}' is not a variant label`);
  for (const bn of BUDGET_NAMES) for (const v of spec.variants) {
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

/**
 * A spec file of any experiment kind by name (experiments/<name>.json) or path, parsed (the lab's JSON reader:
 * byte-order mark skipped, `__proto__` refused, one-line errors as SpecError); `source` names it in messages.
 */
export function readSpecFile(nameOrFile: string): { raw: unknown; file: string; source: string } {
  const file = specPath(nameOrFile);
  try {
    return { raw: readJsonFile(file, "spec", file), file, source: path.basename(file) };
  } catch (e) {
    throw new SpecError((e as Error).message);
  }
}

/** Reads and validates a table spec by name (experiments/<name>.json) or path. */
export function loadSpec(nameOrFile: string): ExperimentSpec {
  const { raw, source } = readSpecFile(nameOrFile);
  return validateSpec(raw, source);
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

/** The first 16 hex digits of the SHA-256 of a value's canonical JSON (result keys). */
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

/** Shard i of n of a sweep (runs grouped by trained model). */
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
export function shardRuns<P extends { trainHash: string }>(runs: P[], shard: Shard): P[] {
  const groups = [...new Set(runs.map((r) => r.trainHash))].sort();
  const mine = new Set(groups.filter((_, i) => i % shard.count === shard.index));
  return runs.filter((r) => mine.has(r.trainHash));
}
