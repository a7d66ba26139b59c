/**
 * A checkpoint from its bytes (either layout, see checkpoint.ts): no files, no Node modules, so the same reader
 * serves `loadCheckpoint(file)` in Node and a browser page holding `new Uint8Array(await response.arrayBuffer())`.
 */
import { SafetensorsError, decodeSafetensors, looksLikeSafetensors } from "./safetensors";

/** Serialised parameters: name → shape and float32 values. */
export interface ParamTensors {
  [name: string]: { shape: number[]; values: Float32Array };
}

/** The first layout's magic bytes. */
export const CHECKPOINT_V1_MAGIC = "INFTYCK1";
/** `__metadata__` key marking a lab checkpoint in the safetensors layout; its value is the layout version */
export const CHECKPOINT_MARKER = "infty-diff-lab";

/** The header of the older INFTYCK1 checkpoint layout: metadata and the tensor table. */
export interface CheckpointHeader {
  version: 1;
  /** free-form metadata (config, step, rng states, timings); must be JSON-serialisable */
  meta: Record<string, unknown>;
  tensors: Array<{ group: string; name: string; shape: number[]; offset: number; length: number }>;
}

/** A checkpoint in memory: metadata and parameter tensors by group (params, ema, adam moments). */
export interface Checkpoint {
  meta: Record<string, unknown>;
  groups: Record<string, ParamTensors>;
}

/** A missing, unreadable or corrupt checkpoint (a user-input problem, reported in one line). */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const ascii = (buf: Uint8Array, a: number, b: number) => String.fromCharCode(...buf.subarray(a, b));

/** Decodes checkpoint bytes; `label` (a file name or URL) names the source in the one-line error. */
export function parseCheckpoint(buf: Uint8Array, label: string): Checkpoint {
  const bad = (why: string): never => {
    throw new CheckpointError(`corrupt checkpoint ${label}: ${why}`);
  };
  const magic = buf.length >= 8 ? ascii(buf, 0, 8) : "";
  if (buf.length >= 8 && magic !== CHECKPOINT_V1_MAGIC && looksLikeSafetensors(buf)) return decodeCheckpoint(buf, bad);
  if (buf.length < 12 || magic !== CHECKPOINT_V1_MAGIC) bad("not an ∞-Diff lab checkpoint");
  const hlen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(8, true);
  if (12 + hlen > buf.length) bad("truncated header");
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8").decode(buf.subarray(12, 12 + hlen)));
  } catch {
    return bad("unreadable header");
  }
  checkHeaderV1(header, bad);
  const pre = 12 + hlen;
  const start = pre + ((4 - (pre % 4)) % 4);
  const total = header.tensors.reduce((a, t) => a + t.length, 0);
  if (buf.length !== start + 4 * total) bad(`expected ${start + 4 * total} bytes, found ${buf.length}`);
  for (const t of header.tensors) if (t.offset + t.length > total) bad(`tensor ${t.group}/${t.name} lies past the data`);
  // copy into an aligned buffer (Buffer slices may not be 4-byte aligned)
  const data = new Float32Array(total);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + 4 * total));
  const groups: Record<string, ParamTensors> = {};
  for (const t of header.tensors) {
    (groups[t.group] ??= {})[t.name] = { shape: t.shape, values: data.subarray(t.offset, t.offset + t.length) };
  }
  return { meta: header.meta, groups };
}

/** The first layout's header, shape by shape: `{"version":1}`, `null` or a table past the data is one line, not a TypeError. */
function checkHeaderV1(h: unknown, bad: (why: string) => never): asserts h is CheckpointHeader {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const nat = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isObj(h)) bad("the header is not an object");
  if (h.meta !== undefined && !isObj(h.meta)) bad("the header's meta is not an object");
  if (!Array.isArray(h.tensors)) bad("the header has no tensor table");
  const seen = new Set<string>();
  for (const [i, t] of (h.tensors as unknown[]).entries()) {
    if (!isObj(t) || typeof t.group !== "string" || typeof t.name !== "string" || !t.group || !t.name) bad(`tensor #${i} has no group/name`);
    const { shape, offset, length } = t as Record<string, unknown>;
    if (!Array.isArray(shape) || !shape.every(nat)) bad(`tensor ${t.group}/${t.name} has a bad shape`);
    if (!nat(offset) || !nat(length) || (shape as number[]).reduce((a, b) => a * b, 1) !== length) bad(`tensor ${t.group}/${t.name} has a bad offset or length`);
    const key = `${t.group}/${t.name}`;
    if (seen.has(key)) bad(`tensor ${key} appears twice`);
    seen.add(key);
  }
  if (h.meta === undefined) h.meta = {};
}

/** A lab checkpoint from safetensors bytes; `bad` throws the one-line error. */
function decodeCheckpoint(buf: Uint8Array, bad: (why: string) => never): Checkpoint {
  let st: ReturnType<typeof decodeSafetensors>;
  try {
    st = decodeSafetensors(buf);
  } catch (e) {
    return bad(e instanceof SafetensorsError ? e.message : String(e));
  }
  if (st.metadata[CHECKPOINT_MARKER] === undefined) {
    bad("a safetensors file without the lab's metadata (weights from PyTorch? convert them with `infty import`)");
  }
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(st.metadata)) {
    if (k === CHECKPOINT_MARKER) continue;
    try {
      meta[k] = JSON.parse(v);
    } catch {
      bad(`metadata '${k}' is not JSON`);
    }
  }
  const groups: Record<string, ParamTensors> = {};
  for (const [key, t] of st.tensors) {
    const slash = key.indexOf("/");
    if (slash <= 0) bad(`tensor '${key}' has no group prefix`);
    (groups[key.slice(0, slash)] ??= {})[key.slice(slash + 1)] = { shape: t.shape, values: t.values };
  }
  return { meta, groups };
}
