/** Unconditional autoencoder samples through the one sampling pipeline: z from the latent model, decoded at any grid. */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { clipToDataRange, inBatches, prepareSampling, priorOf, runSampler } from "../sampling";
import { ConditionedGridDenoiser } from "../guidance";
import { DiffusionAutoencoder } from "./model";

/**
 * Unconditional samples: z from the latent model, decoded by DDIM at any resolution (r or [H, W]), `batchSize` at a
 * time. images [n,H,W,C].
 */
export async function sampleAutoencoder(model: DiffusionAutoencoder, opts: { n: number; resolution: number | [number, number]; steps?: number; seed?: number; batchSize?: number; onBatch?: (done: number) => void }): Promise<tf.Tensor4D> {
  const { cfg } = model;
  const run = prepareSampling(cfg);
  const rng = new Rng(opts.seed ?? 0);
  const g = run.grid(opts.resolution), { H, W } = g;
  const C = cfg.model.channels, steps = opts.steps ?? 50;
  try {
    const [x0] = await inBatches(opts.n, opts.batchSize ?? opts.n, H * W * C, async (start, b) => {
      const z = await model.latent.sample(b, run.schedule, rng, steps);
      const cond = model.condition(z);
      z.dispose();
      const grid = new ConditionedGridDenoiser(model.net, cond);
      const xT = priorOf(run, g, b, rng);
      try {
        const res = await runSampler("ddim", grid.denoise, xT, g.ddimTimesteps(steps), run.options(g));
        const x0b = await res.x0.data() as Float32Array;
        tf.dispose([res.x0, res.Tx0]);
        opts.onBatch?.(start + b);
        // x₀ = Wiener(Tx₀) to the data range, as sampleModel does by default
        return [clipToDataRange(x0b)];
      } finally {
        tf.dispose([xT, cond]);
        grid.dispose();
      }
    });
    return tf.tensor4d(x0, [opts.n, H, W, C]);
  } finally {
    run.dispose();
  }
}
