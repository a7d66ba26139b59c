/** `infty export`: a run's EMA weights + training record → one model file to ship or share. */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { exportModel } from "../../lib/export";

const FLAGS: FlagSpecs = {
  run: { kind: "string", help: "run directory with checkpoint.bin (∞-Diff) or autoencoder.ckpt (train-ae)", default: "runs/default" },
  out: { kind: "string", help: "model file to write", default: "data/checkpoints/model.ckpt" },
};

export const exportCommand: Command = {
  name: "export",
  summary: "write a run's weights (EMA for ∞-Diff) and training record as a model file",
  usage: `usage: infty export --run runs/name --out model.ckpt\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const meta = exportModel(path.resolve(f.run as string), path.resolve(f.out as string));
    console.error(`wrote ${f.out} (step ${meta.step}, ${Math.round(Number(meta.wallSeconds))} s of training on ${meta.backend})`);
  },
};
