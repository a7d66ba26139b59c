/**
 * `infty import`: a model trained with the authors' PyTorch code → a lab checkpoint (`arch: "authors"`) that sample,
 * eval, grid, inpaint, superres and the notebooks use like any other. The weights come from
 * scripts/export-authors-weights.py (safetensors, PyTorch names and layouts); the config is the authors' values.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, flagsHelp, int, parseFlags, str } from "../args";
import { backendFlag, checkFiniteWeights, readJson, startBackend } from "../inputs";
import { guardFiles } from "../guard";
import { saveCheckpoint } from "../../lib/runtime/checkpoint";
import { authorsConfig, importAuthorsWeights, importAuthorsEncoder, AuthorsImportError, detectAuthorsBackend } from "../../lib/nn/authors/import";
import { AUTHORS_ENCODER_GROUP } from "../../lib/nn/authors/encoder";
import { OFF_GRID_KERNEL } from "../../lib/nn/authors/sparse-unet";
import { resolveConfig } from "../../lib/config/config";
import { decodeSafetensors } from "../../lib/runtime/safetensors";

const FLAGS = {
  weights: str("safetensors written by scripts/export-authors-weights.py (required)"),
  config: str(
    "JSON of the authors' config values: {\"data\": {img_size, channels}, \"model\": {nf, time_emb_dim, num_conv_blocks, " +
      "uno_res, uno_base_channels, uno_mults, uno_blocks_per_level, ...}, \"diffusion\": {...}} (required)",
  ),
  "encoder-weights": str("their SparseEncoder (export-authors-weights.py --which encoder), for a z-conditioned decoder (model.z_dim): kept in the checkpoint"),
  out: str("lab checkpoint to write", { default: "data/checkpoints/imported.ckpt" }),
  force: bool("replace an existing model file (never a run's training checkpoint)"),
  "off-grid-kernel": str(
    "off the training resolution: authors (kernel resampled, their torchsparse/spconv) | none (kernel kept, their torch_dense); " +
      "default: what their code does for the weights' backend",
  ),
  step: int("training step to record (the authors' checkpoint's, if known)", { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 }),
  backend: backendFlag("tensorflow | webgpu | wasm | cpu (only for the shape check; default cpu)"),
};

export const importCommand: Command = {
  name: "import",
  summary: "turn weights exported from the authors' PyTorch code into a lab checkpoint (arch \"authors\")",
  usage: `usage: infty import --weights model.safetensors --config authors-config.json [--out model.ckpt]\n\n` +
    `Export first: python3 scripts/export-authors-weights.py checkpoint.pth model.safetensors\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if (!f.weights) throw new UsageError("--weights is required (see --help)");
    if (!f.config) throw new UsageError("--config is required (see --help)");
    guardFiles({
      reads: [{ flag: "--weights", file: f.weights }, { flag: "--config", file: f.config }, { flag: "--encoder-weights", file: f["encoder-weights"] }],
      writes: [{ flag: "--out", file: f.out, force: f.force, bytes: fs.existsSync(f.weights) ? fs.statSync(f.weights).size : undefined }],
    });
    const raw = readJson(f.config, "config");
    // their SparseUNet defaults to torch_dense while every config file of theirs says torchsparse: a config without
    // `backend` takes the one the weights' keys show
    const rule = f["off-grid-kernel"];
    if (rule !== undefined && !(rule in OFF_GRID_KERNEL)) throw new UsageError(`--off-grid-kernel must be ${Object.keys(OFF_GRID_KERNEL).join(" or ")} (got '${rule}')`);
    let given = raw;
    const model = (raw as { model?: Record<string, unknown> } | null)?.model;
    if (model && typeof model === "object" && model.backend === undefined && fs.existsSync(f.weights)) {
      let names: string[] = [];
      try {
        names = [...decodeSafetensors(fs.readFileSync(f.weights)).tensors.keys()];
      } catch {
        // importAuthorsWeights reports the bad file below
      }
      const seen = detectAuthorsBackend(names);
      if (seen) given = { ...(raw as object), model: { ...model, backend: seen } };
    }
    let cfg = authorsConfig(given);
    if (rule) cfg = resolveConfig({ ...cfg, model: { ...cfg.model, kernelResampling: rule } });
    const out = path.resolve(f.out);
    if (f["encoder-weights"] && !cfg.model.authorsZDim) throw new UsageError("--encoder-weights goes with a z-conditioned decoder: the config needs model.z_dim");
    const weightsFile = f.weights;
    // NaN/±∞ (an F64 beyond float32's range becomes ±∞) would make a checkpoint that sample refuses: refuse them here
    let bytes: Buffer, decoded;
    try {
      bytes = fs.readFileSync(weightsFile);
    } catch (e) {
      throw new AuthorsImportError(`cannot read weights ${weightsFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      decoded = decodeSafetensors(bytes);
    } catch (e) {
      throw new AuthorsImportError(`weights ${weightsFile}: ${(e as Error).message} (export them with scripts/export-authors-weights.py)`);
    }
    checkFiniteWeights({ weights: Object.fromEntries(decoded.tensors) }, `weights ${weightsFile}`, "nothing was imported (an F64 value beyond float32's range counts as ∞)");
    await startBackend(f.backend ?? "cpu", { quiet: true });
    const params = importAuthorsWeights(weightsFile, cfg);
    const source = decoded.metadata;
    const meta = {
      kind: "infty-diff-model", config: cfg, step: f.step, importedFrom: { weights: path.basename(weightsFile), metadata: source, authorsConfig: raw },
      importedAt: new Date().toISOString(),
    };
    const encoder = f["encoder-weights"] ? importAuthorsEncoder(f["encoder-weights"], cfg) : null;
    if (encoder) checkFiniteWeights({ encoder }, `--encoder-weights ${f["encoder-weights"]}`, "nothing was imported");
    saveCheckpoint(out, { meta, groups: encoder ? { ema: params, [AUTHORS_ENCODER_GROUP]: encoder } : { ema: params } });
    const n = Object.values(params).reduce((a, t) => a + t.values.length, 0);
    const rule2 = cfg.model.kernelResampling === "none" ? "none" : "authors";
    const extra = encoder ? ` and their encoder (z_dim ${cfg.model.authorsZDim})` : cfg.model.authorsZDim ? ` (z-conditioned, z_dim ${cfg.model.authorsZDim}: without --encoder-weights it samples only with z given)` : "";
    console.error(`wrote ${f.out}: the authors' architecture${extra} (${cfg.model.authorsBackend ?? "torch_dense"} layout), ${n} parameters (${Object.keys(params).length} tensors) at ${cfg.model.resolution}×${cfg.model.resolution}; off it: ${OFF_GRID_KERNEL[rule2]}`);
  },
};
