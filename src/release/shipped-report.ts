/**
 * A shipped model's evaluation folder as the results page's tables (release tooling: scripts/shipped-tables.js).
 * scripts/measure-autoencoders.js writes the inpainting and super-resolution records beside the eval files
 * (src/lib/eval/eval-records.ts reads those).
 */
import * as fs from "fs";
import * as path from "path";
import {
  EvalRecord, ResolutionRow, dataPath, fidCell, memorisationMarkdown, projectRoot, qualityCurveMarkdown, readEvalDir,
  readQualityCurve, readStepsCurve, resolutionRows, stepsCurveMarkdown,
} from "infty-diff-lab";

const int = (x: number) => x.toLocaleString("en-US");

/** The results page's resolution table; ratios within `bar` are bold, with ± one standard deviation where known. */
export function resolutionMarkdown(rows: ResolutionRow[], trainRes = 28, bar = 1.2): string {
  const lines = [
    `| sampled at | n, DDIM steps | FID | FID at ${trainRes}×${trainRes}, same n and steps | ratio ± sd (bar: ≤ ${bar}) | KID (${trainRes}×${trainRes}) | sampling wall time |`,
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const ratio = r.ratio.toFixed(2) + (r.ratioStd !== null ? ` ± ${r.ratioStd.toFixed(2)}` : "");
    lines.push(`| ${r.resolution}×${r.resolution} | ${int(r.n)}, ${r.steps} | ${r.fid.toFixed(1)} | ${r.fidAtTrainRes.toFixed(1)} | ${r.ratio <= bar ? `**${ratio}**` : ratio} | ` +
      `${r.kid.toFixed(1)} (${r.kidAtTrainRes.toFixed(1)}) | ${(r.sampleSeconds / 60).toFixed(1)} min |`);
  }
  return lines.join("\n");
}

/**
 * The results page's quality-bar table: samples at the training resolution and n against the baselines at the same n;
 * `previous` adds a replaced model's rows at the same n (its own eval folder) for comparison.
 */
export function qualityBarMarkdown(records: EvalRecord[], n: number, trainRes = 28, previous?: { records: EvalRecord[]; label: string }): string {
  const at = (recs: EvalRecord[]) => recs.filter((r) => r.resolution === trainRes && r.n === n).sort((a, b) => b.steps - a.steps);
  const rows = at(records);
  if (!rows.length) throw new Error(`no r${trainRes}-n${n}-s*.json to report`);
  const base = rows.find((r) => r.blurredTestFid !== null && r.holdoutFid !== null);
  const row = (label: string) => (r: EvalRecord) =>
    `| ${label}, DDIM ${r.steps} steps (step ${int(r.step)}) | ${fidCell(r.fid, r.fidInterval95)} | ${r.kid.toFixed(1)} |`;
  const lines = [
    `| ${trainRes}×${trainRes}, ${int(n)} samples vs ${int(n)} test images | FID (95 % interval) | KID |`,
    "|---|---|---|",
    ...rows.map(row("∞-Diff samples")),
    ...(previous ? at(previous.records).map(row(previous.label)) : []),
  ];
  if (base) {
    lines.push(`| test set blurred with σ = 1 px (the quality bar) | ${base.blurredTestFid!.toFixed(1)} | |`);
    lines.push(`| held-out training images | ${base.holdoutFid!.toFixed(1)} | |`);
  }
  return lines.join("\n");
}

interface InpaintRow { mask: string; method: string; lambda: number; psnrKnown: number; psnrMissing: number; fid: number; kid: number }
interface SuperResRow { scale: number; method: string; lambda: number | null; psnr: number; featureDistance: number }

/** Rows of measureInpainting's record (scripts/measure-autoencoders.js inpaint) under a model label. */
export function inpaintMarkdownRows(record: { rows: InpaintRow[] }, model: string): string[] {
  return record.rows.map((r) => {
    const method = r.method === "guided" ? `guided λ = ${r.lambda}` : r.method;
    // the "input" row's known pixels are the truth itself (PSNR of identical images)
    const known = r.method === "input" ? "–" : r.psnrKnown.toFixed(2);
    return `| ${model} | ${r.mask} | ${method} | ${known} | ${r.psnrMissing.toFixed(2)} | ${r.fid.toFixed(1)} | ${r.kid.toFixed(2)} |`;
  });
}

export const INPAINT_HEADER = "| model | mask | method | PSNR known px | PSNR hidden px | FID | KID |\n|---|---|---|---|---|---|---|";

/** Rows of measureSuperResFashionMnist's record under a model label; `method` names the model's rows (∞-Diff, ∞-Diff AE). */
export function superResMarkdownRows(record: { rows: SuperResRow[] }, model: string, method: string): string[] {
  return record.rows.map((r) =>
    `| ${model} | ${r.scale}× | ${r.method === "bicubic" ? "bicubic" : `${method}, λ = ${r.lambda}`} | ${r.psnr.toFixed(2)} | ${r.featureDistance.toFixed(3)} |`);
}

export const SUPERRES_HEADER = "| model | scale | method | PSNR (dB) | feature distance |\n|---|---|---|---|---|";

/** docs/results.md's generated tables, by marker name (`<!-- table:NAME -->` … `<!-- /table -->`). */
export type ShippedTables = Partial<Record<
  "curve" | "quality-bar" | "resolution" | "inpainting" | "super-resolution" | "memorisation" | "fig7-steps", string>>;

/**
 * Every table the result files support: the run's quality curve, the shipped model's quality bar (n = 1,000) and
 * resolution pairs, the memorisation check, and the inpainting and super-resolution records (the shipped model's rows,
 * then the autoencoder's when its folder has them).
 */
export function shippedTables(o: {
  evalDir: string; curveDir: string; autoencoderEvalDir?: string; qualityN?: number;
  /** a replaced shipped model, kept for comparison: its quality-bar, inpainting and super-resolution rows follow the new model's */
  previous?: { evalDir: string; label: string };
  /** Fig. 7 on the shipped model: scripts/fig7-steps.sh's folder */
  stepsDir?: string;
}): ShippedTables {
  const read = (f: string) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : null);
  const out: ShippedTables = {};
  const curve = readQualityCurve(o.curveDir);
  const recs = readEvalDir(o.evalDir);
  // the run may train on past the shipped checkpoint: its step is marked so the later points read as the run's, not the model's
  if (curve.length) out.curve = qualityCurveMarkdown(curve, recs[0]?.step);
  const prev = o.previous && fs.existsSync(o.previous.evalDir) ? o.previous : undefined;
  if (recs.some((r) => r.resolution === 28 && r.n === (o.qualityN ?? 1000))) {
    out["quality-bar"] = qualityBarMarkdown(recs, o.qualityN ?? 1000, 28, prev && { records: readEvalDir(prev.evalDir), label: prev.label });
  }
  const rows = resolutionRows(recs);
  if (rows.length) out.resolution = resolutionMarkdown(rows);
  const mem = read(path.join(o.evalDir, "memorisation.json"));
  if (mem) out.memorisation = memorisationMarkdown(mem);
  // the measurement tables: the shipped model's rows, then the replaced model's and the autoencoder's where their folders have the file
  const models = [
    { dir: o.evalDir, label: "shipped ∞-Diff", method: "∞-Diff" },
    ...(prev ? [{ dir: prev.evalDir, label: prev.label, method: "∞-Diff" }] : []),
    ...(o.autoencoderEvalDir ? [{ dir: o.autoencoderEvalDir, label: "autoencoder", method: "∞-Diff AE" }] : []),
  ];
  const measured = <R>(file: string, header: string, rowsOf: (record: R, m: (typeof models)[number]) => string[]) =>
    fs.existsSync(path.join(o.evalDir, file)) &&
    [header, ...models.flatMap((m) => { const r = read(path.join(m.dir, file)); return r ? rowsOf(r, m) : []; })].join("\n");
  const inpainting = measured<{ rows: InpaintRow[] }>("inpaint-fid.json", INPAINT_HEADER, (r, m) => inpaintMarkdownRows(r, m.label));
  if (inpainting) out.inpainting = inpainting;
  const superRes = measured<{ rows: SuperResRow[] }>("superres.json", SUPERRES_HEADER, (r, m) => superResMarkdownRows(r, m.label, m.method));
  if (superRes) out["super-resolution"] = superRes;
  const steps = o.stepsDir ? readStepsCurve(o.stepsDir) : [];
  if (steps.length) out["fig7-steps"] = stepsCurveMarkdown(steps);
  return out;
}

/** Where docs/results.md's tables come from: the shipped model's folders, its autoencoder's, and the model it replaced. */
export function shippedSources(): Parameters<typeof shippedTables>[0] {
  return {
    evalDir: dataPath("checkpoints", "fashion-mnist.eval"),
    curveDir: dataPath("checkpoints", "fashion-mnist.curve"),
    autoencoderEvalDir: dataPath("checkpoints", "ae-fashion-mnist.eval"),
    previous: { evalDir: dataPath("checkpoints", "fashion-mnist-2500.eval"), label: "2,500-step ∞-Diff (replaced)" },
    stepsDir: path.join(projectRoot(), "results", "fig7-shipped"),
  };
}

const BLOCK = /<!-- table:([a-z0-9-]+) -->\n([\s\S]*?)<!-- \/table -->/g;

/** The marked blocks of a text, by name. */
export function markedBlocks(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(BLOCK)) out[m[1]] = m[2].trim();
  return out;
}

/** `text` with each marked block's body replaced by `tables[name]`; a marker without a table is an error naming it. */
export function replaceMarkedBlocks(text: string, tables: ShippedTables): string {
  return text.replace(BLOCK, (_all, name: string) => {
    const body = tables[name as keyof ShippedTables];
    if (body === undefined) throw new Error(`no result files for the table '${name}'`);
    // blank lines around the table: markdown renderers then never read a marker as a table row
    return `<!-- table:${name} -->\n\n${body}\n\n<!-- /table -->`;
  });
}
