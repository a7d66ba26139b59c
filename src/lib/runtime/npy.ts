/**
 * NumPy .npy files (format 1.0, little-endian float32, C order) so samples open directly in numpy/PyTorch.
 */
import * as fs from "fs";
import { writeFileAtomic } from "./checkpoint";
import { diskError, writeAll } from "./atomic-write";

/** A float32 array as a .npy file's bytes (C order). */
export function encodeNpy(values: Float32Array, shape: readonly number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== values.length) throw new Error(`npy: ${values.length} values for shape [${shape.join(", ")}]`);
  return Buffer.concat([npyHeader(shape), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

/**
 * Magic, version, length and header dict, padded with spaces so the whole is a multiple of 64 bytes ending in \n,
 * and at least `minBytes` long (a streamed file rewrites its header in place as rows are added).
 */
function npyHeader(shape: readonly number[], minBytes = 0): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const unpadded = 10 + dict.length + 1;
  let total = unpadded + ((64 - (unpadded % 64)) % 64);
  while (total < minBytes) total += 64;
  const header = dict + " ".repeat(total - unpadded) + "\n";
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, "latin1")]);
}

/**
 * A .npy written batch by batch, so any number of samples takes bounded memory and a kill keeps every finished batch:
 * after each `append` the data is fsynced and the header (fixed size) rewritten to count the rows written so far, so
 * the file is always a valid array of the finished rows. Rows are [...rowShape] float32.
 */
export class NpyAppender {
  private fd: number;
  private headerBytes: number;
  private perRow: number;
  rows = 0;

  constructor(readonly file: string, readonly rowShape: readonly number[], maxRows: number) {
    this.perRow = rowShape.reduce((a, b) => a * b, 1);
    this.headerBytes = npyHeader([maxRows, ...rowShape]).length;
    try {
      this.fd = fs.openSync(file, "w");
    } catch (e) {
      throw diskError(e, file);
    }
    this.writeHeader();
  }

  /** Appends rows (a multiple of one row's size) and flushes them to disk. */
  append(values: Float32Array): void {
    if (values.length % this.perRow !== 0) throw new Error(`npy: ${values.length} values are not whole rows of [${this.rowShape.join(", ")}]`);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    try {
      writeAll(this.fd, bytes, this.headerBytes + this.rows * this.perRow * 4);
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw diskError(e, this.file, bytes.length);
    }
    this.rows += values.length / this.perRow;
    this.writeHeader();
  }

  /** Writes the final header and renames the partial file to its name. */
  close(): void {
    fs.closeSync(this.fd);
  }

  private writeHeader(): void {
    try {
      writeAll(this.fd, npyHeader([this.rows, ...this.rowShape], this.headerBytes), 0);
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw diskError(e, this.file);
    }
  }
}

/** Writes a .npy file atomically. */
export function writeNpy(file: string, values: Float32Array, shape: readonly number[]): void {
  writeFileAtomic(file, encodeNpy(values, shape));
}

/** Reads a float32 .npy written by this lab (or numpy with dtype '<f4', C order); a short file is an error. */
export function readNpy(file: string): { values: Float32Array; shape: number[] } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (buf.length < 10 || buf.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${file} is not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString("latin1", start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: only little-endian float32 .npy is supported`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran-order arrays are not supported`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m) throw new Error(`${file}: .npy header has no shape`);
  const shape = m[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const off = start + hlen;
  // like numpy, bytes after the array are ignored: a streamed file (NpyAppender) killed between a batch's data and its
  // header update holds the finished rows and part of the next
  if (buf.length < off + 4 * n) throw new Error(`${file}: expected ${4 * n} data bytes, found ${buf.length - off}`);
  const values = new Float32Array(n);
  new Uint8Array(values.buffer).set(buf.subarray(off, off + 4 * n));
  return { values, shape };
}
