/** `infty export`: a run's EMA weights + training record → one model file to ship or share. */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, flagsHelp, parseFlags, str } from "../args";
import { checkOutputFile } from "../outputs";
import { exportModel, COMMANDS_FILE } from "../../lib/pipelines/export";
import { CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE } from "../../lib/pipelines/train";
import { AUTOENCODER_CHECKPOINT } from "../../lib/pipelines/autoencoder";

const FLAGS = {
  run: str("run directory with checkpoint.bin (∞-Diff) or autoencoder.ckpt (train-ae)", { default: "runs/default" }),
  out: str("model file to write", { default: "data/checkpoints/model.ckpt" }),
  force: bool("replace an existing model file (never a run's training checkpoint)"),
};

export const exportCommand: Command = {
  name: "export",
  summary: "write a run's weights (EMA for ∞-Diff) and training record as a model file",
  usage: `usage: infty export --run runs/name --out model.ckpt\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const runDir = path.resolve(f.run);
    const runFiles = [CHECKPOINT_FILE, AUTOENCODER_CHECKPOINT, CONFIG_FILE, LOG_FILE, COMMANDS_FILE].map((n) => path.join(runDir, n));
    if (!runFiles.slice(0, 2).some((p) => fs.existsSync(p))) {
      throw new UsageError(`--run ${f.run} holds no ${CHECKPOINT_FILE} or ${AUTOENCODER_CHECKPOINT}`);
    }
    const out = path.resolve(f.out);
    // the export is at most a third of the run's checkpoint (weights without the two Adam moments)
    const bytes = Math.max(...runFiles.slice(0, 2).map((p) => (fs.existsSync(p) ? fs.statSync(p).size : 0)));
    checkOutputFile(out, { flag: "--out", force: f.force, protect: runFiles, bytes: Math.ceil(bytes / 3) });
    const meta = exportModel(runDir, out);
    console.error(`wrote ${f.out} (step ${meta.step}, ${Math.round(Number(meta.wallSeconds))} s of training on ${meta.backend})`);
  },
};
