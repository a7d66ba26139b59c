/**
 * Output paths are checked before any compute: a path the command could not write, a file it would silently replace,
 * or a run's own training files are refused up front, so no hour of sampling ends in a raw errno and no export lands
 * on the checkpoint it was exported from.
 */
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "./errors";
import { freeBytes } from "../lib/runtime/atomic-write";
import { readCheckpointMeta } from "../lib/runtime/checkpoint";

/** Checkpoints a run trains from: replacing one with anything else loses the run, so even --force does not. */
const TRAINING_KINDS = new Set(["infty-diff-train", "infty-diff-autoencoder-train"]);

/** The `kind` of a lab checkpoint file, read from its header only; null for any other file. */
function checkpointKind(file: string): string | null {
  const meta = readCheckpointMeta(file) as { kind?: unknown; adamStep?: unknown; adamSteps?: unknown } | null;
  if (meta === null) return null;
  // an autoencoder run's checkpoint and its export share a kind; the optimizer state tells them apart
  if (meta.kind === "infty-diff-autoencoder" && meta.adamSteps !== undefined) return "infty-diff-autoencoder-train";
  return typeof meta.kind === "string" ? meta.kind : meta.adamStep !== undefined ? "infty-diff-train" : null;
}

export interface OutputCheck {
  /** the flag that named the file, for the message */
  flag: string;
  /** replace an existing file */
  force?: boolean;
  /** files this command must never write over (the run it reads from) */
  protect?: string[];
  /** bytes the output will take, when known: refused if the file system has less free */
  bytes?: number;
}

/** Refuses an output file that cannot or must not be written; nothing is created. */
export function checkOutputFile(file: string, o: OutputCheck): void {
  const abs = path.resolve(file);
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  if (fs.existsSync(abs)) {
    const st = fs.statSync(abs);
    if (st.isDirectory()) throw new UsageError(`${o.flag} ${file} is a directory`);
    if ((o.protect ?? []).some((p) => real(p) === real(abs))) {
      throw new UsageError(`${o.flag} ${file} is the run's own training file; writing there would lose the run (choose another path)`);
    }
    const kind = checkpointKind(abs);
    if (kind !== null && TRAINING_KINDS.has(kind)) {
      throw new UsageError(`${o.flag} ${file} is a training checkpoint; writing there would lose that run (choose another path)`);
    }
    if (!o.force) throw new UsageError(`${o.flag} ${file} exists; pass --force to replace it`);
  }
  checkWritableDir(path.dirname(abs), `${o.flag} ${file}`);
  if (o.bytes !== undefined) {
    const free = freeBytes(abs);
    // the atomic write holds the old file and the new one at once
    if (free !== null && o.bytes > free) {
      throw new UsageError(`${o.flag} ${file} needs about ${mib(o.bytes)} but the file system has ${mib(free)} free`);
    }
  }
}

/** Refuses a directory that cannot be created or written (its nearest existing ancestor must be a writable dir). */
export function checkWritableDir(dir: string, what: string): void {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  if (!fs.statSync(d).isDirectory()) throw new UsageError(`${what}: ${d} is a file, not a directory`);
  try {
    fs.accessSync(d, fs.constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${what}: ${d} is not writable (${code === "EROFS" ? "read-only file system" : "permission denied"})`);
  }
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
