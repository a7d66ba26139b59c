/**
 * Image grids: a batch of NHWC images in [−1, 1] → one PNG → an inline `<img>` (data URL), so grids render in
 * tslab, in nbconvert's HTML export and offline alike. No tensor math here: a tensor is read once with dataSync().
 */
import { PNG } from "pngjs";

/** A batch of images [N, H, W, C] (C = 1 or 3) with values in [−1, 1]: plain data + shape, or a tfjs tensor. */
export type ImageBatch =
  | { data: ArrayLike<number>; shape: readonly number[] }
  | {
      shape: readonly number[];
      /** the values, row-major (a tfjs tensor's own method) */
      dataSync(): ArrayLike<number>;
    };

/** Layout of an image grid: columns, padding, background, value range. */
export interface GridOptions {
  /** images per row; default ceil(sqrt(N)) */
  cols?: number;
  /** pixels of background between images; default 1 */
  pad?: number;
  /** background grey level in [0, 255]; default 255 */
  background?: number;
}

/** An RGBA image: width, height and bytes. */
export interface RGBAImage {
  width: number;
  height: number;
  /** row-major RGBA bytes, length 4·width·height */
  rgba: Uint8Array;
}

function batchData(batch: ImageBatch): { data: ArrayLike<number>; shape: number[] } {
  const shape = Array.from(batch.shape);
  // a tfjs tensor also has a `data` (method): test for dataSync first
  const data = "dataSync" in batch && typeof batch.dataSync === "function" ? batch.dataSync() : (batch as { data: ArrayLike<number> }).data;
  if (shape.length === 3) shape.unshift(1); // a single HWC image
  if (shape.length !== 4) throw new Error(`image batch must be [N,H,W,C], got [${shape.join(",")}]`);
  const [n, h, w, c] = shape;
  if (c !== 1 && c !== 3) throw new Error(`image batch needs 1 or 3 channels, got ${c}`);
  if (data.length !== n * h * w * c) throw new Error(`image batch has ${data.length} values for shape [${shape.join(",")}]`);
  return { data, shape };
}

/** [−1, 1] → byte, rounding to nearest and clipping (the inverse of x/127.5 − 1). */
export function toByte(v: number): number {
  const b = Math.round((v + 1) * 127.5);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/** Tiles a batch [N,H,W,C] into one RGBA image, row-major, `cols` per row. */
export function imageGrid(batch: ImageBatch, opts: GridOptions = {}): RGBAImage {
  const { data, shape } = batchData(batch);
  const [n, h, w, c] = shape;
  const cols = Math.max(1, Math.min(n, opts.cols ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const pad = opts.pad ?? 1;
  const bg = opts.background ?? 255;
  const width = cols * w + (cols - 1) * pad;
  const height = rows * h + (rows - 1) * pad;
  const rgba = new Uint8Array(width * height * 4).fill(bg);
  for (let i = 0; i < n; i++) {
    const x0 = (i % cols) * (w + pad), y0 = Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((i * h + y) * w + x) * c;
        const dst = ((y0 + y) * width + x0 + x) * 4;
        const r = toByte(data[src]);
        rgba[dst] = r;
        rgba[dst + 1] = c === 3 ? toByte(data[src + 1]) : r;
        rgba[dst + 2] = c === 3 ? toByte(data[src + 2]) : r;
        rgba[dst + 3] = 255;
      }
    }
  }
  return { width, height, rgba };
}

/** Encodes RGBA bytes as a PNG file. */
export function encodePNG(img: RGBAImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.rgba.buffer, img.rgba.byteOffset, img.rgba.byteLength);
  return PNG.sync.write(png);
}

/** Decodes a PNG file (the test round trip; also handy to check a saved grid). */
export function decodePNG(buf: Buffer): RGBAImage {
  const png = PNG.sync.read(buf);
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}

/** An image grid as an inline HTML view, with its PNG bytes. */
export interface ImageGridView {
  kind: "html";
  html: string;
  /** the PNG bytes, e.g. to save beside a run */
  png: Buffer;
}

const ZOOM_STYLE = "<style>.infty-zoom{cursor:zoom-in}.infty-zoom:focus{cursor:zoom-out;outline:none;" +
  "width:var(--zoom-w);height:var(--zoom-h)}</style>";

/**
 * An inline `<img>` of the grid. `scale` enlarges small images on screen with nearest-neighbour pixels (CSS), so
 * a 28×28 sample stays crisp; a click enlarges it `zoom` times more (default 2; 1 = off) and a click elsewhere
 * restores it — plain CSS, so it works in exported HTML and untrusted notebooks too. `title` goes above it.
 */
export function imageGridView(batch: ImageBatch, opts: GridOptions & { scale?: number; zoom?: number; title?: string } = {}): ImageGridView {
  const img = imageGrid(batch, opts);
  const png = encodePNG(img);
  const scale = opts.scale ?? 1;
  const zoom = opts.zoom ?? 2;
  const [w, h] = [img.width * scale, img.height * scale];
  const title = opts.title ? `<div style="font:13px sans-serif;margin:4px 0">${escapeHTML(opts.title)}</div>` : "";
  const zoomAttrs = zoom > 1
    ? ` class="infty-zoom" tabindex="0" title="click to zoom" style="image-rendering:pixelated;--zoom-w:${w * zoom}px;--zoom-h:${h * zoom}px"`
    : ` style="image-rendering:pixelated"`;
  const html =
    `${zoom > 1 ? ZOOM_STYLE : ""}<figure class="infty-img" style="margin:4px 0">${title}<img alt="${escapeHTML(opts.title ?? "image grid")}" ` +
    `width="${w}" height="${h}"${zoomAttrs} ` +
    `src="data:image/png;base64,${png.toString("base64")}"></figure>`;
  return { kind: "html", html, png };
}

/** Text made safe to place in HTML. */
export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string);
}

/**
 * Images of different sizes side by side: each set [n, r, r, C] is pixel-replicated to the largest side R (R a multiple
 * of every r) and the result interleaved so row b shows image b of every set. → one batch [n·sets, R, R, C] for
 * `imageGrid(..., {cols: sets})`. Replication (not interpolation) keeps each resolution's own grid visible.
 */
export function sideBySide(sets: Array<{ images: ArrayLike<number>; shape: readonly number[] }>): { data: Float32Array; shape: number[] } {
  const n = sets[0].shape[0], C = sets[0].shape[3];
  const R = Math.max(...sets.map((s) => s.shape[1]));
  const per = R * R * C, data = new Float32Array(n * sets.length * per);
  sets.forEach((s, k) => {
    const r = s.shape[1];
    if (s.shape[0] !== n || s.shape[2] !== r || s.shape[3] !== C || R % r !== 0) {
      throw new Error(`sideBySide: set ${k} has shape [${s.shape.join(",")}]; need [${n}, r, r, ${C}] with r dividing ${R}`);
    }
    const f = R / r;
    for (let b = 0; b < n; b++) {
      const base = (b * sets.length + k) * per;
      for (let i = 0; i < R; i++)
        for (let j = 0; j < R; j++)
          for (let c = 0; c < C; c++) data[base + (i * R + j) * C + c] = s.images[((b * r + Math.floor(i / f)) * r + Math.floor(j / f)) * C + c];
    }
  });
  return { data, shape: [n * sets.length, R, R, C] };
}
