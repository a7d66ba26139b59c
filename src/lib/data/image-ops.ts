/**
 * Images as plain arrays, and the exact pixel operations the datasets and metrics share: area resizing to any size,
 * padding, Gaussian blur. They run in float64 JS on Float32Arrays (data preparation and evaluation, not training hot
 * loops) so that "area average" means the exact integral average, independent of the tensor backend.
 */
import { tf } from "../runtime/backend";

/** A batch of images, NHWC float32 in [−1, 1]: images [N, H, W, C]; labels [N] where the dataset has them. */
export interface ImageSet {
  images: Float32Array;
  shape: [number, number, number, number];
  labels?: Uint8Array;
}

/** images [N, H, W, C] as a tensor (caller disposes). */
export function toTensor(set: ImageSet): tf.Tensor4D {
  return tf.tensor4d(set.images, set.shape, "float32");
}

/** A batch of the given rows as a tensor [B, H, W, C] (caller disposes). */
export function imageBatch(set: ImageSet, indices: ArrayLike<number>): tf.Tensor4D {
  const [, h, w, c] = set.shape;
  const per = h * w * c;
  const out = new Float32Array(indices.length * per);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    out.set(set.images.subarray(i * per, (i + 1) * per), b * per);
  }
  return tf.tensor4d(out, [indices.length, h, w, c], "float32");
}

/** Rows [start, end) of a set, copying (labels too). */
export function sliceSet(set: ImageSet, start: number, end: number): ImageSet {
  const [n, h, w, c] = set.shape;
  const e = Math.min(end, n), s = Math.max(0, Math.min(start, e));
  const per = h * w * c;
  return {
    images: set.images.slice(s * per, e * per),
    shape: [e - s, h, w, c],
    labels: set.labels ? set.labels.slice(s, e) : undefined,
  };
}

/** An ImageSet from a tensor [N, H, W, C] (one read; not for hot loops). */
export async function fromTensor(x: tf.Tensor4D): Promise<ImageSet> {
  const [n, h, w, c] = x.shape;
  return { images: (await x.data()) as Float32Array, shape: [n, h, w, c] };
}

/**
 * Sparse weights of 1-D area resampling from `inN` cells to `outN` cells of [0, 1]: output cell o averages the
 * source over [o·inN/outN, (o+1)·inN/outN) in source-pixel units, so weights are overlap lengths / cell length.
 * For inN = k·outN this is the k-pixel box mean; for upsampling it repeats pixels (piecewise-constant function).
 */
export function areaWeights(inN: number, outN: number): { idx: Int32Array; w: Float64Array; start: Int32Array } {
  const scale = inN / outN;
  const idx: number[] = [], w: number[] = [], start = new Int32Array(outN + 1);
  for (let o = 0; o < outN; o++) {
    start[o] = idx.length;
    const a = o * scale, b = (o + 1) * scale;
    for (let i = Math.floor(a); i < Math.min(inN, Math.ceil(b)); i++) {
      const ov = Math.min(b, i + 1) - Math.max(a, i);
      if (ov > 1e-12) { idx.push(i); w.push(ov / scale); }
    }
  }
  start[outN] = idx.length;
  return { idx: Int32Array.from(idx), w: Float64Array.from(w), start };
}

/**
 * Exact area resizing of every image to outH×outW (treating each pixel as the average of a piecewise-constant
 * function over its cell). Separable: rows, then columns, in float64. images [N, H, W, C] → [N, outH, outW, C].
 */
export function areaResize(set: ImageSet, outH: number, outW: number = outH): ImageSet {
  const [n, h, w, c] = set.shape;
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
    throw new Error(`areaResize: size must be positive integers, got ${outH}×${outW}`);
  }
  if (outH === h && outW === w) return { ...set, images: set.images.slice() };
  const wy = areaWeights(h, outH), wx = areaWeights(w, outW);
  const out = new Float32Array(n * outH * outW * c);
  const rows = new Float64Array(outH * w * c); // one image resized along H: [outH, W, C]
  for (let b = 0; b < n; b++) {
    const src = b * h * w * c;
    rows.fill(0);
    for (let o = 0; o < outH; o++) {
      for (let k = wy.start[o]; k < wy.start[o + 1]; k++) {
        const s = src + wy.idx[k] * w * c, wk = wy.w[k], d = o * w * c;
        for (let j = 0; j < w * c; j++) rows[d + j] += wk * set.images[s + j];
      }
    }
    const dst = b * outH * outW * c;
    for (let y = 0; y < outH; y++) {
      for (let o = 0; o < outW; o++) {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let k = wx.start[o]; k < wx.start[o + 1]; k++) acc += wx.w[k] * rows[(y * w + wx.idx[k]) * c + ch];
          out[dst + (y * outW + o) * c + ch] = acc;
        }
      }
    }
  }
  return { images: out, shape: [n, outH, outW, c], labels: set.labels };
}

/** Pads every image by `pad` pixels on each side with `value` (−1 = Fashion-MNIST's black background). */
export function padImages(set: ImageSet, pad: number, value = -1): ImageSet {
  const [n, h, w, c] = set.shape;
  if (pad === 0) return { ...set, images: set.images.slice() };
  const H = h + 2 * pad, W = w + 2 * pad;
  const out = new Float32Array(n * H * W * c).fill(value);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const s = ((b * h + y) * w) * c;
      out.set(set.images.subarray(s, s + w * c), ((b * H + y + pad) * W + pad) * c);
    }
  }
  return { images: out, shape: [n, H, W, c], labels: set.labels };
}

/**
 * Gaussian blur with standard deviation `sigma` pixels, separable, kernel truncated at 4σ and renormalised,
 * borders by edge replication (so a constant image stays constant).
 */
export function gaussianBlur(set: ImageSet, sigma: number): ImageSet {
  const [n, h, w, c] = set.shape;
  const r = Math.max(1, Math.ceil(4 * sigma));
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += (k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma)));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const clamp = (v: number, m: number) => (v < 0 ? 0 : v >= m ? m - 1 : v);
  const out = new Float32Array(set.images.length);
  const tmp = new Float64Array(h * w * c);
  for (let b = 0; b < n; b++) {
    const base = b * h * w * c;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) acc += k[i + r] * set.images[base + (y * w + clamp(x + i, w)) * c + ch];
      tmp[(y * w + x) * c + ch] = acc;
    }
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) acc += k[i + r] * tmp[(clamp(y + i, h) * w + x) * c + ch];
      out[base + (y * w + x) * c + ch] = acc;
    }
  }
  return { images: out, shape: [n, h, w, c], labels: set.labels };
}

/** Mean over channels: [N, H, W, C] → [N, H, W, 1] (how 3-channel images meet the 1-channel feature net). */
export function toGray(set: ImageSet): ImageSet {
  const [n, h, w, c] = set.shape;
  if (c === 1) return set;
  const out = new Float32Array(n * h * w);
  for (let p = 0; p < n * h * w; p++) {
    let acc = 0;
    for (let ch = 0; ch < c; ch++) acc += set.images[p * c + ch];
    out[p] = acc / c;
  }
  return { images: out, shape: [n, h, w, 1], labels: set.labels };
}
