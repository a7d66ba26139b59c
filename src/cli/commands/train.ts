/**
 * `infty train`: trains ∞-Diff from a JSON config (validated: unknown keys and out-of-range values are errors) into a
 * run directory; re-running the same command resumes from the run's last checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { initBackend } from "../../lib/backend";
import { parseConfig, resolveConfig, ConfigError, LabConfig } from "../../lib/config";
import { train, CHECKPOINT_FILE, NonFiniteLossError } from "../../lib/train";
import { recordCommand } from "../../lib/export";

const FLAGS: FlagSpecs = {
  config: { kind: "string", help: "JSON config file (keys: model, diffusion, train; defaults fill the rest)" },
  run: { kind: "string", help: "run directory (checkpoint.bin, log.jsonl, config.json)", default: "runs/default" },
  steps: { kind: "int", help: "train up to this step (overrides train.steps)", check: ((v: number) => (v >= 1 ? null : "must be ≥ 1")) as never },
  ratio: { kind: "number", help: "fraction of pixels per image (overrides train.coordRatio)", check: ((v: number) => (v > 0 && v <= 1 ? null : "must be in (0, 1]")) as never },
  seed: { kind: "int", help: "seed (overrides train.seed)", check: ((v: number) => (v >= 0 ? null : "must be ≥ 0")) as never },
  backend: { kind: "string", help: "tensorflow | webgpu | wasm | cpu (default: fastest available, or INFTY_BACKEND)" },
  workers: {
    kind: "int", default: 1,
    help: "gradient worker threads, each with its own backend (same results up to float order; 2 on an idle 2-core CPU)",
    check: ((v: number) => (v >= 1 && v <= 64 ? null : "must be in 1..64")) as never,
  },
  quiet: { kind: "boolean", help: "no progress bar" },
};

export function loadConfigFile(file: string | undefined): LabConfig {
  if (!file) return resolveConfig({});
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseConfig(text, file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const trainCommand: Command = {
  name: "train",
  summary: "train an ∞-Diff model on coordinate subsets (resumable)",
  usage: `usage: infty train [--config cfg.json] [--run runs/name] [options]\n\n` +
    `Trains with the mollified-ε loss (Eq. 46) on a random subset of pixels per image. Re-run the same command to\n` +
    `resume after an interruption: the run directory holds the last atomic checkpoint and the loss log.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const runDir = path.resolve(f.run as string);
    const resuming = fs.existsSync(path.join(runDir, CHECKPOINT_FILE));
    let config: LabConfig | undefined;
    if (!resuming || f.config || f.ratio !== undefined || f.seed !== undefined) {
      const base = loadConfigFile(f.config as string | undefined);
      const overrides: Record<string, unknown> = {};
      if (f.ratio !== undefined) overrides.coordRatio = f.ratio;
      if (f.seed !== undefined) overrides.seed = f.seed;
      try {
        config = resolveConfig({ ...base, train: { ...base.train, ...overrides } });
      } catch (e) {
        throw new UsageError((e as ConfigError).message);
      }
    }
    await initBackend(f.backend as string | undefined);
    recordCommand(runDir, ["infty", "train", ...argv]);
    try {
      const res = await train({ runDir, config, steps: f.steps as number | undefined, progress: !f.quiet, workers: f.workers as number });
      const last = res.rows[res.rows.length - 1];
      console.error(`trained ${res.resumedFrom ? `from step ${res.resumedFrom} ` : ""}to step ${res.step}` +
        (last ? ` (last loss ${last.loss.toFixed(4)})` : "") + `; checkpoint ${path.join(runDir, CHECKPOINT_FILE)}`);
    } catch (e) {
      if (e instanceof NonFiniteLossError) throw new UsageError(e.message);
      throw e;
    }
  },
};
