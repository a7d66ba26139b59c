/**
 * `infty sample`: draws samples from a checkpoint at any resolution; writes a PNG grid and the raw array (.npy).
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { initBackend } from "../../lib/backend";
import { loadModel, sampleModel } from "../../lib/sample";
import { writeNpy } from "../../lib/npy";
import { writeFileAtomic } from "../../lib/checkpoint";
import { loadCheckpoint } from "../../lib/checkpoint";
import { loadAutoencoder, sampleAutoencoder } from "../../lib/autoencoder";
import { Progress } from "../../lib/progress";
import { encodePNG, imageGrid } from "../../viz/png";

const posInt = (v: number) => (v >= 1 ? null : "must be a positive integer");
const FLAGS: FlagSpecs = {
  checkpoint: { kind: "string", help: "checkpoint file", default: "data/checkpoints/fashion-mnist.ckpt" },
  resolution: { kind: "string", help: "output side r, or HxW (e.g. 56 or 28x56)", default: "28" },
  n: { kind: "int", help: "number of samples", default: 16, check: posInt as never },
  batch: { kind: "int", help: "samples per batch", default: 16, check: posInt as never },
  steps: { kind: "int", help: "sampler steps", default: 100, check: posInt as never },
  sampler: { kind: "string", help: "ddim | ddpm", default: "ddim", check: ((v: string) => (v === "ddim" || v === "ddpm" ? null : "must be ddim or ddpm")) as never },
  eta: { kind: "number", help: "DDIM η (0 = deterministic)", default: 0, check: ((v: number) => (v >= 0 ? null : "must be ≥ 0")) as never },
  seed: { kind: "int", help: "seed", default: 0 },
  out: { kind: "string", help: "output prefix: writes <out>.png and <out>.npy", default: "samples" },
  raw: { kind: "boolean", help: "use the raw (non-EMA) weights" },
  backend: { kind: "string", help: "tensorflow | webgpu | wasm | cpu" },
  workers: {
    kind: "int", default: 1, help: "worker threads splitting each batch (same samples up to float order; 2 on an idle 2-core CPU)",
    check: ((v: number) => (v >= 1 && v <= 64 ? null : "must be in 1..64")) as never,
  },
  quiet: { kind: "boolean", help: "no progress bar" },
};

/** "56" → [56, 56]; "28x56" → [28, 56]; anything else is a usage error. */
export function parseResolution(s: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/.exec(s);
  if (!m) throw new UsageError(`--resolution must be a positive integer r or HxW, got '${s}'`);
  const h = Number(m[1]), w = m[2] !== undefined ? Number(m[2]) : h;
  if (h < 1 || w < 1) throw new UsageError(`--resolution must be ≥ 1, got '${s}'`);
  if (h > 4096 || w > 4096) throw new UsageError(`--resolution must be ≤ 4096, got '${s}'`);
  return [h, w];
}

export const sampleCommand: Command = {
  name: "sample",
  summary: "sample a checkpoint at any resolution (PNG grid + .npy)",
  usage: `usage: infty sample [--checkpoint file] [--resolution r|HxW] [--n N] [options]\n\n` +
    `Samples with the EMA weights on the full H×W grid: kernels resampled, mollifier and noise scaled by r/r₀.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const [H, W] = parseResolution(f.resolution as string);
    await initBackend(f.backend as string | undefined);
    const prefix = path.resolve(f.out as string);
    let kind: unknown;
    try {
      kind = loadCheckpoint(f.checkpoint as string).meta.kind;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (kind === "infty-diff-autoencoder") {
      // z from the latent diffusion model, then the z-conditioned decoder at H×W (DDIM; no EMA in this checkpoint)
      if (f.sampler !== "ddim" || f.eta !== 0 || f.raw || (f.workers as number) > 1) throw new UsageError("an autoencoder checkpoint samples with DDIM η = 0 only (no --sampler/--eta/--raw/--workers)");
      const ae = loadAutoencoder(f.checkpoint as string);
      const t0 = Date.now();
      const bar = new Progress({ label: `sample-ae ${H}×${W}`, total: f.n as number, unit: "img", enabled: !f.quiet });
      let ticked = 0;
      try {
        const x = await sampleAutoencoder(ae.model, { n: f.n as number, resolution: [H, W], steps: f.steps as number, seed: f.seed as number, batchSize: f.batch as number, onBatch: (d) => { bar.tick(d - ticked); ticked = d; } });
        bar.finish();
        const data = (await x.data()) as Float32Array;
        const shape = x.shape as [number, number, number, number];
        x.dispose();
        for (let i = 0; i < data.length; i++) data[i] = Math.max(-1, Math.min(1, data[i]));
        writeNpy(`${prefix}.npy`, data, shape);
        writeFileAtomic(`${prefix}.png`, encodePNG(imageGrid({ data, shape })));
        console.error(`wrote ${prefix}.png and ${prefix}.npy (${f.n} autoencoder samples at ${H}×${W}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } finally {
        ae.model.dispose();
      }
      return;
    }
    let model;
    try {
      model = loadModel(f.checkpoint as string, { ema: !f.raw });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    try {
      const out = await sampleModel(model.net, model.cfg, {
        resolution: [H, W], n: f.n as number, batchSize: f.batch as number, steps: f.steps as number,
        sampler: f.sampler as "ddim" | "ddpm", eta: f.eta as number, seed: f.seed as number, progress: !f.quiet,
        workers: f.workers as number,
      });
      writeNpy(`${prefix}.npy`, out.x0.images, out.x0.shape);
      writeFileAtomic(`${prefix}.png`, encodePNG(imageGrid({ data: out.x0.images, shape: out.x0.shape })));
      console.error(`wrote ${prefix}.png and ${prefix}.npy (${f.n} samples at ${H}×${W}, ${out.seconds.toFixed(1)} s)`);
    } finally {
      model.net.dispose();
    }
  },
};
