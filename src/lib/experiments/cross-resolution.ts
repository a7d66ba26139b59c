/**
 * The paper's Fig. 2 claim as a number: one white-noise field sampled with deterministic DDIM (η = 0) at r₀, 2r₀ and
 * 4r₀ (each coarser noise the area average of the finest, `nestedWhiteNoise`), each sample area-reduced to r₀ and
 * compared with the r₀ sample: RMS and PSNR (peak-to-peak 2) per image, over many noise fields. Variants: ∞-Diff,
 * white-noise diffusion (T = I: mollifierStd 0, trained with the same budget), ∞-Diff without kernel resampling, and
 * ∞-Diff with the authors' kernel rule. The last two share ∞-Diff's trained model (kernel resampling acts only when
 * sampling away from r₀), and the model key is computed as in spec.ts, so a Fig. 2 model with Table 2's config is
 * Table 2's model.
 *
 * Spec: experiments/fig2.json (validated; unknown keys rejected). One result file per (dataset, variant, seed) under
 * <results>/fig2/<hash>.json, written atomically: a killed sweep loses at most the run in progress, and its model
 * resumes from its checkpoint (train.ts). Shards split by trained model.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabConfig, KernelResampling, resolveConfig, ConfigError } from "../config/config";
import { ImageSet, areaResize } from "../data/image-ops";
import { Rng } from "../runtime/rng";
import { currentBackend } from "../runtime/backend";
import { writeFileAtomic } from "../runtime/checkpoint";
import { loadModel, nestedWhiteNoise, sampleModel } from "../pipelines/sample";
import { CHECKPOINT_FILE } from "../pipelines/train";
import { modelGrid } from "../config/grid";
import { DATASET_NAMES } from "../data/datasets";
import { KERNEL_RESAMPLE_MODES } from "../operators/kernel-resample";
import { int, intList, list, obj, oneOf, parseWith, record, str, z } from "../config/schema";
import { mergeConfig, readSpecFile, shardRuns, shortHash, trainKeyHashable, SpecError, Shard, BudgetName, BUDGET_NAMES } from "./spec";
import { bootstrapMeanInterval, mean, sampleStd } from "../eval/statistics";
import { codeVersion, ensureModel, resultPath } from "./runner";

/** A dataset name, as the config's `train.dataset`. */
export type Dataset = LabConfig["train"]["dataset"];

const VARIANT = obj({
  label: str(),
  /** partial LabConfig for training (e.g. white noise: diffusion.mollifierStd 0) */
  train: record(),
  /** kernel resampling used when sampling at 2r₀, 4r₀ (a key of kernel-resample.ts's registry) */
  kernelResampling: oneOf(KERNEL_RESAMPLE_MODES),
});

const BUDGET = obj({
  note: z.string({ invalid_type_error: "must be a string" }),
  config: record(),
  steps: int(1),
  seeds: intList(0, undefined, { unique: true }),
  trainImages: int(0),
  /** white-noise fields (images per variant) */
  noiseFields: int(2),
  ddimSteps: int(1),
  /** sampling resolutions as multiples of r₀; must include 1 (sorted on load) */
  multipliers: intList(1, undefined, { unique: true })
    .refine((m) => m.includes(1) && m.length >= 2, "must include 1 and at least one other")
    .transform((m) => m.slice().sort((x, y) => x - y)),
  sampleBatch: int(1),
  checkpointEvery: int(1),
});

/** The Fig. 2 spec (experiments/fig2.json), declared once: the types below are inferred from it. */
const CROSSRES_SPEC = obj({
  name: str(),
  title: str(),
  paperNote: str(),
  $comment: z.unknown().optional(),
  /** datasets (keys of data/datasets.ts's registry) */
  datasets: list(oneOf(DATASET_NAMES)),
  base: record(),
  variants: list(VARIANT),
  budgets: obj(Object.fromEntries(BUDGET_NAMES.map((b) => [b, BUDGET])) as Record<BudgetName, typeof BUDGET>),
});

/** A Fig. 2 variant: training overrides and the kernel rule used when sampling. */
export type CrossResVariant = z.infer<typeof VARIANT>;
/** A Fig. 2 budget: training config overrides, images compared, sampler steps, seeds. */
export type CrossResBudget = z.infer<typeof BUDGET>;
/** The Fig. 2 spec (experiments/fig2.json): datasets × variants × seeds. */
export type CrossResSpec = Omit<z.infer<typeof CROSSRES_SPEC>, "$comment">;

/** Validates a parsed Fig. 2 spec; every dataset × variant × budget config is resolved once. */
export function validateCrossResSpec(raw: unknown, source = "spec"): CrossResSpec {
  const { $comment: _comment, ...spec } = parseWith(CROSSRES_SPEC, raw, source, { error: (m) => new SpecError(m) });
  const { datasets, variants } = spec;
  if (new Set(variants.map((v) => v.label)).size !== variants.length) throw new SpecError(`${source}.variants: labels must be distinct`);
  for (const bn of BUDGET_NAMES) for (const d of datasets) for (const v of variants) {
    try {
      crossResConfig(spec, bn, d, v, spec.budgets[bn].seeds[0]);
    } catch (e) {
      if (e instanceof ConfigError) throw new SpecError(`${source}: ${d} / '${v.label}' / ${bn}: ${e.message}`);
      throw e;
    }
  }
  return spec;
}

/** Loads experiments/<name>.json (or a path). */
export function loadCrossResSpec(nameOrFile: string): CrossResSpec {
  const { raw, source } = readSpecFile(nameOrFile);
  return validateCrossResSpec(raw, source);
}

/** The training config: default ← base ← budget ← variant.train ← {dataset, seed, steps, checkpointEvery}. */
export function crossResConfig(spec: CrossResSpec, budget: BudgetName, dataset: Dataset, v: CrossResVariant, seed: number): LabConfig {
  const b = spec.budgets[budget];
  return resolveConfig(mergeConfig(spec.base, b.config, v.train, { train: { dataset, seed, steps: b.steps, checkpointEvery: b.checkpointEvery } }));
}

/** One planned Fig. 2 run: dataset, variant, seed, its keys and result path. */
export interface CrossResPlan {
  hash: string;
  trainHash: string;
  dataset: Dataset;
  variant: string;
  seed: number;
  config: LabConfig;
  trainImages: number;
  kernelResampling: KernelResampling;
  noiseFields: number;
  ddimSteps: number;
  multipliers: number[];
  sampleBatch: number;
}

/** Every run: datasets × variants × seeds, sorted by hash. */
export function expandCrossRes(spec: CrossResSpec, budget: BudgetName): CrossResPlan[] {
  const b = spec.budgets[budget];
  const out: CrossResPlan[] = [];
  for (const dataset of spec.datasets) for (const v of spec.variants) for (const seed of b.seeds) {
    const config = crossResConfig(spec, budget, dataset, v, seed);
    const trainKey = trainKeyHashable({ config, trainImages: b.trainImages });
    const sample = { kernelResampling: v.kernelResampling, noiseFields: b.noiseFields, ddimSteps: b.ddimSteps, multipliers: b.multipliers, noiseSeed: seed };
    out.push({
      hash: shortHash({ crossRes: 1, train: trainKey, sample }), trainHash: shortHash(trainKey), dataset, variant: v.label, seed, config,
      trainImages: b.trainImages, kernelResampling: v.kernelResampling, noiseFields: b.noiseFields, ddimSteps: b.ddimSteps,
      multipliers: b.multipliers, sampleBatch: b.sampleBatch,
    });
  }
  return out.sort((a, c) => (a.hash < c.hash ? -1 : a.hash > c.hash ? 1 : 0));
}

/** The plans of shard i/n: whole trained models dealt round-robin by trainHash (the runner's `shardRuns`). */
export const shardCrossRes = (plans: CrossResPlan[], shard: Shard): CrossResPlan[] => shardRuns(plans, shard);

/** Per image of b (reference) and a, both [n, r, r, C]: RMS of a − b. */
export function perImageRms(a: ImageSet, b: ImageSet): number[] {
  const [n] = a.shape, per = a.images.length / n;
  if (a.images.length !== b.images.length) throw new Error("perImageRms: shapes differ");
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * per; j < (i + 1) * per; j++) s += (a.images[j] - b.images[j]) ** 2;
    out.push(Math.sqrt(s / per));
  }
  return out;
}

/** PSNR for images in [−1, 1] (peak-to-peak 2): 20·log10(2/RMS). */
export const psnrFromRms = (rms: number): number => 20 * Math.log10(2 / rms);

/** Format tag of a Fig. 2 result file. */
export const CROSSRES_FORMAT = "infty-crossres-result/1";

/** One run's measurement, keyed like its plan. */
export interface CrossResResult extends Pick<CrossResPlan, "hash" | "trainHash" | "dataset" | "variant" | "seed" | "config" | "kernelResampling" | "ddimSteps"> {
  format: string;
  r0: number;
  /** per multiplier m > 1: the m·r₀ sample area-reduced to r₀ against the r₀ sample, one value per noise field */
  /** kernelSize: the first sparse level's kernel side at that resolution */
  comparisons: { multiplier: number; resolution: number; kernelSize: number; rms: number[]; psnr: number[] }[];
  sampleSeconds: number;
  backend: string | null;
  host: { cpus: number; platform: string; node: string };
  /** the lab's git commit (dirty: uncommitted changes to tracked files) */
  code: { commit: string; dirty: boolean } | null;
  finishedAt: string;
}

/** Samples one run's noise fields at every multiplier and compares (model must be trained). */
export async function measureCrossRes(plan: CrossResPlan, ckptFile: string, opts: { progress?: boolean } = {}): Promise<CrossResResult> {
  const r0 = plan.config.model.resolution, C = plan.config.model.channels;
  const R = r0 * Math.max(...plan.multipliers), n = plan.noiseFields;
  const fine = new Rng(5000 + plan.seed).normals(n * R * R * C); // the same fields for every variant of a seed
  const model = loadModel(ckptFile, { kernelResampling: plan.kernelResampling });
  const t0 = Date.now();
  const byM = new Map<number, ImageSet>();
  try {
    for (const m of plan.multipliers) {
      const r = m * r0;
      const out = await sampleModel(model.net, model.cfg, {
        resolution: r, n, batchSize: plan.sampleBatch, steps: plan.ddimSteps, progress: opts.progress,
        initialNoise: nestedWhiteNoise(fine, n, R, C, r),
      });
      byM.set(m, out.x0);
    }
  } finally {
    model.net.dispose();
  }
  const base = byM.get(1)!;
  const comparisons = plan.multipliers.filter((m) => m !== 1).map((m) => {
    const rms = perImageRms(areaResize(byM.get(m)!, r0, r0), base);
    const kernelSize = modelGrid(model.cfg.model, m * r0).kernelSize; // the sampled network's own (grid.ts)
    return { multiplier: m, resolution: m * r0, kernelSize, rms, psnr: rms.map(psnrFromRms) };
  });
  return {
    format: CROSSRES_FORMAT, hash: plan.hash, trainHash: plan.trainHash, dataset: plan.dataset, variant: plan.variant, seed: plan.seed,
    config: plan.config, kernelResampling: plan.kernelResampling, ddimSteps: plan.ddimSteps, r0, comparisons,
    sampleSeconds: (Date.now() - t0) / 1000, backend: currentBackend()?.name ?? null,
    host: { cpus: os.cpus().length, platform: `${os.platform()}-${os.arch()}`, node: process.version }, code: codeVersion(),
    finishedAt: new Date().toISOString(),
  };
}

/** Runs (or skips finished) plans: trains or resumes each model, then measures; one atomic result file per plan. */
export async function runCrossRes(plans: CrossResPlan[], opts: { resultsDir: string; runsDir: string; specName: string; progress?: boolean; log?: (l: string) => void }): Promise<{ computed: string[]; cached: string[] }> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const computed: string[] = [], cached: string[] = [];
  for (const [i, p] of plans.entries()) {
    const file = resultPath(opts.resultsDir, opts.specName, p.hash);
    const label = `[${i + 1}/${plans.length}] ${p.dataset} '${p.variant}' seed ${p.seed}`;
    if (fs.existsSync(file)) { cached.push(p.hash); continue; }
    // the runner's training step (runner.ts ensureModel), shared by every experiment kind
    const runDir = path.join(opts.runsDir, p.trainHash);
    await ensureModel({ config: p.config, trainImages: p.trainImages }, runDir, label, { progress: opts.progress });
    const res = await measureCrossRes(p, path.join(runDir, CHECKPOINT_FILE), { progress: opts.progress });
    writeFileAtomic(file, JSON.stringify(res) + "\n");
    computed.push(p.hash);
    log(`${label}: ` + res.comparisons.map((c) => `${c.resolution}px→r₀ RMS ${mean(c.rms).toFixed(4)}`).join(", ") + ` → ${file}`);
  }
  return { computed, cached };
}

/** One row of the merged Fig. 2 table: RMS and PSNR against the r₀ sample, with intervals. */
export interface CrossResRow {
  dataset: Dataset;
  variant: string;
  multiplier: number;
  seeds: number[];
  images: number;
  rmsMean: number;
  rmsStd: number | null;
  /** percentile bootstrap 95 % interval of the mean RMS over images (all seeds pooled) */
  rmsInterval: [number, number] | null;
  psnrMean: number;
  psnrMedian: number;
}

/** Reads <resultsDir>/<spec>/ and aggregates per (dataset, variant, multiplier) the runs the spec plans. */
export function mergeCrossRes(spec: CrossResSpec, budget: BudgetName, resultsDir: string): { rows: CrossResRow[]; planned: number; complete: number } {
  const plans = expandCrossRes(spec, budget);
  const rows: CrossResRow[] = [];
  const rng = new Rng(16);
  let complete = 0;
  const groups = new Map<string, CrossResResult[]>();
  for (const p of plans) {
    const file = path.join(resultsDir, spec.name, `${p.hash}.json`);
    if (!fs.existsSync(file)) continue;
    let r: CrossResResult;
    try {
      r = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    if (r.format !== CROSSRES_FORMAT || r.hash !== p.hash) continue;
    complete++;
    const id = `${p.dataset}|${p.variant}`;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(r);
  }
  for (const d of spec.datasets) for (const v of spec.variants) {
    const rs = groups.get(`${d}|${v.label}`);
    if (!rs) continue;
    for (const m of spec.budgets[budget].multipliers.filter((x) => x !== 1)) {
      const rms = rs.flatMap((r) => r.comparisons.find((c) => c.multiplier === m)?.rms ?? []);
      if (!rms.length) continue;
      const psnr = rms.map(psnrFromRms).sort((a, b) => a - b);
      rows.push({
        dataset: d, variant: v.label, multiplier: m, seeds: rs.map((r) => r.seed).sort((a, b) => a - b), images: rms.length,
        rmsMean: mean(rms), rmsStd: sampleStd(rms), rmsInterval: bootstrapMeanInterval(rms, rng, { resamples: 2000 }),
        psnrMean: mean(psnr), psnrMedian: psnr.length % 2 ? psnr[(psnr.length - 1) / 2] : (psnr[psnr.length / 2 - 1] + psnr[psnr.length / 2]) / 2,
      });
    }
  }
  return { rows, planned: plans.length, complete };
}

/** Markdown: one row per (dataset, variant), columns per multiplier. */
export function crossResMarkdown(spec: CrossResSpec, budget: BudgetName, merged: ReturnType<typeof mergeCrossRes>): string {
  const ms = spec.budgets[budget].multipliers.filter((x) => x !== 1);
  const lines = [
    `| dataset | variant | ${ms.map((m) => `${m}r₀ → r₀: RMS [95 % CI] | PSNR dB (median)`).join(" | ")} | images |`,
    `|---|---|${ms.map(() => "---|---|").join("")}---|`,
  ];
  for (const d of spec.datasets) for (const v of spec.variants) {
    const rs = merged.rows.filter((r) => r.dataset === d && r.variant === v.label);
    if (!rs.length) continue;
    lines.push(`| ${d} | ${v.label} | ${ms.map((m) => {
      const r = rs.find((x) => x.multiplier === m);
      if (!r) return "– | –";
      const ci = r.rmsInterval ? ` [${r.rmsInterval[0].toFixed(4)}, ${r.rmsInterval[1].toFixed(4)}]` : "";
      return `${r.rmsMean.toFixed(4)}${ci} | ${r.psnrMean.toFixed(1)} (${r.psnrMedian.toFixed(1)})`;
    }).join(" | ")} | ${rs[0].images} |`);
  }
  const b = spec.budgets[budget];
  lines.push("", `Budget \`${budget}\`: ${b.note} ${b.noiseFields} noise fields per seed, DDIM-${b.ddimSteps} (η = 0); ${merged.complete}/${merged.planned} planned runs complete. Paper: ${spec.paperNote}`);
  return lines.join("\n");
}
