/**
 * The safetensors layout (huggingface/safetensors): 8-byte little-endian header length N | N bytes of JSON header |
 * raw little-endian tensor bytes. The header maps each tensor name to {dtype, shape, data_offsets: [begin, end)}
 * (offsets relative to the byte after the header) and may hold `__metadata__`, a string → string map.
 *
 * The lab writes float32 only and pads the header with spaces to a multiple of 8 bytes (as the reference writer
 * does, so tensor data stays aligned). It reads F32, F64, F16 and BF16 (PyTorch exports) into Float32Arrays.
 * Pure functions over bytes: no tensors, no files. Decoding takes any Uint8Array (a Node Buffer, or a browser's
 * `new Uint8Array(await response.arrayBuffer())`).
 */

export type SafeDtype = "F32" | "F64" | "F16" | "BF16";

/** One tensor of a safetensors file: dtype, shape and float32 values. */
export interface SafeTensor {
  shape: number[];
  values: Float32Array;
}

/** A safetensors file in memory: its tensors by name and its string metadata. */
export interface SafeFile {
  /** in the header's byte order */
  tensors: Map<string, SafeTensor & { dtype: SafeDtype }>;
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const BYTES: Record<SafeDtype, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/** BF16 → F32: the 16 bits become the high half of a float32 (one shared scratch word) */
const bf16 = new Uint32Array(1), bf16f = new Float32Array(bf16.buffer);

/** A header that is not safetensors, or tensor data that does not match it. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

/** Encodes float32 tensors (in the given order) and a string metadata map. */
export function encodeSafetensors(tensors: Array<[string, SafeTensor]>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__" || name in header) throw new SafetensorsError(`duplicate or reserved tensor name '${name}'`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.values.length) throw new SafetensorsError(`tensor '${name}': shape [${t.shape}] holds ${n} values, got ${t.values.length}`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length), 0);
  const data = Buffer.alloc(offset);
  let o = 0;
  for (const [, t] of tensors) {
    if (LITTLE_ENDIAN_HOST) data.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), o);
    else for (let i = 0; i < t.values.length; i++) data.writeFloatLE(t.values[i], o + 4 * i); // the format is LE
    o += 4 * t.values.length;
  }
  return Buffer.concat([len, json, data]);
}

/** True when `buf` starts like a safetensors file (plausible header length, JSON object). */
export function looksLikeSafetensors(buf: Uint8Array): boolean {
  if (buf.length < 10) return false;
  const n = view(buf).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(buf.length - 8) && buf[8] === 0x7b; // '{'
}

/** A little-endian reader over `buf`'s own bytes (a Buffer may be a slice of a larger pool). */
function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decodes a safetensors buffer; every byte of the data section must belong to exactly one tensor. */
export function decodeSafetensors(buf: Uint8Array): SafeFile {
  if (!looksLikeSafetensors(buf)) throw new SafetensorsError("not a safetensors file");
  const dv = view(buf);
  const n = Number(dv.getBigUint64(0, true));
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8").decode(buf.subarray(8, 8 + n)));
  } catch {
    throw new SafetensorsError("unreadable header JSON");
  }
  const base = 8 + n, dataLen = buf.length - base;
  const metadata: Record<string, string> = {};
  const raw = header.__metadata__;
  if (raw !== undefined) {
    if (typeof raw !== "object" || raw === null) throw new SafetensorsError("__metadata__ is not a map");
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== "string") throw new SafetensorsError(`__metadata__['${k}'] is not a string`);
      metadata[k] = v;
    }
  }
  const tensors: SafeFile["tensors"] = new Map();
  const spans: Array<[number, number, string]> = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: off } = (info ?? {}) as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    if (!dtype || !(dtype in BYTES)) throw new SafetensorsError(`tensor '${name}': unsupported dtype ${dtype}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(`tensor '${name}': bad shape`);
    if (!Array.isArray(off) || off.length !== 2 || !(off[0] <= off[1]) || off[1] > dataLen) {
      throw new SafetensorsError(`tensor '${name}': data_offsets ${JSON.stringify(off)} outside the ${dataLen}-byte data`);
    }
    const count = shape.reduce((a, b) => a * b, 1), bytes = BYTES[dtype as SafeDtype];
    if (off[1] - off[0] !== count * bytes) throw new SafetensorsError(`tensor '${name}': ${off[1] - off[0]} bytes for shape [${shape}] ${dtype}`);
    const values = new Float32Array(count);
    const p = base + off[0];
    // F32 on a little-endian host: one byte copy (into an aligned array; Buffer slices may be unaligned)
    if (dtype === "F32" && LITTLE_ENDIAN_HOST) new Uint8Array(values.buffer).set(buf.subarray(p, p + 4 * count));
    else for (let i = 0; i < count; i++) {
      switch (dtype as SafeDtype) {
        case "F32": values[i] = dv.getFloat32(p + 4 * i, true); break;
        case "F64": values[i] = dv.getFloat64(p + 8 * i, true); break;
        case "F16": values[i] = f16(dv.getUint16(p + 2 * i, true)); break;
        case "BF16": bf16[0] = dv.getUint16(p + 2 * i, true) << 16; values[i] = bf16f[0]; break;
      }
    }
    tensors.set(name, { dtype: dtype as SafeDtype, shape: shape.slice(), values });
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [b, e, name] of spans) {
    if (b !== end) throw new SafetensorsError(`tensor '${name}' starts at ${b}, expected ${end} (hole or overlap)`);
    end = e;
  }
  if (end !== dataLen) throw new SafetensorsError(`data section has ${dataLen} bytes, tensors cover ${end}`);
  return { tensors, metadata };
}
