/**
 * Checkpoints: one binary file holding metadata (config, step, RNG states, timings) and float32 tensor groups
 * (weights, EMA weights, optimizer moments). Written atomically — temp file, every byte checked, fsync, rename — so a run killed at any
 * moment leaves either the previous checkpoint or the new one, never a torn file.
 *
 * Layout: safetensors (safetensors.ts), so `safetensors.torch.load_file` reads a lab checkpoint. Tensor names are
 * `group/name` (e.g. `ema/time.1.w`); `__metadata__` holds the marker `infty-diff-lab: "2"` and each top-level meta
 * key as a JSON string (`config`, `step`, `rng`, …). Files in the first layout ("INFTYCK1" | uint32 LE header length |
 * header JSON | zero padding to 4 bytes | float32 data) still load. Decoding bytes (no files: the browser's path too) is
 * checkpoint-bytes.ts.
 */
import * as fs from "fs";
import { writeFileAtomic } from "./atomic-write";
import { SafeTensor, encodeSafetensors } from "./safetensors";
import { CHECKPOINT_MARKER, CHECKPOINT_V1_MAGIC as MAGIC, Checkpoint, CheckpointError, CheckpointHeader, parseCheckpoint } from "./checkpoint-bytes";

export { CHECKPOINT_MARKER, CheckpointError, parseCheckpoint } from "./checkpoint-bytes";
export type { Checkpoint, CheckpointHeader, ParamTensors } from "./checkpoint-bytes";

/** Writes `path` atomically, in the safetensors layout. */
export function saveCheckpoint(file: string, ckpt: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(ckpt));
}

/** The safetensors bytes of a checkpoint (tensors `group/name`, meta keys as JSON strings in `__metadata__`). */
export function encodeCheckpoint(ckpt: Checkpoint): Buffer {
  const tensors: Array<[string, SafeTensor]> = [];
  for (const [group, ts] of Object.entries(ckpt.groups)) {
    if (group.includes("/")) throw new Error(`checkpoint group '${group}' must not contain '/'`);
    for (const [name, t] of Object.entries(ts)) tensors.push([`${group}/${name}`, t]);
  }
  const metadata: Record<string, string> = { [CHECKPOINT_MARKER]: "2" };
  for (const [k, v] of Object.entries(ckpt.meta)) {
    if (k === CHECKPOINT_MARKER) throw new Error(`checkpoint meta key '${k}' is reserved`);
    if (v !== undefined) metadata[k] = JSON.stringify(v);
  }
  return encodeSafetensors(tensors, metadata);
}

/** Writes `path` atomically in the first layout ("INFTYCK1"); kept so tests can check that old files still load. */
export function saveCheckpointV1(file: string, ckpt: Checkpoint): void {
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

/** Reads a checkpoint; a missing, truncated or foreign file throws a one-line error naming the file. */
export function loadCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseCheckpoint(buf, file);
}


/**
 * A checkpoint's metadata alone, read from its header (either layout) without loading tensors; null when the file is
 * not a lab checkpoint. Output checks use it to recognise a training checkpoint before anything is written.
 */
export function readCheckpointMeta(file: string): Record<string, unknown> | null {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, "r");
    const head = Buffer.alloc(12);
    if (fs.readSync(fd, head, 0, 12, 0) < 12) return null;
    const v1 = head.toString("ascii", 0, 8) === MAGIC;
    const len = v1 ? head.readUInt32LE(8) : Number(head.readBigUInt64LE(0));
    if (len > 1 << 26) return null;
    const json = Buffer.alloc(len);
    if (fs.readSync(fd, json, 0, len, v1 ? 12 : 8) < len) return null;
    const header = JSON.parse(json.toString("utf8"));
    if (v1) return header.meta ?? null;
    const raw = header.__metadata__ as Record<string, string> | undefined;
    if (!raw || raw[CHECKPOINT_MARKER] === undefined) return null;
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) if (k !== CHECKPOINT_MARKER) meta[k] = JSON.parse(v);
    return meta;
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Atomic, checked writes live in atomic-write.ts; re-exported here where callers have always found them. */
export { writeFileAtomic } from "./atomic-write";
