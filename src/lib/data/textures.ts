/**
 * Texture crops (three CC0 512×512 photographs in data/textures/). A sample is a random S×S crop of one photograph,
 * area-downsampled to r×r; the same crop rendered at any r' ≤ S (or at S itself) is ground truth above the training
 * resolution. The sources are grayscale: channels 1 gives gray, channels 3 repeats it (for 3-channel models).
 */
import * as fs from "fs";
import { PNG } from "pngjs";
import { Rng } from "../runtime/rng";
import { dataPath } from "./paths";
import { areaResize, ImageSet } from "./image-ops";

/** The three texture photographs shipped in data/textures (CC0). */
export const TEXTURE_NAMES = ["brick", "grass", "gravel"] as const;
/** A shipped texture photograph's name. */
export type TextureName = (typeof TEXTURE_NAMES)[number];

/** One decoded photograph, gray in [−1, 1]: pixels [H, W]. */
export interface Texture { name: TextureName; width: number; height: number; pixels: Float32Array }

const cache = new Map<TextureName, Texture>();

/** Loads a texture photograph as gray values in [−1, 1] (cached). */
export function loadTexture(name: TextureName): Texture {
  const hit = cache.get(name);
  if (hit) return hit;
  if (!TEXTURE_NAMES.includes(name)) throw new Error(`unknown texture '${name}' (expected ${TEXTURE_NAMES.join(", ")})`);
  const p = dataPath("textures", `${name}.png`);
  let png: PNG;
  try {
    png = PNG.sync.read(fs.readFileSync(p));
  } catch (e) {
    throw new Error(`cannot read texture ${p}: ${(e as Error).message}`);
  }
  const { width, height, data } = png; // data: RGBA bytes
  const pixels = new Float32Array(width * height);
  // Luma of the decoded RGB; for these grayscale files R = G = B, so this is the stored gray value.
  for (let i = 0; i < width * height; i++) {
    pixels[i] = (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 127.5 - 1;
  }
  const t = { name, width, height, pixels };
  cache.set(name, t);
  return t;
}

/** Where a sample came from: top-left (x, y) and side S in full-resolution pixels. */
export interface TextureCrop { texture: TextureName; x: number; y: number; size: number }

/** Where and how texture crops are cut: count, crop side, output size and random source. */
export interface TextureCropOptions {
  n: number;
  /** output side r */
  resolution: number;
  /** side S of the full-resolution crop (default 4·r, capped at 512); r ≤ S means pure downsampling */
  cropSize?: number;
  /** 1 (gray, default) or 3 (gray repeated) */
  channels?: 1 | 3;
  /** which photographs (default all three, chosen uniformly per sample) */
  textures?: readonly TextureName[];
  rng: Rng;
}

/** Draws crop positions (seeded); integer offsets so that the full-resolution crop is exact pixels. */
export function sampleTextureCrops(opts: Omit<TextureCropOptions, "resolution" | "channels"> & { cropSize: number }): TextureCrop[] {
  const names = opts.textures ?? TEXTURE_NAMES;
  const out: TextureCrop[] = [];
  for (let i = 0; i < opts.n; i++) {
    const t = loadTexture(names[opts.rng.int(names.length)]);
    if (!Number.isInteger(opts.cropSize) || opts.cropSize < 1 || opts.cropSize > Math.min(t.width, t.height)) {
      throw new Error(`cropSize must be an integer in [1, ${Math.min(t.width, t.height)}], got ${opts.cropSize}`);
    }
    out.push({
      texture: t.name,
      x: opts.rng.int(t.width - opts.cropSize + 1),
      y: opts.rng.int(t.height - opts.cropSize + 1),
      size: opts.cropSize,
    });
  }
  return out;
}

/**
 * Renders crops at resolution×resolution by exact area averaging of the full-resolution crop:
 * images [N, r, r, C]; labels = index of the texture in TEXTURE_NAMES.
 */
export function renderTextureCrops(crops: readonly TextureCrop[], resolution: number, channels: 1 | 3 = 1): ImageSet {
  if (channels !== 1 && channels !== 3) throw new Error(`channels must be 1 or 3, got ${channels}`);
  const r = resolution;
  const images = new Float32Array(crops.length * r * r * channels);
  const labels = new Uint8Array(crops.length);
  crops.forEach((c, b) => {
    const t = loadTexture(c.texture);
    const full = new Float32Array(c.size * c.size); // [S, S]
    for (let y = 0; y < c.size; y++) full.set(t.pixels.subarray((c.y + y) * t.width + c.x, (c.y + y) * t.width + c.x + c.size), y * c.size);
    const small = areaResize({ images: full, shape: [1, c.size, c.size, 1] }, r).images;
    for (let p = 0; p < r * r; p++) for (let ch = 0; ch < channels; ch++) images[(b * r * r + p) * channels + ch] = small[p];
    labels[b] = TEXTURE_NAMES.indexOf(c.texture);
  });
  return { images, shape: [crops.length, r, r, channels], labels };
}

/** Random texture crops at resolution r (seeded), with the crops to re-render them at any other resolution. */
export function textureCrops(opts: TextureCropOptions): ImageSet & { crops: TextureCrop[] } {
  const r = opts.resolution;
  if (!Number.isInteger(r) || r < 1) throw new Error(`resolution must be a positive integer, got ${r}`);
  const cropSize = opts.cropSize ?? Math.min(512, 4 * r);
  const crops = sampleTextureCrops({ ...opts, cropSize });
  return { ...renderTextureCrops(crops, r, opts.channels ?? 1), crops };
}
