/**
 * A training run's quality curve: FID/KID of samples from the checkpoints `infty train --keep-every` kept, one
 * `infty eval --json` file per step (scripts/quality-curve.sh writes them as <dir>/step-N.json). Reading them here keeps
 * the README table and notebook 05's figure on the same numbers.
 */
import * as fs from "fs";
import * as path from "path";

/** One evaluated checkpoint of a training run: FID/KID and the two reference levels at the same n. */
export interface QualityPoint {
  /** training step of the evaluated checkpoint */
  step: number;
  fid: number;
  /** FID's 95 % bootstrap interval over the samples (evals since the bootstrap was added; null before) */
  fidInterval95: [number, number] | null;
  kid: number;
  n: number;
  /** DDIM steps */
  steps: number;
  /** FID of held-out training images and of the σ = 1 px blurred test set, at the same n (the quality bar) */
  holdoutFid: number;
  blurredTestFid: number;
  /** wall seconds of sampling, and the backend it ran on ("?" for files written before evals recorded it) */
  sampleSeconds: number;
  backend: string;
  file: string;
}

const FILE = /^step-(\d+)\.json$/;

/** One result file of a folder: its name's match, its path, its JSON, and a reader of finite numbers naming the file. */
export interface ResultFile {
  m: RegExpExecArray;
  file: string;
  r: Record<string, unknown>;
  /** the value as a finite number, or an error naming the file and the field */
  num(v: unknown, what: string): number;
}

/** The JSON files in `dir` (none when it is absent) whose names match `pattern`; `hint` ends a missing number's message. */
export function* resultFiles(dir: string, pattern: RegExp, hint = ""): Generator<ResultFile> {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const m = pattern.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const r = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    const num = (v: unknown, what: string): number => {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${file}: '${what}' missing or not a finite number${hint}`);
      return v;
    };
    yield { m, file, r, num };
  }
}

/** Every step-N.json in `dir`, sorted by step; a file without the fields a curve needs is an error naming it. */
export function readQualityCurve(dir: string): QualityPoint[] {
  const points: QualityPoint[] = [];
  for (const { m, file, r, num } of resultFiles(dir, FILE, " (run infty eval with --baselines --json)")) {
    const b = (r.baselines ?? {}) as Record<string, unknown>;
    const step = num(r.step, "step");
    if (step !== Number(m[1])) throw new Error(`${file}: holds step ${step}, its name says ${m[1]}`);
    points.push({
      step, fid: num(r.fid, "fid"), fidInterval95: interval(r.fidInterval95, file), kid: num(r.kid, "kid"), n: num(r.n, "n"), steps: num(r.steps, "steps"),
      holdoutFid: num(b.holdoutFid, "baselines.holdoutFid"), blurredTestFid: num(b.blurredTestFid, "baselines.blurredTestFid"),
      sampleSeconds: num(r.sampleSeconds, "sampleSeconds"), backend: typeof r.backend === "string" ? r.backend : "?", file,
    });
  }
  return points.sort((a, b) => a.step - b.step);
}

/** An eval file's fidInterval95, if it has one. */
export function interval(v: unknown, file: string): [number, number] | null {
  if (v === undefined) return null;
  if (!(Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isFinite(x)) && v[0] <= v[1])) {
    throw new Error(`${file}: 'fidInterval95' must be [low, high]`);
  }
  return [v[0], v[1]];
}

/** "63.7" or, with its bootstrap interval, "63.7 (61.2–66.2)". */
export function fidCell(fid: number, iv: [number, number] | null): string {
  return iv ? `${fid.toFixed(1)} (${iv[0].toFixed(1)}–${iv[1].toFixed(1)})` : fid.toFixed(1);
}

/** The README's table: one row per evaluated checkpoint; `shippedStep`, when given, marks the checkpoint that shipped. */
export function qualityCurveMarkdown(points: QualityPoint[], shippedStep?: number): string {
  const lines = [
    "| step | FID (95 % interval) | KID | n | DDIM steps | held-out FID | blurred-test FID | sampling wall time | backend |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const p of points) {
    const step = p.step.toLocaleString("en-US");
    lines.push(`| ${p.step === shippedStep ? `**${step}** (shipped)` : step} | ${fidCell(p.fid, p.fidInterval95)} | ${p.kid.toFixed(2)} | ${p.n} | ${p.steps} | ${p.holdoutFid.toFixed(1)} | ` +
      `${p.blurredTestFid.toFixed(1)} | ${(p.sampleSeconds / 60).toFixed(1)} min | ${p.backend} |`);
  }
  return lines.join("\n");
}
