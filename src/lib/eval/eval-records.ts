/**
 * A model's evaluation folder as records: scripts/evaluate-shipped.sh writes one `infty eval --json` file per
 * (resolution, n, DDIM steps) as r<R>-n<N>-s<S>.json. The results page's tables (src/release/shipped-report.ts) and
 * notebook 06 read them here, so every number stays traceable to a file.
 *
 * Resolution generalisation compares each finer grid with 28×28 samples at the same n and steps: FID is biased upwards
 * at small n (the blurred-test baseline moves from 194 at n = 1,000 to 264 at n = 32), so only matched pairs compare.
 */
import { interval, resultFiles } from "./quality-curve";

/** One `infty eval --json` file of a shipped model's evaluation folder, as read back. */
export interface EvalRecord {
  /** sampling resolution (square grids; the file name's R) */
  resolution: number;
  n: number;
  /** DDIM steps */
  steps: number;
  /** training step of the evaluated checkpoint */
  step: number;
  fid: number;
  /** bootstrap standard deviation and 95 % interval of FID over the samples (null for evals made before them) */
  fidStd: number | null;
  fidInterval95: [number, number] | null;
  kid: number;
  holdoutFid: number | null;
  blurredTestFid: number | null;
  sampleSeconds: number;
  backend: string;
  file: string;
}

const EVAL_FILE = /^r(\d+)-n(\d+)-s(\d+)\.json$/;

/**
 * Every r<R>-n<N>-s<S>.json in `dir` (variants with a suffix, e.g. -even, are other experiments and are skipped),
 * sorted by resolution, n, steps. A file whose contents disagree with its name is an error naming it.
 */
export function readEvalDir(dir: string): EvalRecord[] {
  const out: EvalRecord[] = [];
  for (const { m, file, r, num } of resultFiles(dir, EVAL_FILE)) {
    const [R, N, S] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const res = r.resolution;
    if (res !== undefined && !(Array.isArray(res) && res[0] === R && res[1] === R)) throw new Error(`${file}: holds resolution ${JSON.stringify(res)}, its name says ${R}`);
    if (num(r.n, "n") !== N) throw new Error(`${file}: holds n = ${r.n}, its name says ${N}`);
    if (num(r.steps, "steps") !== S) throw new Error(`${file}: holds ${r.steps} DDIM steps, its name says ${S}`);
    const b = (r.baselines ?? {}) as Record<string, unknown>;
    const opt = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
    out.push({
      resolution: R, n: N, steps: S, step: num(r.step, "step"), fid: num(r.fid, "fid"),
      fidStd: opt(r.fidStd), fidInterval95: interval(r.fidInterval95, file), kid: num(r.kid, "kid"),
      holdoutFid: opt(b.holdoutFid), blurredTestFid: opt(b.blurredTestFid), sampleSeconds: num(r.sampleSeconds, "sampleSeconds"),
      backend: typeof r.backend === "string" ? r.backend : "?", file,
    });
  }
  return out.sort((a, b) => a.resolution - b.resolution || b.n - a.n || a.steps - b.steps);
}

/** FID at a finer grid beside FID at the training grid for the same n and steps, and their ratio. */
export interface ResolutionRow {
  resolution: number;
  n: number;
  steps: number;
  fid: number;
  /** FID of 28×28 samples at the same n and steps */
  fidAtTrainRes: number;
  /** fid / fidAtTrainRes */
  ratio: number;
  /**
   * standard deviation of the ratio from the two FIDs' bootstrap spreads (delta method, independent sample sets):
   * ratio · √((σ₁/F₁)² + (σ₀/F₀)²); null unless both evals have a bootstrap
   */
  ratioStd: number | null;
  kid: number;
  kidAtTrainRes: number;
  sampleSeconds: number;
}

/** Each record above the training resolution paired with the training-resolution record of the same n and steps. */
export function resolutionRows(records: EvalRecord[], trainRes = 28): ResolutionRow[] {
  const rows: ResolutionRow[] = [];
  for (const r of records) {
    if (r.resolution <= trainRes) continue;
    const base = records.find((b) => b.resolution === trainRes && b.n === r.n && b.steps === r.steps);
    if (!base) throw new Error(`${r.file}: no r${trainRes}-n${r.n}-s${r.steps}.json beside it to compare with (only matched n and steps compare)`);
    if (base.step !== r.step) throw new Error(`${r.file} is step ${r.step} but ${base.file} is step ${base.step}: not the same model`);
    const ratio = r.fid / base.fid;
    const ratioStd = r.fidStd !== null && base.fidStd !== null ? ratio * Math.hypot(r.fidStd / r.fid, base.fidStd / base.fid) : null;
    rows.push({ resolution: r.resolution, n: r.n, steps: r.steps, fid: r.fid, fidAtTrainRes: base.fid, ratio, ratioStd, kid: r.kid, kidAtTrainRes: base.kid, sampleSeconds: r.sampleSeconds });
  }
  return rows;
}

