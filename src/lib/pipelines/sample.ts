/**
 * Sampling a trained ∞-Diff model at any resolution (§5 "Discretisation Invariance", Fig. 2): the full H×W grid,
 * kernels resampled to cover the same extent, the mollifier's std scaled per axis and every white-noise draw
 * multiplied by √(H·W)/r₀ (grid.ts). DDIM (default, deterministic with η = 0) or DDPM, in batches, with progress,
 * through the one sampling pipeline (sampling.ts).
 */
import { tf, currentBackend } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { DdimGrid, LabConfig } from "../config/config";
import { InftyDiffNetwork, GridDenoiser } from "../nn/network";
import { gridShape, withDdimGrid } from "../config/grid";
import type { SamplerName } from "../diffusion/samplers";
import { clipToDataRange, inBatches, nestedWhiteNoise, prepareSampling, priorOf, runSampler } from "./sampling";
import { loadCheckpoint } from "../runtime/checkpoint";
import { ImageSet } from "../data/image-ops";
import { Progress } from "../runtime/progress";
import { GradWorkerPool } from "./parallel";
import { LoadedModel, ModelOptions, modelFromCheckpoint } from "./model";

export type { LoadedModel } from "./model";

/**
 * Loads a checkpoint's EMA weights (default) or raw weights into a fresh network; `kernelResampling` overrides how
 * kernels are resampled at other resolutions (a sampling-time choice: the weights are the same).
 */
export function loadModel(file: string, opts: ModelOptions = {}): LoadedModel {
  return modelFromCheckpoint(loadCheckpoint(file), file, opts);
}

/** What to sample: grid, count, batch, sampler and its steps and grid, seed or given noise, progress. */
export interface SampleOptions {
  /** output grid: r for r×r, or [H, W] */
  resolution: number | [number, number];
  n: number;
  batchSize?: number;
  /** number of sampler steps (default 100, as the paper's DDIM) */
  steps?: number;
  /** step grid (default the config's diffusion.ddimGrid) */
  ddimGrid?: DdimGrid;
  sampler?: SamplerName;
  /** DDIM η (0 = deterministic) */
  eta?: number;
  seed?: number;
  progress?: boolean;
  /** also return the mollified samples Tx₀ */
  keepTx0?: boolean;
  /**
   * Clip x₀ = Wiener(Tx₀) to the data range [−1, 1] (default true): the Wiener filter's high-frequency gain can ring
   * past the range; images, PNGs and feature nets all expect it.
   */
  clipX0?: boolean;
  /**
   * White noise ξ [n,H,W,C] (unit variance) for the initial state x_T = T(c·ξ), instead of drawing it; with DDIM η = 0
   * nothing else is random, so nested noise (see `nestedWhiteNoise`) gives the same sample at every resolution.
   */
  initialNoise?: Float32Array;
  /**
   * Conditioning [n, d] passed to the network with each sample (the forward's `cond`): z for a z-conditioned decoder
   * of the authors' (their encoder's output, `AuthorsEncoder`). Not with workers.
   */
  cond?: { values: Float32Array; dim: number };
  /**
   * Worker threads that split each sampler batch (each its own backend instance; parallel.ts). Same samples up to
   * float32 summation order; default 1 (this thread).
   */
  workers?: number;
}

export { nestedWhiteNoise } from "./sampling";

/** Samples x₀ [n, H, W, C] in [−1, 1] (and Tx̂₀ on request), with the time taken. */
export interface SampleOutput {
  /** Wiener-filtered x₀ samples, NHWC in ≈[−1, 1] */
  x0: ImageSet;
  /** mollified samples Tx₀ (when keepTx0) */
  Tx0?: ImageSet;
  seconds: number;
}

/** Draws `n` samples at the requested resolution. */
export async function sampleModel(net: InftyDiffNetwork, cfg: LabConfig, opts: SampleOptions): Promise<SampleOutput> {
  const [H, W] = gridShape(opts.resolution);
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`n must be a positive integer, got ${opts.n}`);
  const C = cfg.model.channels;
  if (opts.initialNoise && opts.initialNoise.length !== opts.n * H * W * C) {
    throw new Error(`initialNoise has ${opts.initialNoise.length} values, expected ${opts.n}×${H}×${W}×${C}`);
  }
  const bs = Math.min(opts.batchSize ?? 16, opts.n);
  const steps = opts.steps ?? 100;
  const run = prepareSampling(withDdimGrid(cfg, opts.ddimGrid));
  const grid = run.grid([H, W]);
  const timesteps = grid.ddimTimesteps(steps);
  const denoiser = new GridDenoiser(net);
  const workers = Math.min(opts.workers ?? 1, bs);
  const cond = opts.cond;
  if (cond && (cond.values.length !== opts.n * cond.dim || workers > 1)) throw new Error(`cond must be [${opts.n}, ${cond.dim}] and sampled on one worker`);
  const pool = workers > 1 ? new GradWorkerPool(cfg.model, workers, net.params, currentBackend()?.name ?? tf.getBackend()) : null;
  const denoise = pool ? pool.denoiser(net.params) : denoiser.denoise;
  const rng = new Rng(opts.seed ?? 0);
  const per = H * W * C;
  const bar = new Progress({ label: `sample ${H}×${W}`, total: Math.ceil(opts.n / bs) * steps, unit: "step", enabled: opts.progress !== false });
  const t0 = Date.now();
  let x0: Float32Array, Tx0: Float32Array | undefined;
  try {
    [x0, Tx0] = await inBatches(opts.n, bs, per, async (start, b) => {
      const xT = priorOf(run, grid, b, rng, opts.initialNoise?.subarray(start * per, (start + b) * per));
      // conditioned: a denoiser per batch holding that batch's rows of cond
      const zb = cond ? tf.tensor2d(cond.values.subarray(start * cond.dim, (start + b) * cond.dim), [b, cond.dim]) : null;
      const cd = zb ? new GridDenoiser(net, zb) : null;
      let res;
      try {
        res = await runSampler(opts.sampler ?? "ddim", cd ? cd.denoise : denoise, xT, timesteps, { ...run.options(grid, rng), eta: opts.eta, onStep: () => bar.tick(1) });
      } finally {
        cd?.dispose();
        zb?.dispose();
      }
      const x0b = await res.x0.data() as Float32Array;
      const Tx0b = opts.keepTx0 ? await res.Tx0.data() as Float32Array : null;
      tf.dispose([xT, res.x0, res.Tx0]);
      if (opts.clipX0 !== false) clipToDataRange(x0b);
      return Tx0b ? [x0b, Tx0b] : [x0b];
    });
  } finally {
    if (pool) await pool.dispose();
    denoiser.dispose();
    run.dispose();
  }
  bar.finish();
  const shape: [number, number, number, number] = [opts.n, H, W, C];
  return { x0: { images: x0, shape }, Tx0: Tx0 ? { images: Tx0, shape } : undefined, seconds: (Date.now() - t0) / 1000 };
}

/**
 * The same samples at several resolutions (Fig. 2 analogue): one fine white-noise draw at the largest resolution R,
 * area-averaged to each r (`nestedWhiteNoise`), then deterministic DDIM (η = 0). Returns x₀ per resolution, in order.
 */
export async function sampleAcrossResolutions(
  net: InftyDiffNetwork,
  cfg: LabConfig,
  opts: { resolutions: number[]; n: number; steps?: number; seed?: number; progress?: boolean },
): Promise<ImageSet[]> {
  const R = Math.max(...opts.resolutions);
  for (const r of opts.resolutions) {
    if (!Number.isInteger(r) || r < 1 || R % r !== 0) throw new Error(`resolution ${r}: every resolution must divide the largest (${R})`);
  }
  const C = cfg.model.channels;
  const fine = new Rng(opts.seed ?? 0).normals(opts.n * R * R * C);
  const out: ImageSet[] = [];
  for (const r of opts.resolutions) {
    const res = await sampleModel(net, cfg, {
      resolution: r, n: opts.n, batchSize: opts.n, steps: opts.steps, progress: opts.progress,
      initialNoise: nestedWhiteNoise(fine, opts.n, R, C, r),
    });
    out.push(res.x0);
  }
  return out;
}
