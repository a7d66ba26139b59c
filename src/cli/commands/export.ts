/**
 * `infty export`: a run's EMA weights + training record → one model file to ship or share; or (`--format authors`) a
 * model of the authors' architecture → a state_dict their PyTorch `SparseUNet` loads strictly for a chosen backend,
 * plus their config values (docs/authors-architecture.md, "Back to PyTorch").
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, choice, flagsHelp, parseFlags, str } from "../args";
import { guardFiles } from "../guard";
import { exportModel, COMMANDS_FILE } from "../../lib/pipelines/export";
import { CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE } from "../../lib/pipelines/train";
import { AUTOENCODER_CHECKPOINT } from "../../lib/pipelines/autoencoder";
import { loadCheckpoint } from "../../lib/runtime/checkpoint";
import { resolveStoredConfig } from "../../lib/config/config";
import { encodeSafetensors } from "../../lib/runtime/safetensors";
import { writeFileAtomic } from "../../lib/runtime/atomic-write";
import { authorsConfigValues, authorsStateDict } from "../../lib/nn/authors/export";
import { AUTHORS_ENCODER_GROUP } from "../../lib/nn/authors/encoder";
import { OFF_GRID_KERNEL } from "../../lib/nn/authors/sparse-unet";

const FLAGS = {
  run: str("run directory with checkpoint.bin (∞-Diff) or autoencoder.ckpt (train-ae)", { default: "runs/default" }),
  out: str("model file to write", { default: "data/checkpoints/model.ckpt" }),
  force: bool("replace an existing model file (never a run's training checkpoint)"),
  format: choice("lab: a lab model file | authors: a state_dict (safetensors) + config JSON for their PyTorch SparseUNet", ["lab", "authors"] as const, "lab"),
  checkpoint: str("with --format authors: the model file to export (arch \"authors\", e.g. from infty import)"),
  backend: choice("with --format authors: their sparse backend whose class must load it", ["torchsparse", "torch_dense"] as const, "torchsparse"),
  ema: bool("with --format authors: the EMA weights (default; --ema=false: the raw ones of a training checkpoint)", true),
};

/** `--format authors`: <out> (their state_dict) and <out stem>.config.json (their config values). */
function exportAuthors(f: { checkpoint?: string; out: string; force: boolean; backend: "torchsparse" | "torch_dense"; ema: boolean }): void {
  if (!f.checkpoint) throw new UsageError("--format authors needs --checkpoint (a model of the authors' architecture)");
  const input = path.resolve(f.checkpoint);
  const out = path.resolve(f.out), configOut = out.replace(/(\.safetensors)?$/, ".config.json");
  const encoderOut = out.replace(/(\.safetensors)?$/, ".encoder.safetensors");
  const shown = (p: string) => path.relative(".", p) || p;
  const ck = loadCheckpoint(input);
  const hasEncoder = !!ck.groups[AUTHORS_ENCODER_GROUP];
  const outputs: Array<[string, string]> = [["--out", out], ["the config beside --out", configOut]];
  if (hasEncoder) outputs.push(["the encoder beside --out", encoderOut]);
  guardFiles({ reads: [{ flag: "--checkpoint", file: f.checkpoint }], writes: outputs.map(([flag, file]) => ({ flag, file: shown(file), force: f.force })) });
  const cfg = resolveStoredConfig(ck.meta.config);
  const group = f.ema ? (ck.groups.ema ? "ema" : "params") : "params";
  if (!ck.groups[group]) throw new UsageError(`--checkpoint ${f.checkpoint} has no '${group}' weights`);
  const values = authorsConfigValues(cfg, f.backend);
  const state = authorsStateDict(cfg, ck.groups[group], f.backend);
  const bytes = encodeSafetensors(state, { format: "pt", source: `infty export --format authors (${path.basename(input)}, ${group})`, backend: f.backend });
  writeFileAtomic(out, bytes);
  writeFileAtomic(configOut, JSON.stringify(values, null, 2) + "\n");
  if (hasEncoder) {
    const enc = authorsStateDict(cfg, ck.groups[AUTHORS_ENCODER_GROUP], f.backend, "encoder");
    writeFileAtomic(encoderOut, encodeSafetensors(enc, { format: "pt", source: `infty export --format authors (${path.basename(input)}, encoder)`, backend: f.backend }));
  }
  const rule = cfg.model.kernelResampling === "none" ? "none" : "authors";
  const theirs = f.backend === "torch_dense" ? "none" : "authors";
  const note = rule === theirs ? "" : `; note: off the training resolution their ${f.backend} ${OFF_GRID_KERNEL[theirs].split(" (")[0]}, this model was set to ${OFF_GRID_KERNEL[rule].split(" (")[0]}`;
  const encNote = hasEncoder ? `, ${shown(encoderOut)} (their SparseEncoder)` : "";
  console.error(`wrote ${f.out} (${state.length} tensors for their SparseUNet, backend ${f.backend})${encNote} and ${shown(configOut)}${note}`);
}

export const exportCommand: Command = {
  name: "export",
  summary: "write a run's weights (EMA for ∞-Diff) and training record as a model file",
  usage: `usage: infty export --run runs/name --out model.ckpt\n` +
    `       infty export --format authors --checkpoint model.ckpt --backend torchsparse --out model.safetensors\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const authorsOnly = ["--checkpoint", "--backend", "--ema"].filter((k) => argv.some((a) => a === k || a.startsWith(`${k}=`)));
    if (f.format !== "authors" && authorsOnly.length) throw new UsageError(`${authorsOnly[0]} goes with --format authors (a lab export takes --run)`);
    if (f.format === "authors" && argv.some((a) => a === "--run" || a.startsWith("--run="))) throw new UsageError("--format authors exports a model file (--checkpoint), not a run");
    if (f.format === "authors") {
      if (!argv.some((a) => a === "--out" || a.startsWith("--out="))) throw new UsageError("--format authors needs --out (the .safetensors to write)");
      return exportAuthors({ ...f, checkpoint: f.checkpoint });
    }
    const runDir = path.resolve(f.run);
    const runFiles = [CHECKPOINT_FILE, AUTOENCODER_CHECKPOINT, CONFIG_FILE, LOG_FILE, COMMANDS_FILE].map((n) => path.join(runDir, n));
    if (!runFiles.slice(0, 2).some((p) => fs.existsSync(p))) {
      throw new UsageError(`--run ${f.run} holds no ${CHECKPOINT_FILE} or ${AUTOENCODER_CHECKPOINT}`);
    }
    const out = path.resolve(f.out);
    // the export is at most a third of the run's checkpoint (weights without the two Adam moments)
    const bytes = Math.max(...runFiles.slice(0, 2).map((p) => (fs.existsSync(p) ? fs.statSync(p).size : 0)));
    guardFiles({
      reads: runFiles.map((file) => ({ flag: "the run's own training file", file })),
      writes: [{ flag: "--out", file: f.out, force: f.force, bytes: Math.ceil(bytes / 3) }],
    });
    const meta = exportModel(runDir, out);
    console.error(`wrote ${f.out} (step ${meta.step}, ${Math.round(Number(meta.wallSeconds))} s of training on ${meta.backend})`);
  },
};
