/**
 * `infty grid`: the Fig. 2 analogue — the same samples drawn at several resolutions (nested white noise + DDIM η = 0),
 * one row per sample, one column per resolution, each shown at the largest size by pixel replication so the grid
 * each resolution was drawn on stays visible.
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { initBackend } from "../../lib/backend";
import { loadModel, sampleAcrossResolutions } from "../../lib/sample";
import { writeFileAtomic } from "../../lib/checkpoint";
import { encodePNG, imageGrid, sideBySide } from "../../viz/png";

const posInt = (v: number) => (v >= 1 ? null : "must be a positive integer");
const FLAGS: FlagSpecs = {
  checkpoint: { kind: "string", help: "checkpoint file", default: "data/checkpoints/fashion-mnist.ckpt" },
  resolutions: { kind: "string", help: "comma-separated sides; the largest must be a multiple of each", default: "14,28,56,112" },
  n: { kind: "int", help: "samples (rows)", default: 6, check: posInt as never },
  steps: { kind: "int", help: "DDIM steps", default: 100, check: posInt as never },
  seed: { kind: "int", help: "seed", default: 0 },
  out: { kind: "string", help: "PNG file", default: "resolutions.png" },
  backend: { kind: "string", help: "tensorflow | webgpu | wasm | cpu" },
  quiet: { kind: "boolean", help: "no progress bar" },
};

export const gridCommand: Command = {
  name: "grid",
  summary: "the same samples at several resolutions (Fig. 2 analogue) as one PNG",
  usage: `usage: infty grid [--checkpoint file] [--resolutions 14,28,56,112] [--n 6] [--out file.png]\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const res = String(f.resolutions).split(",").map((s) => s.trim());
    if (!res.every((s) => /^\d+$/.test(s) && Number(s) >= 1)) throw new UsageError(`--resolutions must be positive integers, got '${f.resolutions}'`);
    const sides = res.map(Number);
    const R = Math.max(...sides);
    if (!sides.every((r) => R % r === 0)) throw new UsageError(`--resolutions: ${R} must be a multiple of every resolution`);
    await initBackend(f.backend as string | undefined);
    let model;
    try {
      model = loadModel(f.checkpoint as string);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    let sets;
    try {
      sets = await sampleAcrossResolutions(model.net, model.cfg, { resolutions: sides, n: f.n as number, steps: f.steps as number, seed: f.seed as number, progress: !f.quiet });
    } finally {
      model.net.dispose();
    }
    const all = sideBySide(sets);
    const file = path.resolve(f.out as string);
    writeFileAtomic(file, encodePNG(imageGrid(all, { cols: sides.length, pad: 2 })));
    console.error(`wrote ${file}: ${f.n} samples × resolutions ${sides.join(", ")}`);
  },
};
