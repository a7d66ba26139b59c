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
import { loadModel, sampleModel, nestedWhiteNoise } from "../../lib/sample";
import { Rng } from "../../lib/rng";
import { writeFileAtomic } from "../../lib/checkpoint";
import { encodePNG, imageGrid } from "../../viz/png";

const posInt = (v: number) => (v >= 1 ? null : "must be a positive integer");
const FLAGS: FlagSpecs = {
  checkpoint: { kind: "string", help: "checkpoint file", default: "data/checkpoints/fashion-mnist.ckpt" },
  resolutions: { kind: "string", help: "comma-separated sides; the largest must be a multiple of each", default: "14,28,56,112" },
  n: { kind: "int", help: "samples (rows)", default: 6, check: posInt as never },
  steps: { kind: "int", help: "DDIM steps", default: 100, check: posInt as never },
  seed: { kind: "int", help: "seed", default: 0 },
  out: { kind: "string", help: "PNG file", default: "resolutions.png" },
  backend: { kind: "string", help: "tensorflow | wasm | cpu" },
  quiet: { kind: "boolean", help: "no progress bar" },
};

/** Pixel replication of [n,r,r,C] to [n,R,R,C] (R a multiple of r). */
function replicate(x: Float32Array, n: number, r: number, R: number, C: number): Float32Array {
  const f = R / r, out = new Float32Array(n * R * R * C);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < R; i++)
      for (let j = 0; j < R; j++)
        for (let c = 0; c < C; c++) out[((b * R + i) * R + j) * C + c] = x[((b * r + Math.floor(i / f)) * r + Math.floor(j / f)) * C + c];
  return out;
}

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
    const n = f.n as number, C = model.cfg.model.channels;
    const fine = new Rng(f.seed as number).normals(n * R * R * C);
    const columns: Float32Array[] = [];
    try {
      for (const r of sides) {
        const out = await sampleModel(model.net, model.cfg, {
          resolution: r, n, batchSize: n, steps: f.steps as number, initialNoise: nestedWhiteNoise(fine, n, R, C, r), progress: !f.quiet,
        });
        columns.push(replicate(out.x0.images, n, r, R, C));
      }
    } finally {
      model.net.dispose();
    }
    // interleave: row b holds sample b at every resolution
    const per = R * R * C, all = new Float32Array(n * sides.length * per);
    for (let b = 0; b < n; b++) sides.forEach((_, k) => all.set(columns[k].subarray(b * per, (b + 1) * per), (b * sides.length + k) * per));
    const file = path.resolve(f.out as string);
    writeFileAtomic(file, encodePNG(imageGrid({ data: all, shape: [n * sides.length, R, R, C] }, { cols: sides.length, pad: 2 })));
    console.error(`wrote ${file}: ${n} samples × resolutions ${sides.join(", ")}`);
  },
};
