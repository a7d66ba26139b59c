/**
 * `infty train-ae`: trains the diffusion autoencoder (∞-Diff §5; encoder → z → conditioned ∞-Diff decoder, plus the
 * latent diffusion model on z) jointly, into a run directory; re-running the same command resumes from the run's last
 * checkpoint. `--init-from` warm-starts the decoder from an unconditional checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { initBackend } from "../../lib/backend";
import { resolveConfig, resolveStoredConfig, LabConfig } from "../../lib/config";
import { loadCheckpoint } from "../../lib/checkpoint";
import { recordCommand } from "../../lib/export";
import { AUTOENCODER_CHECKPOINT, AutoencoderConfig, autoencoderConfigOf, resolveAutoencoderConfig, trainAutoencoder, warmStartWeights } from "../../lib/autoencoder";
import { Progress } from "../../lib/progress";
import { loadConfigFile } from "./train";

const FLAGS: FlagSpecs = {
  config: { kind: "string", help: "JSON lab config (model, diffusion, train) — as for `infty train`" },
  autoencoder: { kind: "string", help: "JSON autoencoder config (zDim, encoderBlocks, klWeight, encoderRatio, latentWidth, latentDepth)" },
  run: { kind: "string", help: "run directory (autoencoder.ckpt, log.jsonl, config.json)", default: "runs/autoencoder" },
  steps: { kind: "int", help: "train up to this step (overrides train.steps)", check: ((v: number) => (v >= 1 ? null : "must be ≥ 1")) as never },
  "init-from": { kind: "string", help: "unconditional checkpoint whose EMA weights start the decoder (same model config)" },
  "fit-latent": { kind: "int", help: "then refit the latent model on the frozen encoder's z for N steps (DiffAE's second stage)", check: ((v: number) => (v >= 1 ? null : "must be ≥ 1")) as never },
  "latent-target": { kind: "string", help: "with --fit-latent: eps | v (a change starts a fresh latent model)", check: ((v: string) => (v === "eps" || v === "v" ? null : "must be eps or v")) as never },
  seed: { kind: "int", help: "seed (overrides train.seed)", check: ((v: number) => (v >= 0 ? null : "must be ≥ 0")) as never },
  backend: { kind: "string", help: "tensorflow | wasm | cpu (default: fastest available, or INFTY_BACKEND)" },
  quiet: { kind: "boolean", help: "no progress bar" },
};

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

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
    const runDir = path.resolve(f.run as string);
    const ckpt = path.join(runDir, AUTOENCODER_CHECKPOINT);
    let cfg: LabConfig, ae: AutoencoderConfig;
    if (fs.existsSync(ckpt)) {
      // resume: the run's own configs, so a resumed run cannot silently change model shape
      if (f.config || f.autoencoder || f["init-from"]) throw new UsageError(`${runDir} already holds a run; resume it without --config/--autoencoder/--init-from`);
      let meta;
      try {
        meta = loadCheckpoint(ckpt).meta;
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      cfg = resolveStoredConfig(meta.config);
      ae = autoencoderConfigOf(meta);
    } else {
      const base = loadConfigFile(f.config as string | undefined);
      try {
        cfg = resolveConfig({ ...base, train: { ...base.train, ...(f.seed !== undefined ? { seed: f.seed } : {}) } });
        ae = resolveAutoencoderConfig(f.autoencoder ? readJson(f.autoencoder as string, "autoencoder config") : {});
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError((e as Error).message);
      }
      const init = f["init-from"] as string | undefined;
      if (init) {
        if (!fs.existsSync(init)) throw new UsageError(`--init-from ${init} does not exist`);
        // checked before anything is written (trainAutoencoder loads it again to start the decoder)
        try {
          warmStartWeights(init, cfg);
        } catch (e) {
          throw new UsageError(`--init-from ${(e as Error).message}`);
        }
      }
    }
    await initBackend(f.backend as string | undefined);
    recordCommand(runDir, ["infty", "train-ae", ...argv]);
    let res;
    try {
      res = await trainAutoencoder({
        cfg, ae, runDir, steps: f.steps as number | undefined, initFrom: f["init-from"] as string | undefined, progress: !f.quiet,
      });
    } catch (e) {
      const msg = (e as Error).message;
      // a non-finite loss is the user's to fix (learning rate, data); the checkpoint before it is intact
      if (/^loss is /.test(msg)) throw new UsageError(`${msg}; the last checkpoint is kept`);
      throw e;
    }
    if (f["fit-latent"] !== undefined) {
      const steps = f["fit-latent"] as number;
      const bar = new Progress({ label: "fit-latent", total: steps, unit: "step", enabled: !f.quiet });
      res.trainer.fitLatent({ steps, target: f["latent-target"] as "eps" | "v" | undefined, onStep: (_i, loss) => bar.tick(1, { loss }) });
      bar.finish();
      res.trainer.save(ckpt);
      console.error(`latent model refit (${res.trainer.latentFit!.target}, ${steps} steps on ${res.trainer.latentFit!.images} images, loss ${res.trainer.latentFit!.finalLoss.toFixed(4)})`);
    }
    res.trainer.dispose();
    console.error(`trained ${res.resumedFrom ? `from step ${res.resumedFrom} ` : ""}to step ${res.step}; checkpoint ${ckpt}`);
  },
};
