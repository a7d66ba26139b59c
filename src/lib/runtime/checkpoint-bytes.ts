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
