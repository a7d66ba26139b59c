/**
 * Checked, atomic file writes for every file a user keeps (checkpoints, exports, samples, results, configs).
 *
 * Why a loop: on a full disk `fs.writeSync` does not throw, it returns a short byte count; a writer that ignores the
 * count fsyncs and renames a truncated file over the last good one. Here every byte is accounted for, the temp file
 * is fsynced before the rename, and on any error the temp is removed and the old file stays as it was.
 */
import * as fs from "fs";
import * as path from "path";

/** A write that could not complete (full disk, no permission, read-only file system): the user's to fix, one line. */
export class DiskWriteError extends Error {
  constructor(message: string, readonly code: string, readonly file: string) {
    super(message);
    this.name = "DiskWriteError";
  }
}

/** The file-system calls the writer uses; tests inject a short `writeSync` to reproduce a full disk. */
export interface WriteOps {
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number | null): number;
}
const NODE_OPS: WriteOps = { writeSync: (fd, buf, off, len, pos) => fs.writeSync(fd, buf, off, len, pos) };

/** Bytes free to an unprivileged writer on the file system holding `p` (its nearest existing ancestor); null if unknown. */
export function freeBytes(p: string): number | null {
  let dir = path.resolve(p);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    const s = fs.statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/** A byte count as people read it: exact below 1 MiB (so 40 kB free never shows as "0.0 MiB"), else MiB or GiB. */
export const formatBytes = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${Math.round(n)} bytes`;

/** The one-line message for an errno from writing `file` (`need` bytes); other errors are returned unchanged. */
export function diskError(e: unknown, file: string, need?: number): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    const free = freeBytes(file);
    return new DiskWriteError(`cannot write ${file}: no space left on device` +
      (need !== undefined ? ` (needs ${formatBytes(need)}` + (free !== null ? `, ${formatBytes(free)} free)` : ")") : ""), code, file);
  }
  if (code === "EACCES" || code === "EPERM") return new DiskWriteError(`cannot write ${file}: permission denied`, code, file);
  if (code === "EROFS") return new DiskWriteError(`cannot write ${file}: read-only file system`, code, file);
  if (code === "ENOTDIR" || (code === "EEXIST" && !fs.existsSync(file))) {
    return new DiskWriteError(`cannot write ${file}: a parent of it is a file, not a directory`, code, file);
  }
  if (code === "EISDIR") return new DiskWriteError(`cannot write ${file}: it is a directory`, code, file);
  return e as Error;
}

/** Writes all of `buf` at `position` (null: at the current offset), looping over short writes; a 0-byte write is ENOSPC. */
export function writeAll(fd: number, buf: Uint8Array, position: number | null = null, ops: WriteOps = NODE_OPS): void {
  let off = 0;
  while (off < buf.length) {
    const n = ops.writeSync(fd, buf, off, buf.length - off, position === null ? null : position + off);
    if (!(n > 0)) throw Object.assign(new Error("short write: no space left on device"), { code: "ENOSPC" });
    off += n;
  }
}

/** The temp name of `file` while this process writes it (removed on error; stale ones by `removeStaleTemps`). */
export const tempName = (file: string): string => `${file}.tmp-${process.pid}`;

/**
 * Writes `file` so that readers see the old content or the new, never a partial one: temp file, every byte written,
 * fsync, rename. Any failure removes the temp, leaves `file` untouched and throws (a `DiskWriteError` for ENOSPC,
 * EACCES, EROFS, a file-parent).
 */
export function writeFileAtomic(file: string, content: string | Uint8Array, ops: WriteOps = NODE_OPS): void {
  const buf = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  const tmp = tempName(file);
  let fd: number | null = null;
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fd = fs.openSync(tmp, "w");
    writeAll(fd, buf, null, ops);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) try { fs.closeSync(fd); } catch { /* already failing */ }
    try { fs.unlinkSync(tmp); } catch { /* never created */ }
    throw diskError(e, file, buf.length);
  }
}

/** Appends one line (a log row) in full, or throws the one-line disk error; a torn last line is dropped by readers. */
export function appendLine(file: string, line: string): void {
  const buf = Buffer.from(line.endsWith("\n") ? line : line + "\n", "utf8");
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, "a");
    writeAll(fd, buf);
    fs.closeSync(fd);
    fd = null;
  } catch (e) {
    if (fd !== null) try { fs.closeSync(fd); } catch { /* already failing */ }
    throw diskError(e, file, buf.length);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Removes `<name>.tmp-<pid>` files in `dir` left by writers that died (kill -9, a full disk before this fix); temps of
 * live processes (another run writing now) are kept. Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m || (Number(m[1]) !== process.pid && alive(Number(m[1])))) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      /* gone already */
    }
  }
  return removed;
}
