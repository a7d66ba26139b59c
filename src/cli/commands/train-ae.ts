/**
 * `infty train-ae`: trains the diffusion autoencoder (∞-Diff §5; encoder → z → conditioned ∞-Diff decoder, plus the
 * latent diffusion model on z) jointly, into a run directory; re-running the same command resumes from the run's last
 * checkpoint. `--init-from` warm-starts the decoder from an unconditional checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, choice, flagsHelp, int, parseFlags, SEED_MAX, str } from "../args";
import { backendFlag, checkFiniteWeights, loadConfigFile, readJson, startBackend } from "../inputs";
import { checkRunSpace, guardFiles } from "../guard";
import { formatBytes } from "../../lib/runtime/atomic-write";
import { resolveConfig, resolveStoredConfig, LabConfig } from "../../lib/config/config";
import { loadCheckpoint } from "../../lib/runtime/checkpoint";
import { recordCommand, COMMANDS_FILE } from "../../lib/pipelines/export";
import { estimateCheckpointBytes, CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE } from "../../lib/pipelines/train";
import { AUTOENCODER_CHECKPOINT, LATENT_TARGETS, AutoencoderConfig, autoencoderConfigOf, resolveAutoencoderConfig, trainAutoencoder, warmStartWeights } from "../../lib/pipelines/autoencoder";
import { Progress } from "../../lib/runtime/progress";

const FLAGS = {
  config: str("JSON lab config (model, diffusion, train) — as for `infty train`"),
  autoencoder: str("JSON autoencoder config (zDim, encoderBlocks, klWeight, encoderRatio, latentWidth, latentDepth)"),
  run: str("run directory (autoencoder.ckpt, log.jsonl, config.json)", { default: "runs/autoencoder" }),
  steps: int("train up to this step (overrides train.steps)", { min: 1, max: 1e9, why: "train.steps' limit" }),
  "init-from": str("unconditional checkpoint whose EMA weights start the decoder (same model config)"),
  "fit-latent": int("then refit the latent model on the frozen encoder's z for N steps (DiffAE's second stage; an existing run only)", { min: 1, max: 1e7 }),
  "latent-target": choice(`with --fit-latent: ${LATENT_TARGETS.join(" | ")} (a change starts a fresh latent model)`, LATENT_TARGETS),
  seed: int("seed (overrides train.seed)", { min: 0, max: SEED_MAX }),
  backend: backendFlag(),
  quiet: bool("no progress bar"),
};

export const trainAeCommand: Command = {
  name: "train-ae",
  summary: "train the diffusion autoencoder (encoder, z-conditioned decoder, latent model; resumable)",
  usage: `usage: infty train-ae [--config cfg.json] [--autoencoder ae.json] [--run runs/name] [--init-from model.ckpt] [options]\n\n` +
    `Trains encoder, decoder (Eq. 46 at a coordinate subset, z from a fresh subset) and latent model together. Re-run\n` +
    `the same command to resume: the run directory holds the last atomic checkpoint and the loss log.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if (f["latent-target"] !== undefined && f["fit-latent"] === undefined) throw new UsageError("--latent-target goes with --fit-latent");
    const runDir = path.resolve(f.run);
    if (fs.existsSync(runDir) && !fs.statSync(runDir).isDirectory()) throw new UsageError(`--run ${f.run} is a file, not a run directory`);
    const ckpt = path.join(runDir, AUTOENCODER_CHECKPOINT);
    // refitting the latent model needs a trained encoder: a typo in --run must not start a fresh 20,000-step run
    if (f["fit-latent"] !== undefined && !fs.existsSync(ckpt)) {
      throw new UsageError(`--fit-latent refits an existing run, but ${runDir} holds no ${AUTOENCODER_CHECKPOINT} (train it first without --fit-latent)`);
    }
    if (fs.existsSync(path.join(runDir, CHECKPOINT_FILE))) {
      throw new UsageError(`--run ${f.run} holds an ∞-Diff training run (${CHECKPOINT_FILE}); train the autoencoder into another directory`);
    }
    const resuming = fs.existsSync(ckpt);
    const runFile = (name: string) => ({ flag: `--run ${f.run}`, file: path.join(runDir, name), state: true });
    guardFiles({
      reads: [{ flag: "--config", file: f.config }, { flag: "--autoencoder", file: f.autoencoder }, { flag: "--init-from", file: f["init-from"] }],
      writes: [AUTOENCODER_CHECKPOINT, LOG_FILE, COMMANDS_FILE, ...(resuming ? [] : [CONFIG_FILE])].map(runFile),
      dirs: [{ flag: "--run", dir: f.run }],
    });
    let cfg: LabConfig, ae: AutoencoderConfig;
    let from = 0;
    if (resuming) {
      // resume: the run's own configs, so a resumed run cannot silently change model shape
      if (f.config || f.autoencoder || f["init-from"]) throw new UsageError(`${runDir} already holds a run; resume it without --config/--autoencoder/--init-from`);
      let ck;
      try {
        ck = loadCheckpoint(ckpt);
        cfg = resolveStoredConfig(ck.meta.config);
        ae = autoencoderConfigOf(ck.meta);
      } catch (e) {
        throw new UsageError(e instanceof UsageError ? e.message : `${ckpt}: ${(e as Error).message}`);
      }
      checkFiniteWeights(ck.groups, `checkpoint ${ckpt}`, "resuming from it would train on garbage (start a new run)");
      from = Number(ck.meta.step);
      if (!Number.isSafeInteger(from) || from < 0) throw new UsageError(`checkpoint ${ckpt} has no valid step`);
    } else {
      const base = loadConfigFile(f.config);
      try {
        cfg = resolveConfig({ ...base, train: { ...base.train, ...(f.seed !== undefined ? { seed: f.seed } : {}) } });
        ae = resolveAutoencoderConfig(f.autoencoder ? readJson(f.autoencoder, "autoencoder config") : {});
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError((e as Error).message);
      }
      const init = f["init-from"];
      if (init) {
        if (!fs.existsSync(init)) throw new UsageError(`--init-from ${init} does not exist`);
        // checked before anything is written (trainAutoencoder loads it again to start the decoder)
        let weights;
        try {
          weights = warmStartWeights(init, cfg);
        } catch (e) {
          throw new UsageError(`--init-from ${(e as Error).message}`);
        }
        checkFiniteWeights({ weights }, `--init-from ${init}`, "a warm start from it would train on garbage");
      }
    }
    const target = f.steps ?? cfg.train.steps;
    if (target < from) {
      throw new UsageError(`run ${f.run} is already at step ${from}, past --steps ${target}; give a larger --steps to train on (nothing was changed)`);
    }
    if (target === from && f["fit-latent"] === undefined) {
      console.error(`run ${f.run} is already at step ${from}; nothing to do (give a larger --steps to train on)`);
      return;
    }
    await startBackend(f.backend);
    // the space its checkpoint needs, asked now (a resumed run's own size; a fresh one's decoder share, a lower bound)
    const bytes = resuming ? fs.statSync(ckpt).size : estimateCheckpointBytes(cfg);
    checkRunSpace(runDir, `--run ${f.run}`, bytes + 512 * Math.max(0, target - from) + 65536, `a ${formatBytes(bytes)} checkpoint written beside the last one`);
    recordCommand(runDir, ["infty", "train-ae", ...argv]);
    let res;
    try {
      res = await trainAutoencoder({
        cfg, ae, runDir, steps: f.steps, initFrom: f["init-from"], progress: !f.quiet,
      });
    } catch (e) {
      const msg = (e as Error).message;
      // a non-finite loss is the user's to fix (learning rate, data); the checkpoint before it is intact
      if (/^loss is /.test(msg)) throw new UsageError(`${msg}; the last checkpoint is kept`);
      throw e;
    }
    if (f["fit-latent"] !== undefined) {
      const steps = f["fit-latent"];
      const bar = new Progress({ label: "fit-latent", total: steps, unit: "step", enabled: !f.quiet });
      await res.trainer.fitLatentAsync({ steps, target: f["latent-target"], onStep: (_i, loss) => bar.tick(1, { loss }) });
      bar.finish();
      await res.trainer.saveAsync(ckpt);
      console.error(`latent model refit (${res.trainer.latentFit!.target}, ${steps} steps on ${res.trainer.latentFit!.images} images, loss ${res.trainer.latentFit!.finalLoss.toFixed(4)})`);
    }
    res.trainer.dispose();
    console.error(`trained ${res.resumedFrom ? `from step ${res.resumedFrom} ` : ""}to step ${res.step}; checkpoint ${ckpt}`);
  },
};
