/**
 * `infty train`: trains ∞-Diff from a JSON config (validated: unknown keys and out-of-range values are errors) into a
 * run directory; re-running the same command resumes from the run's last checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, flagsHelp, int, num, parseFlags, str, SEED_MAX } from "../args";
import { backendFlag, checkFiniteWeights, loadConfigFile, startBackend } from "../inputs";
import { checkRunSpace, guardFiles } from "../guard";
import { resolveConfig, resolveStoredConfig, ConfigError, LabConfig } from "../../lib/config/config";
import { loadCheckpoint } from "../../lib/runtime/checkpoint";
import { formatBytes } from "../../lib/runtime/atomic-write";
import { train, estimateCheckpointBytes, CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE, NonFiniteLossError } from "../../lib/pipelines/train";
import { recordCommand, COMMANDS_FILE } from "../../lib/pipelines/export";
import { AUTOENCODER_CHECKPOINT } from "../../lib/pipelines/autoencoder";

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
    if (fs.existsSync(path.join(runDir, AUTOENCODER_CHECKPOINT))) {
      throw new UsageError(`--run ${f.run} holds an autoencoder run (${AUTOENCODER_CHECKPOINT}); train into another directory`);
    }
    const ckptFile = path.join(runDir, CHECKPOINT_FILE);
    const resuming = fs.existsSync(ckptFile);
    const runFile = (name: string) => ({ flag: `--run ${f.run}`, file: path.join(runDir, name), state: true });
    guardFiles({
      reads: [{ flag: "--config", file: f.config }],
      // a fresh run writes its config.json; a resumed one only reads its checkpoint and rewrites it
      writes: [CHECKPOINT_FILE, LOG_FILE, COMMANDS_FILE, ...(resuming ? [] : [CONFIG_FILE])].map(runFile),
      dirs: [{ flag: "--run", dir: f.run }],
    });
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
    // everything below is checked before anything is recorded: a refused command leaves the run exactly as it was
    let from = 0, ckptBytes: number | null = null;
    if (resuming) {
      let ck;
      try {
        ck = loadCheckpoint(ckptFile);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      let stored: LabConfig;
      try {
        stored = resolveStoredConfig(ck.meta.config);
      } catch (e) {
        throw new UsageError(`checkpoint ${ckptFile} has an invalid config: ${(e as Error).message}`);
      }
      if (config && JSON.stringify(config) !== JSON.stringify(stored)) {
        throw new UsageError(`run ${runDir} was started with a different config; use a new run directory`);
      }
      checkFiniteWeights(ck.groups, `checkpoint ${ckptFile}`, "resuming from it would train on garbage (restore an earlier snapshot or start a new run)");
      from = Number(ck.meta.step);
      if (!Number.isSafeInteger(from) || from < 0) throw new UsageError(`checkpoint ${ckptFile} has no valid step`);
      config = stored;
      ckptBytes = fs.statSync(ckptFile).size;
    }
    const cfg = config ?? resolveConfig({});
    const target = f.steps ?? cfg.train.steps;
    if (target < from) {
      throw new UsageError(`run ${f.run} is already at step ${from}, past --steps ${target}; give a larger --steps to train on (nothing was changed)`);
    }
    if (target === from) {
      console.error(`run ${f.run} is already at step ${from}; nothing to do (give a larger --steps to train on)`);
      return;
    }
    await startBackend(f.backend);
    // the space its checkpoints need (each written beside the last one), asked for now rather than at the first save
    const bytes = ckptBytes ?? estimateCheckpointBytes(cfg);
    const keep = f["keep-every"];
    const snapshots = keep === undefined ? 0 : Math.floor(target / keep) - Math.floor(from / keep);
    const logRows = Math.ceil((target - from) / cfg.train.logEvery) + Math.ceil((target - from) / cfg.train.checkpointEvery);
    checkRunSpace(runDir, `--run ${f.run}`, bytes * (1 + snapshots) + 512 * logRows + 65536,
      `a ${formatBytes(bytes)} checkpoint written beside the last one` + (snapshots ? ` and ${snapshots} snapshots (--keep-every)` : ""));
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
