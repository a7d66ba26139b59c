/**
 * `infty superres`: super-resolves an image (a PNG, or a dataset index at the model's resolution) by 2× or 4×
 * (∞-Diff §5, Fig. 8): DDIM encoding of the bicubic upsampling, guided deterministic decoding at the higher
 * resolution, projection onto area-consistency. Writes a PNG row: nearest input | bicubic | super-resolved.
 */
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, flagsHelp, int, num, parseFlags } from "../args";
import { startGuided, checkSampleMemory, checkSteps, INPUT_FLAGS, LIMITS, loadGuidedModel, loadInput, startBackend } from "../inputs";
import { tf } from "../../lib/runtime/backend";
import { writeFileAtomic } from "../../lib/runtime/checkpoint";
import { superResolve, resizeImages, downsampleError } from "../../lib/pipelines/superres";
import { encodePNG, imageGrid } from "../../viz/png";

const FLAGS = {
  ...INPUT_FLAGS,
  steps: int("DDIM steps over [0, t_enc] (inversion and decoding each)", { min: 1, max: LIMITS.steps, default: 25 }),
  scale: int("2 | 4", { min: 2, max: 4, default: 2, why: "2 or 4" }),
  "t-encode": int("DDIM-inversion depth t_enc (1…T−1)", { min: 1, max: 100_000, default: 300 }),
  lambda: num("guidance weight λ on the low-resolution input (0 measured best; λ_t = λ·ᾱ_t)", { min: 0, max: 1e6, default: 0 }),
  project: bool("project onto area-consistency with the input (default on; --project=false)", true),
};

export const superresCommand: Command = {
  name: "superres",
  summary: "super-resolve an image 2× or 4× with DDIM encoding + guided decoding (Fig. 8)",
  usage: `usage: infty superres (--input file.png | --index N) [--scale 2|4] [--t-encode t] [options]\n\n` +
    `The input is used at the model's resolution r (a PNG of another size is area-resized); the output is scale·r.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if (f.scale === 3) throw new UsageError("--scale must be 2 or 4, got '3'");
    const { out, cfg } = startGuided(f);
    const T = cfg.diffusion.timesteps, te = f["t-encode"];
    if (te >= T) throw new UsageError(`--t-encode must be in 1…${T - 1}, got ${te}`);
    checkSteps(f.steps, cfg, "--steps", null);
    const r = cfg.model.resolution, s = f.scale;
    await startBackend(f.backend);
    checkSampleMemory(cfg, 1, s * r, s * r);
    const m = loadGuidedModel(f.checkpoint);
    try {
      const low = loadInput(f, m.cfg, r);
      let cond: tf.Tensor2D | undefined;
      if (m.encode) { const x = tf.tensor4d(low.images, low.shape); cond = m.encode(x); x.dispose(); }
      const res = await superResolve({ ...m.model, cond }, low, { scale: s, tEncode: te, steps: f.steps, lambda: f.lambda, project: f.project });
      cond?.dispose();
      const C = m.cfg.model.channels, n = s * r * s * r * C;
      const row = new Float32Array(3 * n);
      row.set(resizeImages(low, s * r, s * r, "nearest").images, 0); row.set(res.upsampled.images, n); row.set(res.x0.images, 2 * n);
      if (res.x0.images.some((v) => !Number.isFinite(v))) throw new Error("the super-resolved image is not finite (NaN/∞); no PNG written");
      writeFileAtomic(out, encodePNG(imageGrid({ data: row, shape: [3, s * r, s * r, C] }, { cols: 3 })));
      console.error(`wrote ${out} (${r}×${r} → ${s * r}×${s * r}; max |areaDown(out) − input| = ${downsampleError(res.x0, low).toExponential(1)}; ${res.seconds.toFixed(1)} s)`);
    } finally {
      m.dispose();
    }
  },
};
