/**
 * Scoring inpainting and super-resolution over many images: PSNR, FID/KID and feature distances with the lab's feature
 * net (read from data/), ground truth from procedural functions or texture photographs. Kept apart from inpaint.ts and
 * superres.ts, which a browser bundle takes (src/lib/browser.ts) and which must not reach files.
 */
import { tf } from "../runtime/backend";
import { ImageSet, sliceSet } from "../data/image-ops";
import { DATASETS, DatasetName, GroundTruthSource } from "../data/datasets";
import { psnr, imagePsnr } from "../eval/image-metrics";
import { featureStats, fidFromStats, kid, FeatureStats, featureDistance } from "../eval/metrics";
import { sharedFeatureNet, Features } from "../eval/feature-net";
import { GuidedModel, InpaintOptions, MASK_KINDS, MaskKind, fillUnknown, inpaint, makeMask, maskWeights } from "./inpaint";
import { SuperResOptions, SuperResResult, downsampleError, resizeImages, superResolve } from "./superres";

/** One row of the inpainting measurement: mask, method, PSNRs and FID/KID of the completions. */
export interface InpaintScore {
  mask: MaskKind;
  /** "input" = the masked image with its hole mean-filled (x̄), the floor a completion should beat */
  method: "input" | "unguided" | "guided";
  lambda: number;
  n: number;
  psnrKnown: number;
  psnrMissing: number;
  /** FID / KID of the completed images against `reference` (lab feature net; KID in the units eval and ablate report) */
  fid: number;
  kid: number;
  seconds: number;
}

/**
 * Inpaints `images` [N,H,W,C] under each mask kind, unguided (λ = 0) and guided (λ = opts.lambda), in batches, and
 * scores the completions: PSNR on the known/hidden pixels and FID/KID of the completed images against `reference`
 * (images disjoint from `images`). The mean-filled input is scored alongside. `encode` conditions an autoencoder's
 * decoder on each masked input's z (computed from x̄, never from the hidden pixels).
 */
export async function scoreInpainting(
  model: GuidedModel, images: ImageSet, reference: ImageSet,
  opts: Omit<InpaintOptions, "lambda"> & { lambda?: number; masks?: readonly MaskKind[]; batch?: number; encode?: (x: tf.Tensor4D) => tf.Tensor2D; onBatch?: (done: number, total: number) => void } = {},
): Promise<InpaintScore[]> {
  const [N, H, W, C] = images.shape;
  const batch = opts.batch ?? 50, lambda = opts.lambda ?? 0.5;
  const net = sharedFeatureNet();
  const refFeatures: Features = await net.features(reference);
  const ref: FeatureStats = featureStats(refFeatures);
  const masks = opts.masks ?? MASK_KINDS;
  const runs: Array<{ mask: MaskKind; method: InpaintScore["method"]; lambda: number }> = [];
  for (const mask of masks) for (const method of ["input", "unguided", "guided"] as const) runs.push({ mask, method, lambda: method === "guided" ? lambda : 0 });
  const total = runs.filter((r) => r.method !== "input").length * Math.ceil(N / batch);
  let done = 0;
  const rows: InpaintScore[] = [];
  for (const run of runs) {
    const t0 = Date.now();
    const mask = makeMask(run.mask, N, H, W, opts.seed ?? 0);
    const completed = new Float32Array(N * H * W * C), x0 = new Float32Array(N * H * W * C);
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch), part = sliceSet(images, s, e), m = mask.subarray(s * H * W, e * H * W);
      if (run.method === "input") {
        const filled = fillUnknown(part, m);
        completed.set(filled, s * H * W * C); x0.set(filled, s * H * W * C);
        continue;
      }
      let cond: tf.Tensor2D | undefined;
      if (opts.encode) cond = tf.tidy(() => opts.encode!(tf.tensor4d(fillUnknown(part, m), part.shape)));
      try {
        const r = await inpaint({ ...model, cond }, part, m, { ...opts, lambda: run.lambda, seed: (opts.seed ?? 0) + s });
        completed.set(r.completed.images, s * H * W * C); x0.set(r.x0.images, s * H * W * C);
      } finally {
        cond?.dispose();
      }
      opts.onBatch?.(++done, total);
    }
    const { known, hidden } = maskWeights(mask, C);
    const feats = await net.features({ images: completed, shape: [N, H, W, C] });
    rows.push({
      mask: run.mask, method: run.method, lambda: run.lambda, n: N,
      psnrKnown: psnr(x0, images.images, known), psnrMissing: psnr(completed, images.images, hidden),
      fid: fidFromStats(featureStats(feats), ref), kid: kid(feats, refFeatures).mean, seconds: (Date.now() - t0) / 1000,
    });
  }
  return rows;
}

/** Low-resolution images with exact ground truth at every scale: `high.get(s)` is [N, s·r, s·r, C]. */
export interface SuperResGroundTruth { source: DatasetName; low: ImageSet; high: Map<number, ImageSet> }

/**
 * `n` images at resolution r with their ground truth at s·r for each scale, from a dataset that has it (the registry's
 * `groundTruth`: procedural functions, texture photographs). Seeded; pick a seed other than training's for held-out
 * functions (texture crops come from the same three photos).
 */
export function superResGroundTruth(source: GroundTruthSource, n: number, resolution: number, scales: readonly number[], seed: number): SuperResGroundTruth {
  return { source, ...DATASETS[source].groundTruth(n, resolution, scales, seed) };
}

/** One row of the super-resolution measurement: scale, method, PSNR and feature distance to the truth. */
export interface SuperResScore {
  scale: number;
  method: "bicubic" | "model";
  /** PSNR (dB) against the ground truth at s·r */
  psnr: number;
  /** mean feature-net distance to the ground truth (eval/metrics featureDistance) */
  featureDistance: number;
  /** max |areaDown(output) − input| */
  downsampleError: number;
  seconds: number;
}

/**
 * Super-resolves `truth.low` at every scale of `truth.high` and scores the model and bicubic upsampling against the
 * ground truth. `encode` (the autoencoder's x → cond) conditions the model on the low-resolution input's z.
 */
export async function scoreSuperRes(
  model: GuidedModel, truth: SuperResGroundTruth,
  opts: Omit<SuperResOptions, "scale"> & { encode?: (x: tf.Tensor4D) => tf.Tensor2D; onResult?: (scale: number, out: SuperResResult) => void; batch?: number } = {},
): Promise<SuperResScore[]> {
  const rows: SuperResScore[] = [];
  for (const [s, high] of truth.high) {
    const t0 = Date.now();
    const bic = resizeImages(truth.low, high.shape[1], high.shape[2], "bicubic");
    rows.push({ scale: s, method: "bicubic", psnr: imagePsnr(bic, high), featureDistance: await featureDistance(bic, high), downsampleError: downsampleError(bic, truth.low), seconds: (Date.now() - t0) / 1000 });
    // in batches: guided decoding keeps the network's activations for the gradient (wasm memory is bounded)
    const [N, h, w, C] = truth.low.shape, H = s * h, W = s * w, batch = opts.batch ?? 25;
    const x0 = new Float32Array(N * H * W * C), upsampled = new Float32Array(N * H * W * C);
    let seconds = 0;
    for (let b = 0; b < N; b += batch) {
      const e = Math.min(N, b + batch);
      const low = sliceSet(truth.low, b, e);
      let cond: tf.Tensor2D | undefined;
      if (opts.encode) cond = tf.tidy(() => opts.encode!(tf.tensor4d(low.images, low.shape)));
      try {
        const part = await superResolve({ ...model, cond }, low, { ...opts, scale: s });
        x0.set(part.x0.images, b * H * W * C);
        upsampled.set(part.upsampled.images, b * H * W * C);
        seconds += part.seconds;
      } finally {
        cond?.dispose();
      }
    }
    const out: SuperResResult = { x0: { images: x0, shape: [N, H, W, C] }, upsampled: { images: upsampled, shape: [N, H, W, C] }, seconds };
    rows.push({ scale: s, method: "model", psnr: imagePsnr(out.x0, high), featureDistance: await featureDistance(out.x0, high), downsampleError: downsampleError(out.x0, truth.low), seconds });
    opts.onResult?.(s, out);
  }
  return rows;
}
