/**
 * Kernel resampling as plain arrays for a slider over the scale s (notebook 04): a k×k kernel trained at r₀,
 * resampled to r = s·r₀ by both readings of `resampleKernel` (∞-Diff §5), with the discretisation-invariance error
 * of Eq. 20's output at every s for the kernel kept ("none") and resampled.
 */
import { tf } from "../../runtime/backend";
import { KernelResampleMode, resampleKernel } from "../../operators/kernel-resample";
import { discretisationInvariance } from "../../operators/discretisation-invariance";

/** the two readings the slider shows side by side */
type ShownMode = Extract<KernelResampleMode, "extent" | "per-tap">;

/** One frame of the kernel-resampling slider: the kernel resampled to one scale by each rule. */
export interface KernelStep {
  scale: number;
  resolution: number;
  /** channel 0 of the resampled kernel per mode, row-major [k'·k'], and its side k' */
  taps: Record<ShownMode, Float32Array>;
  size: Record<ShownMode, number>;
  /** relative RMS error of the output at s·r₀ against the r₀ output, per mode (s = 1: 0) */
  error: Record<ShownMode | "none", number>;
}

/** kernel [k, k, C] at r₀; field(r) samples one continuous function as [1, r, r, C] (see discretisationInvariance). */
export function kernelResamplingSteps(opts: {
  kernel: tf.Tensor3D;
  r0: number;
  scales: number[];
  field: (r: number) => tf.Tensor4D;
}): KernelStep[] {
  const { kernel, r0 } = opts;
  const finer = opts.scales.filter((s) => s !== 1);
  const rows = finer.length ? discretisationInvariance({ kernel, r0, scales: finer, field: opts.field }) : [];
  return opts.scales.map((scale) => {
    const resolution = Math.round(r0 * scale);
    const taps = {} as Record<ShownMode, Float32Array>, size = {} as Record<ShownMode, number>;
    for (const mode of ["extent", "per-tap"] as const) {
      const k = resampleKernel(kernel, r0, resolution, mode);
      taps[mode] = tf.tidy(() => tf.slice(k, [0, 0, 0], [-1, -1, 1]).dataSync() as Float32Array);
      size[mode] = k.shape[0];
      k.dispose();
    }
    const error: KernelStep["error"] = { none: 0, "per-tap": 0, extent: 0 };
    for (const r of rows.filter((x) => x.scale === scale)) if (r.mode in error) error[r.mode as keyof KernelStep["error"]] = r.relError;
    return { scale, resolution, taps, size, error };
  });
}
