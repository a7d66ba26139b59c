/**
 * Inpainting with an unconditional mollified model (∞-Diff §5 "Inpainting", Fig. 9): reconstruction guidance
 * (guidance.ts) with the residual m ⊙ (μ̃₀(x_t, t) − Tx̄), m = 1 on known pixels, run by the ordinary DDIM/DDPM samplers.
 * The reverse process starts from noise (x_T ~ prior) or, as the paper's autoencoder allows, from the known image
 * forward-noised to a chosen t_s (Eq. 11), which bounds how far the completion may move from the original.
 *
 * x̄ is the image with its unknown pixels replaced by the mean of its known ones (per image and channel) — the hidden
 * pixels are never read; T mixes a few of those fill values into Tx̄ within ≈2σ of the mask's edge.
 * Masks are defined on [0,1]², so a mask means the same region at every resolution. Scoring (FID/KID over mask kinds)
 * is scoring.ts: this module stays free of the feature net's files, so a browser bundle can take it.
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import type { LabConfig } from "../config/config";
import type { InftyDiffNetwork } from "../nn/network";
import { spacedTimesteps } from "../diffusion/schedules";
import { qSample } from "../diffusion/forward";
import type { SamplerName, SamplerStep } from "../diffusion/samplers";
import { prepareSampling, priorOf, runSampler } from "./sampling";
import { ImageSet } from "../data/image-ops";
import { ConditionedGridDenoiser, guidedDenoiser } from "./guidance";
import { psnr } from "../eval/image-metrics";

/** An inpainting mask: a centre square, random strokes, or the right half. */
export type MaskKind = "centre" | "strokes" | "half";
/** Every inpainting mask kind. */
export const MASK_KINDS: readonly MaskKind[] = ["centre", "strokes", "half"];

/**
 * Known-pixel masks m [B,H,W] (1 = known, 0 = to inpaint), from pixel centres in [0,1]²: "centre" hides the central
 * box of half the side, "half" the right half, "strokes" 4 random 3-segment brush strokes of width 0.09 per image
 * (seeded by `seed` and the image index, so image b gets the same strokes at every resolution).
 */
export function makeMask(kind: MaskKind, B: number, H: number, W: number = H, seed = 0): Float32Array {
  const m = new Float32Array(B * H * W).fill(1);
  for (let b = 0; b < B; b++) {
    const segs: number[][] = [];
    if (kind === "strokes") {
      const rng = new Rng(seed * 1009 + b);
      for (let s = 0; s < 4; s++) {
        let x = 0.15 + 0.7 * rng.next(), y = 0.15 + 0.7 * rng.next(), a = 2 * Math.PI * rng.next();
        for (let j = 0; j < 3; j++) {
          a += (rng.next() - 0.5) * 1.5;
          const x2 = Math.min(Math.max(x + 0.2 * Math.cos(a), 0), 1), y2 = Math.min(Math.max(y + 0.2 * Math.sin(a), 0), 1);
          segs.push([x, y, x2, y2]);
          x = x2; y = y2;
        }
      }
    }
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const y = (i + 0.5) / H, x = (j + 0.5) / W;
        let hidden: boolean;
        switch (kind) {
          case "centre": hidden = Math.abs(x - 0.5) < 0.25 && Math.abs(y - 0.5) < 0.25; break;
          case "half": hidden = x > 0.5; break;
          case "strokes": hidden = segs.some((sg) => segmentDistance(x, y, sg) < 0.045); break;
          default: throw new Error(`unknown mask '${kind as string}' (expected ${MASK_KINDS.join(", ")})`);
        }
        if (hidden) m[(b * H + i) * W + j] = 0;
      }
    }
  }
  return m;
}

function segmentDistance(px: number, py: number, [x1, y1, x2, y2]: number[]): number {
  const dx = x2 - x1, dy = y2 - y1, L2 = dx * dx + dy * dy;
  const u = L2 > 0 ? Math.min(Math.max(((px - x1) * dx + (py - y1) * dy) / L2, 0), 1) : 0;
  return Math.hypot(px - x1 - u * dx, py - y1 - u * dy);
}

/** What inpainting and super-resolution sample from: a network, its config, and optionally the autoencoder's z. */
export interface GuidedModel {
  net: InftyDiffNetwork;
  cfg: LabConfig;
  /** conditioning embedding [B, timeEmbDim] (DiffusionAutoencoder.condition(z)); absent = unconditional */
  cond?: tf.Tensor2D;
}

/** Inpainting settings: guidance strength λ, start time t_s, steps, seed. */
export interface InpaintOptions {
  /** guidance weight λ (default 0.5; 0 = unguided) */
  lambda?: number;
  /** λ_t = λ·ᾱ_t (default) or the paper's constant λ (GuidanceOptions.weighting) */
  weighting?: "alphaBar" | "constant";
  /** start from the known image forward-noised to t_s (0 ≤ t_s < T); absent/null = from noise at T − 1 */
  ts?: number | null;
  /** sampler steps over [0, t_s] (default 50) */
  steps?: number;
  sampler?: SamplerName;
  eta?: number;
  seed?: number;
  /** per-step ‖m ⊙ (μ̃₀ − Tx̄)‖² for diagnostics */
  onResidual?: (t: number, loss: number) => void;
  /** after each sampler step (progress; throwing stops the run, its tensors freed) */
  onStep?: (step: SamplerStep) => void | Promise<void>;
}

/** Completed images, with the settings and the time taken. */
export interface InpaintResult {
  /** the model's output x₀ = Wiener(Tx₀) [B,H,W,C] */
  x0: ImageSet;
  /** known pixels from the input, the rest from x₀ */
  completed: ImageSet;
  /** the sample in the mollified space, Tx₀ [B,H,W,C] */
  Tx0: ImageSet;
  /** the guidance target Tx̄ [B,H,W,C] */
  Txbar: ImageSet;
  seconds: number;
}

/** x̄: the known pixels, and the mean of the known ones elsewhere (per image and channel). images [B,H,W,C], m [B,H,W]. */
export function fillUnknown(images: ImageSet, mask: Float32Array): Float32Array {
  const [B, H, W, C] = images.shape;
  const out = images.images.slice();
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let s = 0, n = 0;
      for (let p = 0; p < H * W; p++) if (mask[b * H * W + p] > 0.5) { s += images.images[(b * H * W + p) * C + c]; n++; }
      const mean = n ? s / n : 0;
      for (let p = 0; p < H * W; p++) if (mask[b * H * W + p] <= 0.5) out[(b * H * W + p) * C + c] = mean;
    }
  }
  return out;
}

/** Timesteps for a run over [0, t_s] (t_s = T − 1 when absent). */
export function guidedTimesteps(T: number, steps: number, ts: number | null | undefined): number[] {
  const top = ts ?? T - 1;
  if (!Number.isInteger(top) || top < 0 || top >= T) throw new Error(`ts must be an integer in 0…${T - 1} (got ${ts})`);
  return spacedTimesteps(top + 1, Math.min(steps, top + 1));
}

/** Inpaints `images` [B,H,W,C] where `mask` [B,H,W] is 0, at the images' own resolution. */
export async function inpaint(model: GuidedModel, images: ImageSet, mask: Float32Array, opts: InpaintOptions = {}): Promise<InpaintResult> {
  const { net, cfg } = model;
  const [B, H, W, C] = images.shape;
  if (C !== cfg.model.channels) throw new Error(`images have ${C} channels, the model ${cfg.model.channels}`);
  if (mask.length !== B * H * W) throw new Error(`mask has ${mask.length} values, expected ${B}×${H}×${W}`);
  const t0 = Date.now();
  const run = prepareSampling(cfg);
  const { schedule, mollifier } = run;
  const g = run.grid([H, W]);
  const timesteps = guidedTimesteps(schedule.T, opts.steps ?? 50, opts.ts);
  const grid = new ConditionedGridDenoiser(net, model.cond ?? null);
  const rng = new Rng(opts.seed ?? 0);
  const xbar = tf.tensor4d(fillUnknown(images, mask), [B, H, W, C]);
  const m = tf.tensor4d(mask, [B, H, W, 1]);
  const Txbar = mollifier.apply(xbar);
  let xT: tf.Tensor4D | null = null;
  try {
    // the prior, or (from t_s) x̄ noised by q(x_{t_s}|x̄) with the same white-noise multiplier
    if (opts.ts == null) xT = priorOf(run, g, B, rng);
    else {
      const xi = tf.tidy(() => tf.mul(rng.normalTensor<tf.Rank.R4>([B, H, W, C]), g.noiseMultiplier) as tf.Tensor4D);
      xT = qSample(xbar, xi, new Array(B).fill(opts.ts), schedule, mollifier);
      xi.dispose();
    }
    // ∞-Diff §5 Inpainting: r = m ⊙ (μ̃₀(x_t, t) − Tx̄)
    const residual = (Tx0: tf.Tensor4D) => tf.mul(m, tf.sub(Tx0, Txbar));
    const sampler = opts.sampler ?? "ddim";
    const denoise = guidedDenoiser(grid.denoise, residual, {
      schedule, timesteps, lambda: opts.lambda ?? 0.5, weighting: opts.weighting, sampler, eta: opts.eta ?? 0, onResidual: opts.onResidual,
    });
    if (cfg.diffusion.parameterisation !== "mollifiedEps") throw new Error("guidance needs the mollifiedEps parameterisation");
    const res = await runSampler(sampler, denoise, xT, timesteps, { ...run.options(g, rng), eta: opts.eta, onStep: opts.onStep });
    const completed = tf.tidy(() => tf.add(tf.mul(m, xbar), tf.mul(tf.sub(1, m), res.x0)));
    const x0 = await res.x0.data() as Float32Array;
    const comp = await completed.data() as Float32Array;
    const Tx0 = await res.Tx0.data() as Float32Array;
    const TxbarV = await Txbar.data() as Float32Array;
    tf.dispose([res.x0, res.Tx0, completed]);
    const shape: [number, number, number, number] = [B, H, W, C];
    return { x0: { images: x0, shape }, completed: { images: comp, shape }, Tx0: { images: Tx0, shape }, Txbar: { images: TxbarV, shape }, seconds: (Date.now() - t0) / 1000 };
  } finally {
    tf.dispose([xbar, m, Txbar]);
    if (xT) xT.dispose();
    grid.dispose();
    run.dispose();
  }
}

/** PSNR of a completion on the known and on the hidden pixels. */
export interface InpaintMetrics {
  /** PSNR (dB) of the model's output on the known pixels (how well guidance holds them) */
  psnrKnown: number;
  /** PSNR (dB) of the completion on the hidden pixels, against the ground truth */
  psnrMissing: number;
  /** mean squared error of the output x₀ on the known pixels */
  mseKnown: number;
  /** mean squared error of Tx₀ against Tx̄ on the known pixels: the quantity guidance minimises */
  mseKnownT: number;
}

/** Metrics of a result against the ground truth images [B,H,W,C] and the mask [B,H,W]. */
/** Per-value weights [B,H,W,C] of a mask [B,H,W]: 1 on known (hidden) pixels, for psnr(a, b, weight). */
export function maskWeights(mask: Float32Array, C: number): { known: Float32Array; hidden: Float32Array } {
  const known = new Float32Array(mask.length * C), hidden = new Float32Array(mask.length * C);
  for (let p = 0; p < mask.length; p++) for (let c = 0; c < C; c++) { known[p * C + c] = mask[p]; hidden[p * C + c] = 1 - mask[p]; }
  return { known, hidden };
}

/** PSNR of completed images against the truth, separately on the known and the hidden pixels. */
export function inpaintMetrics(result: InpaintResult, truth: ImageSet, mask: Float32Array): InpaintMetrics {
  const { known, hidden } = maskWeights(mask, truth.shape[3]);
  const pk = psnr(result.x0.images, truth.images, known);
  const pT = psnr(result.Tx0.images, result.Txbar.images, known);
  return {
    psnrKnown: pk, psnrMissing: psnr(result.completed.images, truth.images, hidden),
    mseKnown: 4 / 10 ** (pk / 10), mseKnownT: 4 / 10 ** (pT / 10),
  };
}
