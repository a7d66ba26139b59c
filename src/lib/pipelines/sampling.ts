/**
 * The one sampling pipeline that unconditional sampling (sample.ts), inpainting (inpaint.ts), super-resolution
 * (superres.ts) and the autoencoder's decoder (autoencoder/) run:
 *
 *   prepare  the config's schedule and mollifier (grid.ts), the grid value of each output grid (`run.grid`: noise
 *            multiplier, DDIM step grid, kernel sizes) and the sampler options every call shares;
 *   prior    x_T = T(c·ξ) on the output grid (Eq. 11 at t = T; c = √(H·W)/r₀), or a given ξ, or the caller's own start
 *            (inpainting's q(x_{t_s}|x̄), super-resolution's DDIM encoding);
 *   sampler  DDIM (η) or DDPM over a Denoiser: guidance (guidance.ts) and conditioning (GridDenoiser's cond) are
 *            wrappers of the denoiser, never branches in here;
 *   clip     x₀ = Wiener(Tx₀) to the data range [−1, 1] where the caller keeps it;
 *   batch    n images, `batch` at a time, into one [n,H,W,C] Float32Array.
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import type { LabConfig } from "../config/config";
import { DiffusionProcess, Grid, GridSize, diffusionProcess, gridOf } from "../config/grid";
import { priorSample } from "../diffusion/forward";
import { Denoiser, DdimOptions, SampleResult, SamplerName, sample } from "../diffusion/samplers";


/** A prepared run: the process, and the sampler options of the config (parameterisation, Wiener SNR, Tx₀ clip). */
export interface SamplingRun extends DiffusionProcess {
  readonly cfg: LabConfig;
  /** the grid value of the config on an output grid (config/grid.ts) */
  grid(size: GridSize): Grid;
  /** options for ddim / ddpm / ddimInvert on `grid` (its noise multiplier); `rng` where the sampler draws noise */
  options(grid: Grid, rng?: Rng): Omit<DdimOptions, "eta">;
  /** frees the mollifier's per-grid tensors */
  dispose(): void;
}

/** prepare: the schedule, the mollifier and the shared sampler options of `cfg`. */
export function prepareSampling(cfg: LabConfig): SamplingRun {
  const process = diffusionProcess(cfg);
  return {
    cfg,
    ...process,
    grid: (size) => gridOf(cfg, size),
    options: (grid, rng) => ({
      schedule: process.schedule, mollifier: process.mollifier, rng, noiseMultiplier: grid.noiseMultiplier,
      parameterisation: cfg.diffusion.parameterisation, invSnr: cfg.diffusion.wienerInvSnr, clipTx0: cfg.diffusion.clipTx0,
    }),
    dispose: () => process.mollifier.dispose(),
  };
}

/**
 * prior: x_T = T(c·ξ) [B,H,W,C] on `grid` (c its noise multiplier) with ξ drawn from `rng`, or read from `noise`
 * (unit-variance white noise, B·H·W·C values) when given.
 */
export function priorOf(run: SamplingRun, grid: Grid, B: number, rng: Rng, noise?: Float32Array): tf.Tensor4D {
  const { mollifier } = run;
  const shape: [number, number, number, number] = [B, grid.H, grid.W, run.cfg.model.channels];
  if (!noise) return priorSample(shape, rng, mollifier, grid.noiseMultiplier);
  return tf.tidy(() => mollifier.apply(tf.mul(tf.tensor4d(noise, shape), grid.noiseMultiplier) as tf.Tensor4D));
}

/**
 * White noise at resolution r that is the area average of one fine field at resolution R (R divisible by r), rescaled
 * to unit variance: ξ_r = (R/r)·avg(ξ_R). Every r then discretises the same continuous white-noise draw, so DDIM
 * samples at 14, 28, 56, 112 show the same function (the Fig. 2 analogue). fine [n,R,R,C] → [n,r,r,C].
 */
export function nestedWhiteNoise(fine: Float32Array, n: number, R: number, C: number, r: number): Float32Array {
  if (R % r !== 0) throw new Error(`nestedWhiteNoise: ${R} is not a multiple of ${r}`);
  const f = R / r;
  const out = new Float32Array(n * r * r * C);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let u = 0; u < f; u++)
            for (let v = 0; v < f; v++) acc += fine[((b * R + i * f + u) * R + j * f + v) * C + c];
          out[((b * r + i) * r + j) * C + c] = acc / f; // sum/f² · f = sum/f
        }
  return out;
}

/** sampler: a registered sampler (diffusion/samplers.ts `SAMPLERS`) from x_T over `timesteps` (descending, original T). */
export const runSampler: (kind: SamplerName, denoise: Denoiser, xT: tf.Tensor4D, timesteps: readonly number[], opts: DdimOptions) => Promise<SampleResult> = sample;

/** clip: x₀ to the data range [−1, 1], in place (the Wiener filter's high-frequency gain can ring past it). */
export function clipToDataRange(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i]));
  return x;
}

/**
 * batch: runs `draw(start, b)` for consecutive batches of at most `batch` of `n` images; each call returns its [b,…]
 * blocks (x₀, and Tx₀ where kept), each `perImage` values an image, which land in [n,…] arrays in order — or, with
 * `sink`, are handed to it batch by batch and not kept (a caller that streams them to disk, as `infty sample` does).
 */
export async function inBatches(
  n: number, batch: number, perImage: number, draw: (start: number, b: number) => Promise<Float32Array[]>,
  sink?: (start: number, parts: Float32Array[]) => void,
): Promise<Float32Array[]> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch size must be a positive integer, got ${batch}`);
  const out: Float32Array[] = [];
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const parts = await draw(start, b);
    parts.forEach((part, i) => {
      if (part.length !== b * perImage) throw new Error(`a batch of ${b} returned ${part.length} values, expected ${b * perImage}`);
      if (!sink) (out[i] ??= new Float32Array(n * perImage)).set(part, start * perImage);
    });
    sink?.(start, parts);
  }
  return out;
}
