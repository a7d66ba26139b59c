/**
 * Exporting a trained run as a model file to ship: the EMA weights only (no optimizer state), with the record of how
 * it was made (config, steps, wall time, backend, the commands that trained it).
 */
import * as fs from "fs";
import * as path from "path";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint";
import { CHECKPOINT_FILE } from "./train";

export const COMMANDS_FILE = "commands.jsonl";

/** Appends the command line that (re)started a run to its directory, for the training record. */
export function recordCommand(runDir: string, argv: string[]): void {
  fs.mkdirSync(runDir, { recursive: true });
  fs.appendFileSync(path.join(runDir, COMMANDS_FILE), JSON.stringify({ at: new Date().toISOString(), command: argv.join(" ") }) + "\n");
}

export function exportModel(runDir: string, outFile: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ck = loadCheckpoint(path.join(runDir, CHECKPOINT_FILE));
  const cmdFile = path.join(runDir, COMMANDS_FILE);
  const commands = fs.existsSync(cmdFile)
    ? fs.readFileSync(cmdFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
    : [];
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
