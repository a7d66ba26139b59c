/**
 * Fashion-MNIST (Zalando, MIT) from the IDX .gz files committed in data/fashion-mnist/.
 * Images become NHWC float32 in [−1, 1] (pixel/127.5 − 1), shape [N, 28, 28, 1]; labels 0…9.
 *
 * Splits: `train` (all 60,000), `test` (10,000), and the 60,000 cut in two at a fixed index so that a slice of
 * real training data is never seen by anything fitted on the rest: `train-fit` (first 55,000) and `holdout`
 * (last 5,000). The feature net trains on `train-fit`; FID sanity checks compare `test` with `holdout`.
 * The upstream training file is already shuffled, so a contiguous cut is a fair random split.
 */
import * as fs from "fs";
import * as zlib from "zlib";
import { dataPath } from "./paths";
import { areaResize, ImageSet, padImages } from "./image-ops";

/** A Fashion-MNIST split: train (all 60,000), test, train-fit (the 55,000 trained on) and holdout (5,000 never trained on). */
export type FashionSplit = "train" | "test" | "train-fit" | "holdout";
/** Every Fashion-MNIST split name. */
export const FASHION_SPLITS: readonly FashionSplit[] = ["train", "test", "train-fit", "holdout"];
/** Training images held out of `train-fit` (the last 5,000 of the training set). */
export const FASHION_HOLDOUT = 5000;
/** Fashion-MNIST's ten class names, by label. */
export const FASHION_CLASSES = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
] as const;

/** Which Fashion-MNIST images to load: split, offset, limit and an optional resize. */
export interface FashionOptions {
  split: FashionSplit;
  /** pad each side with background (−1) after resizing, e.g. 2 to go 28 → 32 */
  pad?: number;
  /** area-resize the 28×28 images to size×size (before padding) */
  size?: number;
  /** rows [offset, offset+limit) of the split */
  offset?: number;
  limit?: number;
}

interface Raw { pixels: Uint8Array; labels: Uint8Array; n: number }
const cache = new Map<"train" | "test", Raw>();

/** Parses one IDX file: magic 0x0803 (images) or 0x0801 (labels), big-endian int32 dims, then uint8 data. */
export function parseIdx(buf: Buffer, name = "IDX"): { dims: number[]; data: Uint8Array } {
  if (buf.length < 8 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) throw new Error(`${name}: not a uint8 IDX file`);
  const nd = buf[3];
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const off = 4 + 4 * nd, size = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== off + size) throw new Error(`${name}: expected ${off + size} bytes, found ${buf.length}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, size) };
}

function readGz(file: string): Buffer {
  const p = dataPath("fashion-mnist", file);
  let gz: Buffer;
  try {
    gz = fs.readFileSync(p);
  } catch {
    throw new Error(`cannot read Fashion-MNIST file ${p}`);
  }
  return zlib.gunzipSync(gz);
}

function raw(part: "train" | "test"): Raw {
  const hit = cache.get(part);
  if (hit) return hit;
  const stem = part === "train" ? "train" : "t10k";
  const img = parseIdx(readGz(`${stem}-images-idx3-ubyte.gz`), `${stem} images`);
  const lab = parseIdx(readGz(`${stem}-labels-idx1-ubyte.gz`), `${stem} labels`);
  if (img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28 || lab.dims[0] !== img.dims[0]) {
    throw new Error(`Fashion-MNIST ${part}: unexpected dims ${img.dims} / ${lab.dims}`);
  }
  const r = { pixels: img.data, labels: lab.data, n: img.dims[0] };
  cache.set(part, r);
  return r;
}

/** Row range of a split inside its raw file. */
function splitRange(split: FashionSplit): { part: "train" | "test"; start: number; end: number } {
  switch (split) {
    case "train": return { part: "train", start: 0, end: 60000 };
    case "train-fit": return { part: "train", start: 0, end: 60000 - FASHION_HOLDOUT };
    case "holdout": return { part: "train", start: 60000 - FASHION_HOLDOUT, end: 60000 };
    case "test": return { part: "test", start: 0, end: 10000 };
  }
}

/**
 * Loads a split as images [N, S, S, 1] in [−1, 1] (S = size + 2·pad, default 28) and labels [N].
 * The decoded bytes are cached in memory, so repeated calls cost only the float conversion.
 */
export function loadFashionMnist(opts: FashionOptions): ImageSet {
  if (!FASHION_SPLITS.includes(opts.split)) {
    throw new Error(`unknown Fashion-MNIST split '${opts.split}' (expected ${FASHION_SPLITS.join(", ")})`);
  }
  const { part, start, end } = splitRange(opts.split);
  const r = raw(part);
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`offset must be a non-negative integer, got ${offset}`);
  const s = Math.min(end, start + offset);
  const e = opts.limit === undefined ? end : Math.min(end, s + opts.limit);
  const n = e - s;
  const images = new Float32Array(n * 784);
  const px = r.pixels.subarray(s * 784, e * 784);
  for (let i = 0; i < px.length; i++) images[i] = px[i] / 127.5 - 1;
  let set: ImageSet = { images, shape: [n, 28, 28, 1], labels: r.labels.slice(s, e) };
  if (opts.size !== undefined && opts.size !== 28) set = areaResize(set, opts.size);
  if (opts.pad) set = padImages(set, opts.pad, -1);
  return set;
}
