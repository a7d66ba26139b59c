/**
 * The one rule every command obeys, in one place: **no command writes over a file it reads** (a checkpoint, weights,
 * samples, a config, an input image), with or without --force, however the path is spelled (a symlink, a hard link,
 * `./x`, relative or absolute). Each command declares what it reads and what it writes to `guardFiles` before any
 * work; files are compared by real path and, when they exist, by (device, inode).
 *
 * The same call refuses every output that cannot or must not be written — a directory, a file the user did not ask
 * to replace (no --force), another run's training checkpoint, a parent that is a file or read-only, a disk without
 * room — so no hour of sampling ends in a raw errno and nothing is created when a command refuses.
 */
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "./errors";
import { formatBytes, freeBytes } from "../lib/runtime/atomic-write";
import { readCheckpointMeta } from "../lib/runtime/checkpoint";

/** A file a command reads; `file` undefined (an optional flag not given) is skipped. */
export interface ReadDecl {
  /** the flag that named it, for the message (e.g. "--checkpoint") */
  flag: string;
  file: string | undefined;
}

/** A file a command writes. */
export interface WriteDecl {
  flag: string;
  file: string;
  /** replace an existing file (never an input, never a training checkpoint) */
  force?: boolean;
  /** bytes the write will take, when known: refused if the file system has less free */
  bytes?: number;
  /**
   * a run's own state (its checkpoint, log, command record), which the command updates in place by design: it may
   * exist without --force, but it is still never one of the command's inputs
   */
  state?: boolean;
}

export interface FileDecl {
  reads: ReadDecl[];
  writes: WriteDecl[];
  /** directories the command will create or write into (a run folder, a results folder) */
  dirs?: Array<{ flag: string; dir: string }>;
}

/** Checkpoints a run trains from: replacing one with anything else loses the run, so even --force does not. */
const TRAINING_KINDS = new Set(["infty-diff-train", "infty-diff-autoencoder-train"]);

/** The `kind` of a lab checkpoint file, read from its header only; null for any other file. */
function checkpointKind(file: string): string | null {
  const meta = readCheckpointMeta(file) as { kind?: unknown; adamStep?: unknown; adamSteps?: unknown } | null;
  if (meta === null || typeof meta !== "object") return null;
  // an autoencoder run's checkpoint and its export share a kind; the optimizer state tells them apart
  if (meta.kind === "infty-diff-autoencoder" && meta.adamSteps !== undefined) return "infty-diff-autoencoder-train";
  return typeof meta.kind === "string" ? meta.kind : meta.adamStep !== undefined ? "infty-diff-train" : null;
}

/** Where a path really leads: its real path (the parent's, for a file not yet there) and its (dev, ino) if it exists. */
export function fileIdentity(file: string): { real: string; inode: string | null } {
  const abs = path.resolve(file);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    // not there (or a dangling link): the real parent and the name the write would create
    let dir = path.dirname(abs), rest = path.basename(abs);
    for (;;) {
      try {
        real = path.join(fs.realpathSync(dir), rest);
        break;
      } catch {
        if (path.dirname(dir) === dir) { real = abs; break; }
        rest = path.join(path.basename(dir), rest);
        dir = path.dirname(dir);
      }
    }
  }
  let inode: string | null = null;
  try {
    const st = fs.statSync(abs);
    inode = `${st.dev}:${st.ino}`;
  } catch {
    /* not there */
  }
  return { real, inode };
}

const same = (a: ReturnType<typeof fileIdentity>, b: ReturnType<typeof fileIdentity>) =>
  a.real === b.real || (a.inode !== null && a.inode === b.inode);

/**
 * Refuses, in one line and before anything is created, any declared write that is one of the declared reads (or
 * another declared write), or that cannot or must not be written. Call it before any compute and any other write.
 */
export function guardFiles(decl: FileDecl): void {
  const reads = decl.reads.filter((r): r is { flag: string; file: string } => r.file !== undefined && r.file !== "")
    .map((r) => ({ ...r, id: fileIdentity(r.file) }));
  const writes = decl.writes.map((w) => ({ ...w, id: fileIdentity(w.file) }));
  for (const [i, w] of writes.entries()) {
    const r = reads.find((x) => same(x.id, w.id));
    if (r) {
      const spelled = path.resolve(r.file) === path.resolve(w.file) ? "" : " (the same file)";
      throw new UsageError(`${w.flag} ${w.file} is ${r.flag} ${r.file}${spelled}, which this command reads; it is never written over, ` +
        `even with --force (choose another path)`);
    }
    const other = writes.slice(0, i).find((x) => same(x.id, w.id));
    if (other) throw new UsageError(`${w.flag} ${w.file} and ${other.flag} ${other.file} are the same file (choose different paths)`);
  }
  for (const d of decl.dirs ?? []) checkWritableDir(d.dir, `${d.flag} ${d.dir}`);
  for (const w of writes) checkOutput(w);
}

/** One output: not a directory, not another run's training checkpoint, replaced only with --force, writable, room. */
function checkOutput(w: WriteDecl): void {
  const abs = path.resolve(w.file);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(abs);
  } catch {
    /* not there yet */
  }
  if (st) {
    if (st.isDirectory()) throw new UsageError(`${w.flag} ${w.file} is a directory`);
    if (!w.state) {
      const kind = checkpointKind(abs);
      if (kind !== null && TRAINING_KINDS.has(kind)) {
        throw new UsageError(`${w.flag} ${w.file} is a training checkpoint; writing there would lose that run (choose another path)`);
      }
      if (!w.force) throw new UsageError(`${w.flag} ${w.file} exists; pass --force to replace it`);
    }
  }
  checkWritableDir(path.dirname(abs), `${w.flag} ${w.file}`);
  if (w.bytes !== undefined) {
    const free = freeBytes(abs);
    // the atomic write holds the old file and the new one at once
    if (free !== null && w.bytes > free) {
      throw new UsageError(`${w.flag} ${w.file} needs about ${formatBytes(w.bytes)} but the file system has ${formatBytes(free)} free`);
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

/** Refuses a run whose files will need more than the file system holding `dir` has free (asked before any compute). */
export function checkRunSpace(dir: string, what: string, bytes: number, why: string): void {
  const free = freeBytes(dir);
  if (free !== null && bytes > free) {
    throw new UsageError(`${what} needs about ${formatBytes(bytes)} (${why}) but the file system has ${formatBytes(free)} free`);
  }
}
