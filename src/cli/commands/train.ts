/**
 * `infty train`: trains ∞-Diff from a JSON config (validated: unknown keys and out-of-range values are errors) into a
 * run directory; re-running the same command resumes from the run's last checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, flagsHelp, int, num, parseFlags, str, SEED_MAX } from "../args";
import { backendFlag, loadConfigFile, startBackend } from "../inputs";
import { checkWritableDir } from "../outputs";
import { resolveConfig, ConfigError, LabConfig } from "../../lib/config/config";
import { loadCheckpoint } from "../../lib/runtime/checkpoint";
import { train, CHECKPOINT_FILE, NonFiniteLossError } from "../../lib/pipelines/train";
import { recordCommand } from "../../lib/pipelines/export";

const FLAGS = {
  config: str("JSON config file (keys: model, diffusion, train; defaults fill the rest)"),
  run: str("run directory (checkpoint.bin, log.jsonl, config.json)", { default: "runs/default" }),
  steps: int("train up to this step (overrides train.steps)", { min: 1, max: 1e9, why: "train.steps' limit" }),
  ratio: num("fraction of pixels per image (overrides train.coordRatio)", { min: 0, minOpen: true, max: 1 }),
  seed: int("seed (overrides train.seed)", { min: 0, max: SEED_MAX }),
  backend: backendFlag(),
  workers: int("gradient worker threads, each with its own backend (same results up to float order; 2 on an idle 2-core CPU)", { min: 1, max: 64, default: 1 }),
  "keep-every": int("also keep the checkpoint every N steps as <run>/snapshots/step-N.bin (for a quality curve)", { min: 1, max: 1e9, why: "a step count" }),
  quiet: bool("no progress bar"),
};

export const trainCommand: Command = {
  name: "train",
  summary: "train an ∞-Diff model on coordinate subsets (resumable)",
  usage: `usage: infty train [--config cfg.json] [--run runs/name] [options]\n\n` +
    `Trains with the mollified-ε loss (Eq. 46) on a random subset of pixels per image. Re-run the same command to\n` +
    `resume after an interruption: the run directory holds the last atomic checkpoint and the loss log.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const runDir = path.resolve(f.run);
    if (fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory()) throw new UsageError(`--run ${f.run} is a file, not a run directory`);
    checkWritableDir(runDir, `--run ${f.run}`);
    const ckptFile = path.join(runDir, CHECKPOINT_FILE);
    const resuming = fs.existsSync(ckptFile);
    let config: LabConfig | undefined;
    if (!resuming || f.config || f.ratio !== undefined || f.seed !== undefined) {
      const base = loadConfigFile(f.config);
      const overrides: Record<string, unknown> = {};
      if (f.ratio !== undefined) overrides.coordRatio = f.ratio;
      if (f.seed !== undefined) overrides.seed = f.seed;
      try {
        config = resolveConfig({ ...base, train: { ...base.train, ...overrides } });
      } catch (e) {
        throw new UsageError((e as ConfigError).message);
      }
    }
    if (resuming) {
      // checked here, before anything is recorded: a refused resume leaves the run exactly as it was
      const stored = resolveConfig(loadCheckpoint(ckptFile).meta.config);
      if (config && JSON.stringify(config) !== JSON.stringify(stored)) {
        throw new UsageError(`run ${runDir} was started with a different config; use a new run directory`);
      }
    }
    await startBackend(f.backend);
    recordCommand(runDir, ["infty", "train", ...argv]);
    try {
      const res = await train({ runDir, config, steps: f.steps, progress: !f.quiet, workers: f.workers, keepEvery: f["keep-every"] });
      const last = res.rows[res.rows.length - 1];
      console.error(`trained ${res.resumedFrom ? `from step ${res.resumedFrom} ` : ""}to step ${res.step}` +
        (last ? ` (last loss ${last.loss.toFixed(4)})` : "") + `; checkpoint ${ckptFile}`);
    } catch (e) {
      if (e instanceof NonFiniteLossError) throw new UsageError(e.message);
      throw e;
    }
  },
};
