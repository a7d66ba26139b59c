/**
 * Sampler trajectories as plain arrays for a step scrubber (notebook 06): every step's state x_s, the prediction
 * of Tx₀ made on it and its Wiener estimate of x₀, for DDIM and DDPM from the same x_T (∞-Diff §3.2, App. B.2).
 * The samplers' generator twins do the stepping; this only copies each step's tensors out.
 */
import { tf } from "../../runtime/backend";
import { LabConfig } from "../../config/config";
import { InftyDiffNetwork, GridDenoiser } from "../../nn/network";
import { prepareSampling, priorOf } from "../sampling";
import { Denoiser, SAMPLER_NAMES, SamplerName, SamplerOptions, samplerEntry } from "../../diffusion/samplers";
import { Rng } from "../../runtime/rng";

/** A sampler whose steps a trajectory records. */
export type TrajectorySampler = SamplerName;

/** One sampler run step by step: states x_s, predictions of Tx₀ and Wiener estimates of x₀. */
export interface Trajectory {
  sampler: TrajectorySampler;
  /** per step: the step goes from original timestep t to s (s = −1: the clean Tx₀) */
  t: number[];
  s: number[];
  /** per step, row-major [B·H·W·C]: the new state, the predicted Tx₀, Wiener(predicted Tx₀) */
  x: Float32Array[];
  Tx0: Float32Array[];
  x0: Float32Array[];
  /** [B, H, W, C] */
  shape: [number, number, number, number];
}

/** Walks one sampler from xT [B,H,W,C] (not disposed) and copies every step out. */
export async function recordTrajectory(
  sampler: TrajectorySampler,
  denoise: Denoiser,
  xT: tf.Tensor4D,
  timesteps: readonly number[],
  opts: SamplerOptions & { eta?: number },
): Promise<Trajectory> {
  const out: Trajectory = { sampler, t: [], s: [], x: [], Tx0: [], x0: [], shape: xT.shape };
  const steps = samplerEntry(sampler).steps(denoise, xT, timesteps, opts);
  for await (const step of steps) {
    out.t.push(step.t);
    out.s.push(step.s);
    out.x.push((await step.x.data()) as Float32Array);
    out.Tx0.push((await step.Tx0.data()) as Float32Array);
    const w = opts.mollifier.wiener(step.Tx0, opts.invSnr);
    out.x0.push((await w.data()) as Float32Array);
    w.dispose();
    if (opts.onStep) await opts.onStep(step);
  }
  return out;
}

/**
 * DDIM (η = 0) and DDPM trajectories of a trained network at resolution r, both from one prior draw x_T (seeded),
 * with the settings `sampleModel` uses (the config's parameterisation and Wiener SNR, clipped Tx₀).
 */
export async function samplerTrajectories(
  net: InftyDiffNetwork,
  cfg: LabConfig,
  opts: { resolution: number; n: number; steps: number; seed?: number; samplers?: TrajectorySampler[] },
): Promise<Trajectory[]> {
  // the sampling pipeline's prepare and prior (sampling.ts), the config's step grid; only the stepping is recorded here
  const run = prepareSampling(cfg);
  const grid = run.grid(opts.resolution);
  const timesteps = grid.ddimTimesteps(opts.steps);
  const denoiser = new GridDenoiser(net);
  const xT = priorOf(run, grid, opts.n, new Rng(opts.seed ?? 0));
  const out: Trajectory[] = [];
  try {
    for (const sampler of opts.samplers ?? SAMPLER_NAMES) {
      out.push(await recordTrajectory(sampler, denoiser.denoise, xT, timesteps, { ...run.options(grid, new Rng((opts.seed ?? 0) + 1)), eta: 0 }));
    }
  } finally {
    xT.dispose();
    denoiser.dispose();
    run.dispose();
  }
  return out;
}
