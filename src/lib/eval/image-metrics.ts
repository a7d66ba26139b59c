/** Image metrics on pixels (no feature network): PSNR, and the area downsampling that super-resolution is scored by. */
import { tf } from "../runtime/backend";
import type { ImageSet } from "../data/image-ops";

/** PSNR in dB of images in [−1, 1] (peak-to-peak 2), over the pixels where weight > 0 (all when absent). */
export function psnr(a: Float32Array, b: Float32Array, weight?: Float32Array): number {
  if (a.length !== b.length) throw new Error(`psnr: ${a.length} vs ${b.length} values`);
  let se = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    const w = weight ? weight[i] : 1;
    if (w <= 0) continue;
    se += w * (a[i] - b[i]) ** 2;
    n += w;
  }
  if (n === 0) return NaN;
  return 10 * Math.log10(4 / Math.max(se / n, 1e-20));
}

/** PSNR (dB) of images against ground truth of the same shape. */
export function imagePsnr(a: ImageSet, truth: ImageSet): number {
  return psnr(a.images, truth.images);
}

/** Area downsampling by an integer factor f: x [B,H,W,C] → [B,H/f,W/f,C] (differentiable; H, W divisible by f). */
export function areaDown(x: tf.Tensor4D, f: number): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  if (f === 1) return x;
  if (H % f || W % f) throw new Error(`areaDown: ${H}×${W} is not divisible by ${f}`);
  return tf.mean(tf.reshape(x, [B, H / f, f, W / f, f, C]), [2, 4]) as tf.Tensor4D;
}
