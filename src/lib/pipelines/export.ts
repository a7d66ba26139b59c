/**
 * Exporting a trained run as a model file to ship: the EMA weights only (no optimizer state), with the record of how
 * it was made (config, steps, wall time, backend, the commands that trained it).
 */
import * as fs from "fs";
import * as path from "path";
import { loadCheckpoint, saveCheckpoint } from "../runtime/checkpoint";
import { appendLine, diskError } from "../runtime/atomic-write";
import { CHECKPOINT_FILE, readLogFile } from "./train";
import { AUTOENCODER_CHECKPOINT, autoencoderConfigOf } from "./autoencoder";

/** The file in a run folder that records every command run on it (JSON lines). */
export const COMMANDS_FILE = "commands.jsonl";

/** Appends the command line that (re)started a run to its directory, for the training record. */
export function recordCommand(runDir: string, argv: string[]): void {
  try {
    fs.mkdirSync(runDir, { recursive: true });
  } catch (e) {
    throw diskError(e, runDir);
  }
  appendLine(path.join(runDir, COMMANDS_FILE), JSON.stringify({ at: new Date().toISOString(), command: argv.join(" ") }));
}

/**
 * Writes a run's model file: for an ∞-Diff run (checkpoint.bin) the EMA weights; for an autoencoder run
 * (autoencoder.ckpt, `infty train-ae`) the decoder, encoder and latent weights as trained. Either way without optimizer
 * state, with the config, step, wall time, backend and the commands that trained it.
 */
export function exportModel(runDir: string, outFile: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cmdFile = path.join(runDir, COMMANDS_FILE);
  const commands = fs.existsSync(cmdFile)
    ? fs.readFileSync(cmdFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
    : [];
  const aeFile = path.join(runDir, AUTOENCODER_CHECKPOINT);
  if (!fs.existsSync(path.join(runDir, CHECKPOINT_FILE)) && fs.existsSync(aeFile)) {
    const ck = loadCheckpoint(aeFile);
    const meta = {
      kind: "infty-diff-autoencoder", config: ck.meta.config, autoencoder: autoencoderConfigOf(ck.meta), step: ck.meta.step,
      wallSeconds: logSeconds(path.join(runDir, "log.jsonl"), Number(ck.meta.step)) ?? ck.meta.wallSeconds, backend: ck.meta.backend, initFrom: ck.meta.initFrom ?? null, latentFit: ck.meta.latentFit ?? null,
      trainedCommands: commands, exportedAt: new Date().toISOString(), ...extra,
    };
    saveCheckpoint(outFile, { meta, groups: { params: ck.groups.params, encoder: ck.groups.encoder, latent: ck.groups.latent } });
    return meta;
  }
  const ck = loadCheckpoint(path.join(runDir, CHECKPOINT_FILE));
  const meta = {
    kind: "infty-diff-model",
    config: ck.meta.config,
    step: ck.meta.step,
    wallSeconds: ck.meta.wallSeconds,
    backend: ck.meta.backend,
    trainedCommands: commands,
    exportedAt: new Date().toISOString(),
    ...extra,
  };
  saveCheckpoint(outFile, { meta, groups: { ema: ck.groups.ema } });
  return meta;
}

/** Σ sec of a run's log rows up to `step`: the training time of the steps in the checkpoint (resumes cut the log back). */
function logSeconds(file: string, step: number): number | undefined {
  if (!fs.existsSync(file)) return undefined;
  return readLogFile<{ step: number; sec?: number }>(file, step).reduce((t, r) => t + (r.sec ?? 0), 0);
}
