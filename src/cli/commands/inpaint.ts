/**
 * `infty inpaint`: fills a masked region of an image (a PNG, or a dataset index) with reconstruction guidance
 * (∞-Diff §5, Fig. 9). Writes a PNG row: masked input | completion | input.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, Parsed, parseFlags } from "../args";
import { initBackend, tf } from "../../lib/backend";
import { Rng } from "../../lib/rng";
import { writeFileAtomic } from "../../lib/checkpoint";
import { LabConfig } from "../../lib/config";
import { ImageSet, areaResize } from "../../lib/data/image-ops";
import { loadFashionMnist } from "../../lib/data/fashion-mnist";
import { proceduralImages } from "../../lib/data/procedural";
import { MASK_KINDS, MaskKind, fillUnknown, inpaint, inpaintMetrics, makeMask } from "../../lib/inpaint";
import { loadGuidedModel as loadGuided } from "../../lib/autoencoder";
import { decodePNG, encodePNG, imageGrid } from "../../viz/png";

/** Flags every image command shares: the checkpoint, where the input comes from, the output. */
export const INPUT_FLAGS: FlagSpecs = {
  checkpoint: { kind: "string", help: "checkpoint (unconditional, or an autoencoder.ckpt: then z of the input conditions it)", default: "data/checkpoints/fashion-mnist.ckpt" },
  input: { kind: "string", help: "input PNG (converted to the model's channels, values to [−1, 1])" },
  index: { kind: "int", help: "use image #index of the dataset instead (fashion-mnist test split, or procedural)", check: ((v: number) => (v >= 0 ? null : "must be ≥ 0")) as never },
  dataset: { kind: "string", help: "fashion-mnist | procedural (with --index)", default: "fashion-mnist", check: ((v: string) => (v === "fashion-mnist" || v === "procedural" ? null : "must be fashion-mnist or procedural")) as never },
  steps: { kind: "int", help: "sampler steps", default: 50, check: ((v: number) => (v >= 1 ? null : "must be ≥ 1")) as never },
  lambda: { kind: "number", help: "guidance weight λ (λ_t = λ·ᾱ_t; 0 = unguided)", default: 0.5, check: ((v: number) => (v >= 0 ? null : "must be ≥ 0")) as never },
  seed: { kind: "int", help: "seed", default: 0 },
  out: { kind: "string", help: "output PNG", default: "out.png" },
  backend: { kind: "string", help: "tensorflow | webgpu | wasm | cpu" },
};

/** The model of --checkpoint (unconditional or autoencoder), or a usage error. */
export function loadGuidedModel(file: string): ReturnType<typeof loadGuided> {
  if (!fs.existsSync(file)) throw new UsageError(`checkpoint ${file} does not exist`);
  try {
    return loadGuided(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The input image [1, r, r, C] at `resolution`: a PNG (area-resized when its size differs) or a dataset index. */
export function loadInput(f: Parsed, cfg: LabConfig, resolution: number): ImageSet {
  const C = cfg.model.channels;
  if ((f.input === undefined) === (f.index === undefined)) throw new UsageError("give exactly one of --input file.png or --index N");
  if (f.input !== undefined) {
    const file = f.input as string;
    if (!fs.existsSync(file)) throw new UsageError(`input ${file} does not exist`);
    let png;
    try {
      png = decodePNG(fs.readFileSync(file));
    } catch {
      throw new UsageError(`input ${file} is not a PNG`);
    }
    const { width: w, height: h, rgba } = png;
    const img = new Float32Array(h * w * C);
    for (let p = 0; p < h * w; p++) {
      if (C === 1) img[p] = ((rgba[4 * p] + rgba[4 * p + 1] + rgba[4 * p + 2]) / 3 / 255) * 2 - 1;
      else for (let c = 0; c < C; c++) img[p * C + c] = (rgba[4 * p + c] / 255) * 2 - 1;
    }
    const set: ImageSet = { images: img, shape: [1, h, w, C] };
    return h === resolution && w === resolution ? set : areaResize(set, resolution, resolution);
  }
  const i = f.index as number;
  if (f.dataset === "procedural") {
    const all = proceduralImages({ n: i + 1, height: resolution, rng: new Rng(1234), channels: C });
    return { images: all.images.slice(i * resolution * resolution * C), shape: [1, resolution, resolution, C] };
  }
  if (C !== 1) throw new UsageError("fashion-mnist has 1 channel; this model has " + C);
  if (i >= 10000) throw new UsageError(`--index must be < 10000 for the fashion-mnist test split, got ${i}`);
  const set = loadFashionMnist({ split: "test", offset: i, limit: 1 });
  return resolution === 28 ? set : areaResize(set, resolution, resolution);
}

const FLAGS: FlagSpecs = {
  ...INPUT_FLAGS,
  mask: { kind: "string", help: MASK_KINDS.join(" | "), default: "centre", check: ((v: string) => (MASK_KINDS.includes(v as MaskKind) ? null : `must be one of ${MASK_KINDS.join(", ")}`)) as never },
  ts: { kind: "int", help: "start from the input noised to t_s (0…T−1); default: from pure noise" },
  resolution: { kind: "int", help: "work at this resolution (default: the model's)", check: ((v: number) => (v >= 2 && v <= 1024 ? null : "must be in 2…1024")) as never },
};

export const inpaintCommand: Command = {
  name: "inpaint",
  summary: "inpaint a masked image with reconstruction guidance (Fig. 9)",
  usage: `usage: infty inpaint (--input file.png | --index N) [--mask centre|strokes|half] [--lambda λ] [--ts t] [options]\n\n` +
    `Reconstruction guidance x_{t−1} ← x_{t−1} − λ_t∇‖m⊙(μ̃₀ − Tx̄)‖² with DDIM. Writes masked | completed | input.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if ((f.input === undefined) === (f.index === undefined)) throw new UsageError("give exactly one of --input file.png or --index N");
    await initBackend(f.backend as string | undefined);
    const m = loadGuidedModel(f.checkpoint as string);
    try {
      const T = m.cfg.diffusion.timesteps;
      if (f.ts !== undefined && ((f.ts as number) < 0 || (f.ts as number) >= T)) throw new UsageError(`--ts must be in 0…${T - 1}, got ${f.ts}`);
      const r = (f.resolution as number | undefined) ?? m.cfg.model.resolution;
      const img = loadInput(f, m.cfg, r);
      const mask = makeMask(f.mask as MaskKind, 1, r, r, f.seed as number);
      let cond: tf.Tensor2D | undefined;
      if (m.encode) { const x = tf.tensor4d(fillUnknown(img, mask), img.shape); cond = m.encode(x); x.dispose(); }
      const res = await inpaint({ ...m.model, cond }, img, mask, {
        lambda: f.lambda as number, ts: (f.ts as number | undefined) ?? null, steps: f.steps as number, seed: f.seed as number,
      });
      cond?.dispose();
      const masked = img.images.map((v, i) => (mask[Math.floor(i / m.cfg.model.channels)] > 0.5 ? v : 0));
      const C = m.cfg.model.channels, n = r * r * C;
      const row = new Float32Array(3 * n);
      row.set(masked, 0); row.set(res.completed.images, n); row.set(img.images, 2 * n);
      const out = path.resolve(f.out as string);
      writeFileAtomic(out, encodePNG(imageGrid({ data: row, shape: [3, r, r, C] }, { cols: 3 })));
      const met = inpaintMetrics(res, img, mask);
      console.error(`wrote ${out} (${r}×${r}, mask ${f.mask}, λ=${f.lambda}, ${f.ts === undefined ? "from noise" : `t_s=${f.ts}`}; ` +
        `PSNR known ${met.psnrKnown.toFixed(2)} dB, hidden ${met.psnrMissing.toFixed(2)} dB vs input; ${res.seconds.toFixed(1)} s)`);
    } finally {
      m.dispose();
    }
  },
};
