/**
 * Does a model copy its training images? Each sample's nearest training image (Euclidean, in pixels), set against the
 * same distance for held-out images, which come from the same distribution and were never trained on: a model that
 * generalises puts its samples about as far from the training set as held-out images are; one that memorises puts
 * many much closer. FID cannot tell the two apart (copies of the training set score well).
 */
import { tf } from "../runtime/backend";
import { ImageSet } from "../data/image-ops";
import { quantileSorted } from "./statistics";

/** Per query image: the index of its nearest reference image and the Euclidean distance to it (float64). */
export interface Nearest { index: Int32Array; distance: Float64Array }

/**
 * Exact nearest neighbours of `query` [N, H, W, C] among `ref` [M, H, W, C]: ‖q − r‖² = ‖q‖² + ‖r‖² − 2 q·r with the
 * products on the backend (chunks of `chunk` reference images), then the winner's distance recomputed in float64.
 */
export async function nearestImages(query: ImageSet, ref: ImageSet, opts: { chunk?: number } = {}): Promise<Nearest> {
  const [n, ...qs] = query.shape, [m, ...rs] = ref.shape;
  if (qs.join("×") !== rs.join("×")) throw new Error(`nearestImages: query images are ${qs.join("×")}, reference images ${rs.join("×")}`);
  if (m === 0) throw new Error("nearestImages: no reference images");
  const d = qs.reduce((a, b) => a * b, 1), chunk = opts.chunk ?? 4096;
  const best = new Float64Array(n).fill(Infinity), index = new Int32Array(n).fill(-1);
  const q = tf.tensor2d(query.images, [n, d]);
  try {
    const qNorm = tf.tidy(() => q.square().sum(1, true)); // [N, 1]
    for (let s = 0; s < m; s += chunk) {
      const e = Math.min(m, s + chunk);
      const dist = tf.tidy(() => {
        const r = tf.tensor2d(ref.images.subarray(s * d, e * d), [e - s, d]);
        return qNorm.add(r.square().sum(1).reshape([1, e - s])).sub(tf.matMul(q, r, false, true).mul(2)); // [N, e − s]
      });
      const [minT, argT] = [dist.min(1), dist.argMin(1)];
      const [mins, args] = [await minT.data(), await argT.data()];
      tf.dispose([dist, minT, argT]);
      for (let i = 0; i < n; i++) if (mins[i] < best[i]) { best[i] = mins[i]; index[i] = s + args[i]; }
    }
    qNorm.dispose();
  } finally {
    q.dispose();
  }
  const distance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s2 = 0;
    const a = i * d, b = index[i] * d;
    for (let j = 0; j < d; j++) s2 += (query.images[a + j] - ref.images[b + j]) ** 2;
    distance[i] = Math.sqrt(s2);
  }
  return { index, distance };
}

/** Distances of samples and of held-out images to their nearest training image, and the summary statistics. */
export interface MemorisationReport {
  n: number;
  nTrain: number;
  nHoldout: number;
  /** medians of the per-pixel RMS distance to the nearest training image (images in [−1, 1]) */
  sampleMedianRms: number;
  holdoutMedianRms: number;
  /** sampleMedianRms / holdoutMedianRms: ≈ 1 for a model that generalises, ≪ 1 for one that copies */
  medianRatio: number;
  /** the 1st percentile of the held-out images' distances, and the fraction of samples nearer than it (≈ 0.01 without copying) */
  holdoutP01Rms: number;
  sampleP01Rms: number;
  fractionBelowHoldoutP01: number;
  /** the k samples nearest to a training image, nearest first */
  closest: { sample: number; train: number; rms: number }[];
}

/** Samples and held-out images against the training images the model saw; `k` closest pairs for a picture. */
export async function memorisationCheck(samples: ImageSet, train: ImageSet, holdout: ImageSet, k = 8): Promise<MemorisationReport> {
  const per = samples.shape.slice(1).reduce((a, b) => a * b, 1);
  const rms = (x: number) => x / Math.sqrt(per);
  const s = await nearestImages(samples, train), h = await nearestImages(holdout, train);
  const sr = Array.from(s.distance, rms), hr = Array.from(h.distance, rms);
  const sSorted = [...sr].sort((a, b) => a - b), hSorted = [...hr].sort((a, b) => a - b);
  const p01 = quantileSorted(hSorted, 0.01);
  const order = sr.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).slice(0, k);
  const sampleMedianRms = quantileSorted(sSorted, 0.5), holdoutMedianRms = quantileSorted(hSorted, 0.5);
  return {
    n: samples.shape[0], nTrain: train.shape[0], nHoldout: holdout.shape[0],
    sampleMedianRms, holdoutMedianRms, medianRatio: sampleMedianRms / holdoutMedianRms,
    holdoutP01Rms: p01, sampleP01Rms: quantileSorted(sSorted, 0.01), fractionBelowHoldoutP01: sr.filter((v) => v < p01).length / sr.length,
    closest: order.map(([v, i]) => ({ sample: i, train: s.index[i], rms: v })),
  };
}

/** The README's table from a record of scripts/memorisation.js (a MemorisationReport with its step and steps). */
export function memorisationMarkdown(r: MemorisationReport & { step: number; steps: number }): string {
  return [
    "| images | n | median RMS distance to the nearest training image | 1st percentile | nearer than held-out's 1st percentile |",
    "|---|---|---|---|---|",
    `| samples (step ${r.step.toLocaleString("en-US")}, DDIM ${r.steps}) | ${r.n.toLocaleString("en-US")} | ${r.sampleMedianRms.toFixed(3)} | ${r.sampleP01Rms.toFixed(3)} | ${(100 * r.fractionBelowHoldoutP01).toFixed(1)} % |`,
    `| held-out training images | ${r.nHoldout.toLocaleString("en-US")} | ${r.holdoutMedianRms.toFixed(3)} | ${r.holdoutP01Rms.toFixed(3)} | (1 % by definition) |`,
  ].join("\n");
}
