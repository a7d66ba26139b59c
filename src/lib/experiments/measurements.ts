/**
 * The README's super-resolution and inpainting measurements on a trained checkpoint (unconditional, or an
 * autoencoder whose z of each input conditions the decoder), as typed functions returning the JSON records the README
 * cites. Every number comes from scoreSuperRes / scoreInpainting; scripts/measure-autoencoders.ts writes the files.
 */
import { currentBackend, tf } from "../runtime/backend";
import { loadGuidedModel } from "../pipelines/autoencoder";
import type { SuperResResult } from "../pipelines/superres";
import type { GroundTruthSource } from "../data/datasets";
import { InpaintScore, SuperResScore, scoreInpainting, scoreSuperRes, superResGroundTruth } from "../pipelines/scoring";
import { ImageSet, areaResize, sliceSet } from "../data/image-ops";
import { loadFashionMnist } from "../data/fashion-mnist";

/** A checkpoint ready for the measurements (loadGuidedModel's result). */
export type GuidedCheckpoint = ReturnType<typeof loadGuidedModel>;

/** Where a record came from: checkpoint, training step, whether z conditions, backend, time. */
export interface MeasurementMeta {
  checkpoint: string;
  step: number;
  autoencoder: boolean;
  backend: string;
  at: string;
}

/** What every measurement record starts with: checkpoint, step, kind, backend and time. */
export function measurementMeta(file: string, g: GuidedCheckpoint): MeasurementMeta {
  return { checkpoint: file, step: g.step, autoencoder: Boolean(g.encode), backend: currentBackend()?.name ?? tf.getBackend(), at: new Date().toISOString() };
}

/** Held-out seed of the procedural/texture ground truth (training uses seed + 1 of its config). */
export const HELD_OUT_SEED = 777;
const T_ENCODE = 300;

type SuperResRow = SuperResScore & { lambda: number | null };

/** Scores guided (λ = 0.5) and plain (λ = 0) super-resolution; bicubic rows once. `onPlain` sees the λ = 0 outputs. */
async function superResRows(g: GuidedCheckpoint, truth: Parameters<typeof scoreSuperRes>[1], steps: number, onPlain?: (s: number, out: SuperResResult) => void): Promise<SuperResRow[]> {
  const rows: SuperResRow[] = [];
  for (const lambda of [0.5, 0]) {
    const part = await scoreSuperRes(g.model, truth, {
      steps, tEncode: T_ENCODE, lambda, encode: g.encode, onResult: (s, o) => { if (lambda === 0) onPlain?.(s, o); },
    });
    rows.push(...part.filter((row) => lambda === 0.5 || row.method === "model").map((row) => ({ ...row, lambda: row.method === "model" ? lambda : null })));
  }
  return rows;
}

/**
 * `n` held-out images of `source` at the model's resolution r, super-resolved 2× and 4× (PSNR and feature distance
 * against the exact ground truth, bicubic beside). `picture`: for up to 4 images, the input, bicubic, the model
 * (λ = 0) and the truth at 4×, as four [k, 4r, 4r, C] sets (views lay them side by side).
 */
export async function measureSuperRes(file: string, g: GuidedCheckpoint, source: GroundTruthSource, opts: { n?: number; steps?: number } = {}) {
  const n = opts.n ?? 16, steps = opts.steps ?? 25, r = g.cfg.model.resolution;
  const t0 = Date.now();
  const truth = superResGroundTruth(source, n, r, [2, 4], HELD_OUT_SEED);
  let four: SuperResResult | null = null;
  const rows = await superResRows(g, truth, steps, (s, o) => { if (s === 4) four = o; });
  const k = Math.min(4, n);
  const out = four as SuperResResult | null;
  if (!out) throw new Error("measureSuperRes: no 4× result");
  const picture: ImageSet[] = [sliceSet(truth.low, 0, k), sliceSet(out.upsampled, 0, k), sliceSet(out.x0, 0, k), sliceSet(truth.high.get(4)!, 0, k)];
  const record = {
    ...measurementMeta(file, g), source, n, resolution: r, steps, tEncode: T_ENCODE, heldOutSeed: HELD_OUT_SEED, picture: "λ = 0",
    seconds: (Date.now() - t0) / 1000, rows,
  };
  return { record, picture };
}

/** Fashion-MNIST test images 100… area-downsampled to 14 and 7 and super-resolved back to 28 (the truth). */
export async function measureSuperResFashionMnist(file: string, g: GuidedCheckpoint, opts: { n?: number; steps?: number } = {}) {
  const n = opts.n ?? 100, steps = opts.steps ?? 25;
  const t0 = Date.now();
  const truth = loadFashionMnist({ split: "test", offset: 100, limit: n });
  const rows: SuperResRow[] = [];
  for (const s of [2, 4]) {
    // the model runs at any resolution: the 14×14 (7×7) input is encoded and decoded at 28×28
    const low = areaResize(truth, 28 / s, 28 / s);
    rows.push(...await superResRows(g, { source: "fashion-mnist", low, high: new Map([[s, truth]]) }, steps));
  }
  return { ...measurementMeta(file, g), n, steps, tEncode: T_ENCODE, inputs: "test images 100…, area-downsampled", seconds: (Date.now() - t0) / 1000, rows };
}

/**
 * Fashion-MNIST test images 5000… under the three masks: mean-filled input, unguided and guided (λ = 0.5) completions,
 * PSNR and FID/KID of the completed images against the first 1000 test images.
 */
export async function measureInpainting(
  file: string, g: GuidedCheckpoint, opts: { n?: number; steps?: number; ts?: number; onBatch?: (done: number, total: number) => void } = {},
): Promise<MeasurementMeta & { n: number; steps: number; ts: number; lambda: number; reference: string; inputs: string; seconds: number; rows: InpaintScore[] }> {
  const n = opts.n ?? 100, steps = opts.steps ?? 25, ts = opts.ts ?? 350;
  const t0 = Date.now();
  const images = loadFashionMnist({ split: "test", offset: 5000, limit: n });
  const reference = loadFashionMnist({ split: "test", limit: 1000 });
  const rows = await scoreInpainting(g.model, images, reference, { steps, ts, lambda: 0.5, batch: 50, seed: 1, encode: g.encode, onBatch: opts.onBatch });
  return { ...measurementMeta(file, g), n, steps, ts, lambda: 0.5, reference: "first 1000 test images", inputs: "test images 5000…", seconds: (Date.now() - t0) / 1000, rows };
}
