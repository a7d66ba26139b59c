/**
 * `infty grid`: the Fig. 2 analogue — the same samples drawn at several resolutions (nested white noise + DDIM η = 0),
 * one row per sample, one column per resolution, each shown at the largest size by pixel replication so the grid
 * each resolution was drawn on stays visible.
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, flagsHelp, int, parseFlags, str } from "../args";
import { backendFlag, checkpointConfig, checkSampleMemory, checkSteps, LIMITS, loadModelChecked, seedFlag, startBackend } from "../inputs";
import { guardFiles } from "../guard";
import { sampleAcrossResolutions } from "../../lib/pipelines/sample";
import { writeFileAtomic } from "../../lib/runtime/checkpoint";
import { encodePNG, imageGrid, sideBySide } from "../../viz/png";

const FLAGS = {
  checkpoint: str("checkpoint file", { default: "data/checkpoints/fashion-mnist.ckpt" }),
  resolutions: str("comma-separated sides; the largest must be a multiple of each", { default: "14,28,56,112" }),
  n: int("samples (rows)", { min: 1, max: LIMITS.gridRows, default: 6 }),
  steps: int("DDIM steps (≤ the model's T)", { min: 1, max: LIMITS.steps, default: 100 }),
  seed: seedFlag(),
  out: str("PNG file", { default: "resolutions.png" }),
  force: bool("replace an existing PNG"),
  backend: backendFlag(),
  quiet: bool("no progress bar"),
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
    if (R > LIMITS.side) throw new UsageError(`--resolutions must be ≤ ${LIMITS.side}, got ${R}`);
    const file = path.resolve(f.out);
    guardFiles({ reads: [{ flag: "--checkpoint", file: f.checkpoint }], writes: [{ flag: "--out", file: f.out, force: f.force }] });
    const { cfg } = checkpointConfig(f.checkpoint);
    checkSteps(f.steps, cfg);
    await startBackend(f.backend);
    checkSampleMemory(cfg, f.n, R, R);
    const model = loadModelChecked(f.checkpoint);
    let sets;
    try {
      sets = await sampleAcrossResolutions(model.net, model.cfg, { resolutions: sides, n: f.n, steps: f.steps, seed: f.seed, progress: !f.quiet });
    } finally {
      model.net.dispose();
    }
    if (sets.some((s) => s.images.some((v) => !Number.isFinite(v)))) throw new Error("the samples are not finite (NaN/∞); no PNG written");
    const all = sideBySide(sets);
    writeFileAtomic(file, encodePNG(imageGrid(all, { cols: sides.length, pad: 2 })));
    console.error(`wrote ${file}: ${f.n} samples × resolutions ${sides.join(", ")}`);
  },
};
