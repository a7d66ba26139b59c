/**
 * `infty superres`: super-resolves an image (a PNG, or a dataset index at the model's resolution) by 2× or 4×
 * (∞-Diff §5, Fig. 8): DDIM encoding of the bicubic upsampling, guided deterministic decoding at the higher
 * resolution, projection onto area-consistency. Writes a PNG row: nearest input | bicubic | super-resolved.
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { initBackend, tf } from "../../lib/backend";
import { writeFileAtomic } from "../../lib/checkpoint";
import { superResolve, resizeImages, downsampleError } from "../../lib/superres";
import { encodePNG, imageGrid } from "../../viz/png";
import { INPUT_FLAGS, loadGuidedModel, loadInput } from "./inpaint";

const FLAGS: FlagSpecs = {
  ...INPUT_FLAGS,
  steps: { kind: "int", help: "DDIM steps over [0, t_enc] (inversion and decoding each)", default: 25, check: ((v: number) => (v >= 1 ? null : "must be ≥ 1")) as never },
  scale: { kind: "int", help: "2 | 4", default: 2, check: ((v: number) => (v === 2 || v === 4 ? null : "must be 2 or 4")) as never },
  "t-encode": { kind: "int", help: "DDIM-inversion depth t_enc", default: 300 },
  lambda: { kind: "number", help: "guidance weight λ on the low-resolution input (0 measured best; λ_t = λ·ᾱ_t)", default: 0, check: ((v: number) => (v >= 0 ? null : "must be ≥ 0")) as never },
  project: { kind: "boolean", help: "project onto area-consistency with the input (default on; --project=false)", default: true },
};

export const superresCommand: Command = {
  name: "superres",
  summary: "super-resolve an image 2× or 4× with DDIM encoding + guided decoding (Fig. 8)",
  usage: `usage: infty superres (--input file.png | --index N) [--scale 2|4] [--t-encode t] [options]\n\n` +
    `The input is used at the model's resolution r (a PNG of another size is area-resized); the output is scale·r.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if ((f.input === undefined) === (f.index === undefined)) throw new UsageError("give exactly one of --input file.png or --index N");
    await initBackend(f.backend as string | undefined);
    const m = loadGuidedModel(f.checkpoint as string);
    try {
      const T = m.cfg.diffusion.timesteps, te = f["t-encode"] as number;
      if (!(te >= 1 && te < T)) throw new UsageError(`--t-encode must be in 1…${T - 1}, got ${te}`);
      const r = m.cfg.model.resolution, s = f.scale as number;
      const low = loadInput(f, m.cfg, r);
      let cond: tf.Tensor2D | undefined;
      if (m.encode) { const x = tf.tensor4d(low.images, low.shape); cond = m.encode(x); x.dispose(); }
      const res = await superResolve({ ...m.model, cond }, low, { scale: s, tEncode: te, steps: f.steps as number, lambda: f.lambda as number, project: f.project as boolean });
      cond?.dispose();
      const C = m.cfg.model.channels, n = s * r * s * r * C;
      const row = new Float32Array(3 * n);
      row.set(resizeImages(low, s * r, s * r, "nearest").images, 0); row.set(res.upsampled.images, n); row.set(res.x0.images, 2 * n);
      const out = path.resolve(f.out as string);
      writeFileAtomic(out, encodePNG(imageGrid({ data: row, shape: [3, s * r, s * r, C] }, { cols: 3 })));
      console.error(`wrote ${out} (${r}×${r} → ${s * r}×${s * r}; max |areaDown(out) − input| = ${downsampleError(res.x0, low).toExponential(1)}; ${res.seconds.toFixed(1)} s)`);
    } finally {
      m.dispose();
    }
  },
};
