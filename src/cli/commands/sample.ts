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
  backend: { kind: "string", help: "tensorflow | wasm | cpu" },
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
      const prefix = path.resolve(f.out as string);
      writeNpy(`${prefix}.npy`, out.x0.images, out.x0.shape);
      writeFileAtomic(`${prefix}.png`, encodePNG(imageGrid({ data: out.x0.images, shape: out.x0.shape })));
      console.error(`wrote ${prefix}.png and ${prefix}.npy (${f.n} samples at ${H}×${W}, ${out.seconds.toFixed(1)} s)`);
    } finally {
      model.net.dispose();
    }
  },
};
