/**
 * Checkpoints: one binary file holding a JSON header (config, step, RNG states, metadata) and float32 tensor groups
 * (weights, EMA weights, optimizer moments). Written atomically — temp file, fsync, rename — so a run killed at any
 * moment leaves either the previous checkpoint or the new one, never a torn file.
 *
 * Layout: "INFTYCK1" | uint32 LE header length | header JSON (utf8) | zero padding to 4 bytes | float32 data.
 */
import * as fs from "fs";
import * as path from "path";

/** Serialised parameters: name → shape and float32 values. */
export interface ParamTensors {
  [name: string]: { shape: number[]; values: Float32Array };
}

const MAGIC = "INFTYCK1";

export interface CheckpointHeader {
  version: 1;
  /** free-form metadata (config, step, rng states, timings); must be JSON-serialisable */
  meta: Record<string, unknown>;
  tensors: Array<{ group: string; name: string; shape: number[]; offset: number; length: number }>;
}

export interface Checkpoint {
  meta: Record<string, unknown>;
  groups: Record<string, ParamTensors>;
}

/** Writes `path` atomically. */
export function saveCheckpoint(file: string, ckpt: Checkpoint): void {
  const tensors: CheckpointHeader["tensors"] = [];
  let offset = 0;
  for (const [group, ts] of Object.entries(ckpt.groups)) {
    for (const [name, t] of Object.entries(ts)) {
      tensors.push({ group, name, shape: t.shape, offset, length: t.values.length });
      offset += t.values.length;
    }
  }
  const header = Buffer.from(JSON.stringify({ version: 1, meta: ckpt.meta, tensors } satisfies CheckpointHeader), "utf8");
  const pre = 8 + 4 + header.length;
  const pad = (4 - (pre % 4)) % 4;
  const data = new Float32Array(offset);
  for (const tinfo of tensors) data.set(ckpt.groups[tinfo.group][tinfo.name].values, tinfo.offset);
  const lenBuf = Buffer.alloc(4);
  lenBuf.writeUInt32LE(header.length, 0);
  const body = Buffer.concat([Buffer.from(MAGIC, "ascii"), lenBuf, header, Buffer.alloc(pad), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  writeFileAtomic(file, body);
}

/** A missing, unreadable or corrupt checkpoint (a user-input problem, reported in one line). */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Reads a checkpoint; a missing, truncated or foreign file throws a one-line error naming the file. */
export function loadCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new CheckpointError(`corrupt checkpoint ${file}: ${why}`);
  };
  if (buf.length < 12 || buf.subarray(0, 8).toString("ascii") !== MAGIC) bad("not an ∞-Diff lab checkpoint");
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) bad("truncated header");
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.subarray(12, 12 + hlen).toString("utf8"));
  } catch {
    return bad("unreadable header");
  }
  const pre = 12 + hlen;
  const start = pre + ((4 - (pre % 4)) % 4);
  const total = header.tensors.reduce((a, t) => a + t.length, 0);
  if (buf.length !== start + 4 * total) bad(`expected ${start + 4 * total} bytes, found ${buf.length}`);
  // copy into an aligned buffer (Buffer slices may not be 4-byte aligned)
  const data = new Float32Array(total);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + 4 * total));
  const groups: Record<string, ParamTensors> = {};
  for (const t of header.tensors) {
    (groups[t.group] ??= {})[t.name] = { shape: t.shape, values: data.subarray(t.offset, t.offset + t.length) };
  }
  return { meta: header.meta, groups };
}

/** Writes a file so that readers see the old content or the new, never a partial one. */
export function writeFileAtomic(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
