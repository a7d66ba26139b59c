/**
 * The lab's feature network for FID/KID — our stand-in for the paper's CLIP features (∞-Diff §5, FID_CLIP), since
 * no pretrained network can be downloaded here. A small CNN classifier trained on Fashion-MNIST:
 *   conv3×3 1→32, ReLU, max-pool 2 → conv3×3 32→64, ReLU, max-pool 2 → dense 3136→128, ReLU (= features) → dense 128→10.
 * Features are the 128-d penultimate activations. Any input is first made 1-channel (mean over channels) and
 * area-resized to 28×28 — as FID_CLIP resizes to 224 — so samples at any resolution are compared on one footing.
 *
 * Inference runs on every backend; training on wasm needs the lab's conv/pool gradient kernels (src/lib/runtime/wasm-kernels,
 * registered by the package index), on cpu it needs nothing extra.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { fanInUniform, Params, ParamTensors } from "../nn/params";
import { areaResize, fromTensor, ImageSet, toGray } from "../data/image-ops";
import { dataPath } from "../data/paths";
import { DatasetEntry, DatasetName, dataset } from "../data/datasets";
import { writeFileAtomic } from "../runtime/atomic-write";

/** Length of a feature vector (the penultimate layer of the lab's feature net). */
export const FEATURE_DIM = 128;
/** Image side the feature net reads (other sizes are area-resized to it). */
export const FEATURE_SIZE = 28;
/** Classes the feature net was trained to tell apart (Fashion-MNIST's ten). */
export const FEATURE_CLASSES = 10;
/** Format tag of the feature net's record file. */
export const FEATURE_NET_FORMAT = "infty-feature-net/1";

/** Features of N images: values [N, D] row-major. */
export interface Features { values: Float32Array; n: number; d: number }

/** What `train-features` records beside the weights. */
export interface FeatureNetRecord {
  command: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  trainImages: number;
  testAccuracy: number;
  trainAccuracy?: number;
  wallSeconds: number;
  backend: string;
  date: string;
  lossByEpoch: number[];
}

interface Manifest {
  format: string;
  architecture: string;
  weights: string;
  sha256: string;
  params: { name: string; shape: number[]; offset: number }[];
  record: FeatureNetRecord | null;
}

const ARCH = "conv3x3(1→32)-relu-maxpool2-conv3x3(32→64)-relu-maxpool2-dense(3136→128)-relu-dense(128→10)";

/** The lab's FID/KID feature network: a small CNN classifier trained on Fashion-MNIST, used for its features. */
export class FeatureNet {
  readonly params: Params;
  record: FeatureNetRecord | null = null;

  constructor(rng: Rng) {
    const p = (this.params = new Params(rng));
    p.create("conv1/w", [3, 3, 1, 32], fanInUniform(9));
    p.create("conv1/b", [32], fanInUniform(9));
    p.create("conv2/w", [3, 3, 32, 64], fanInUniform(288));
    p.create("conv2/b", [64], fanInUniform(288));
    p.create("fc1/w", [7 * 7 * 64, FEATURE_DIM], fanInUniform(3136));
    p.create("fc1/b", [FEATURE_DIM], fanInUniform(3136));
    p.create("fc2/w", [FEATURE_DIM, FEATURE_CLASSES], fanInUniform(FEATURE_DIM));
    p.create("fc2/b", [FEATURE_CLASSES], fanInUniform(FEATURE_DIM));
  }

  /** Penultimate features. x [B, 28, 28, 1] in [−1, 1] → [B, 128]. */
  embed(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const g = (n: string) => this.params.get(n);
      let h = tf.relu(tf.conv2d(x, g("conv1/w") as tf.Tensor4D, 1, "same").add(g("conv1/b"))) as tf.Tensor4D;
      h = tf.maxPool(h, 2, 2, "valid"); // [B, 14, 14, 32]
      h = tf.relu(tf.conv2d(h, g("conv2/w") as tf.Tensor4D, 1, "same").add(g("conv2/b"))) as tf.Tensor4D;
      h = tf.maxPool(h, 2, 2, "valid"); // [B, 7, 7, 64]
      const flat = h.reshape([x.shape[0], 7 * 7 * 64]);
      return tf.relu(tf.matMul(flat, g("fc1/w")).add(g("fc1/b"))) as tf.Tensor2D;
    });
  }

  /** Class logits. x [B, 28, 28, 1] → [B, 10]. */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.matMul(this.embed(x), this.params.get("fc2/w")).add(this.params.get("fc2/b")) as tf.Tensor2D);
  }

  /**
   * Features of images at any resolution and channel count: mean over channels, area-resize to 28×28, embed.
   * images [N, H, W, C] (ImageSet or tensor) → Features [N, 128]. One read per batch; not for training loops.
   */
  async features(images: ImageSet | tf.Tensor4D, batchSize = 500): Promise<Features> {
    const set = prepare(images instanceof tf.Tensor ? await fromTensor(images) : images);
    const n = set.shape[0], per = FEATURE_SIZE * FEATURE_SIZE;
    const values = new Float32Array(n * FEATURE_DIM);
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      const f = tf.tidy(() => this.embed(tf.tensor4d(set.images.subarray(s * per, e * per), [e - s, FEATURE_SIZE, FEATURE_SIZE, 1])));
      values.set((await f.data()) as Float32Array, s * FEATURE_DIM);
      f.dispose();
    }
    return { values, n, d: FEATURE_DIM };
  }

  /** Predicted classes of images at any size (resized like `features`): [N]. */
  async predict(images: ImageSet, batchSize = 500): Promise<Int32Array> {
    const set = prepare(images);
    const n = set.shape[0], per = FEATURE_SIZE * FEATURE_SIZE;
    const out = new Int32Array(n);
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      const p = tf.tidy(() => this.logits(tf.tensor4d(set.images.subarray(s * per, e * per), [e - s, FEATURE_SIZE, FEATURE_SIZE, 1])).argMax(1));
      out.set((await p.data()) as Int32Array, s);
      p.dispose();
    }
    return out;
  }

  /** Fraction of images whose predicted class equals the label. */
  async accuracy(set: ImageSet): Promise<number> {
    if (!set.labels) throw new Error("accuracy needs labels");
    const pred = await this.predict(set);
    let ok = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === set.labels[i]) ok++;
    return ok / pred.length;
  }

  /**
   * Writes weights.bin (float32, little-endian, params in manifest order) and model.json into `dir`, each through
   * a temp file + rename, weights first: a reader never sees a manifest whose weights are missing or partial, and the
   * manifest's sha256 catches a weights file from another run.
   */
  save(dir: string, record: FeatureNetRecord | null = this.record): void {
    fs.mkdirSync(dir, { recursive: true });
    const snap = this.params.snapshot();
    const names = this.params.names();
    const total = names.reduce((a, n) => a + snap[n].values.length, 0);
    const all = new Float32Array(total);
    const entries: Manifest["params"] = [];
    let off = 0;
    for (const n of names) {
      all.set(snap[n].values, off);
      entries.push({ name: n, shape: snap[n].shape, offset: off });
      off += snap[n].values.length;
    }
    const bytes = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
    const manifest: Manifest = {
      format: FEATURE_NET_FORMAT, architecture: ARCH, weights: "weights.bin",
      sha256: crypto.createHash("sha256").update(bytes).digest("hex"), params: entries, record,
    };
    atomicWrite(path.join(dir, "weights.bin"), bytes);
    atomicWrite(path.join(dir, "model.json"), Buffer.from(JSON.stringify(manifest, null, 1) + "\n"));
    this.record = record;
  }

  /** Loads the committed network (data/feature-net/) or one saved in `dir`. */
  static load(dir: string = dataPath("feature-net")): FeatureNet {
    const mpath = path.join(dir, "model.json");
    let manifest: Manifest;
    try {
      manifest = JSON.parse(fs.readFileSync(mpath, "utf8"));
    } catch (e) {
      throw new Error(`cannot read feature net manifest ${mpath}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (manifest.format !== FEATURE_NET_FORMAT || manifest.architecture !== ARCH) {
      throw new Error(`${mpath}: format '${manifest.format}' / architecture do not match this code`);
    }
    const wpath = path.join(dir, manifest.weights);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(wpath);
    } catch {
      throw new Error(`cannot read feature net weights ${wpath}`);
    }
    if (crypto.createHash("sha256").update(bytes).digest("hex") !== manifest.sha256) {
      throw new Error(`${wpath}: sha256 does not match ${mpath} (corrupt or from another run)`);
    }
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const tensors: ParamTensors = {};
    for (const p of manifest.params) {
      const len = p.shape.reduce((a, b) => a * b, 1);
      if (p.offset + len > all.length) throw new Error(`${wpath}: too short for parameter '${p.name}'`);
      tensors[p.name] = { shape: p.shape, values: all.subarray(p.offset, p.offset + len) };
    }
    const net = new FeatureNet(new Rng(0));
    try {
      net.params.load(tensors);
    } catch (e) {
      net.dispose();
      throw e;
    }
    net.record = manifest.record;
    return net;
  }

  /** Frees the network's weights. */
  dispose(): void {
    this.params.dispose();
  }
}

/** Gray, 28×28: what the network sees. [N, H, W, C] → [N, 28, 28, 1]. */
function prepare(set: ImageSet): ImageSet {
  const g = toGray(set);
  return g.shape[1] === FEATURE_SIZE && g.shape[2] === FEATURE_SIZE ? g : areaResize(g, FEATURE_SIZE, FEATURE_SIZE);
}

/** The checked atomic writer (every byte, fsync, rename; a full disk is a one-line error and the old file stays). */
const atomicWrite = (file: string, data: Buffer): void => writeFileAtomic(file, data);

const shared = new Map<string, FeatureNet>();
/** The committed network of a data/ folder (default data/feature-net/), loaded once and kept (`disposeSharedFeatureNet` frees). */
export function sharedFeatureNet(folder = "feature-net"): FeatureNet {
  let net = shared.get(folder);
  if (!net) shared.set(folder, (net = FeatureNet.load(dataPath(folder))));
  return net;
}
/** Frees the feature net `sharedFeatureNet` loaded, if any. */
export function disposeSharedFeatureNet(): void {
  for (const net of shared.values()) net.dispose();
  shared.clear();
}

/** The feature net that FID/KID on dataset `name` uses (its registry entry's `fid.featureNet`); an error where it has none. */
export function featureNetFor(name: DatasetName): FeatureNet {
  return sharedFeatureNet(fidOf(name).featureNet);
}

/** The FID reference of dataset `name` (data/datasets.ts), or a one-line error saying it has none. */
export function fidOf(name: DatasetName): NonNullable<DatasetEntry["fid"]> {
  const f = dataset(name).fid;
  if (!f) throw new Error(`dataset ${name} has no FID reference (no feature net for it in data/datasets.ts)`);
  return f;
}
