/**
 * The discretisation-invariance experiment for sparse kernels (∞-Diff §4 property 2, §5 "bi-linearly interpolating
 * kernels"): a k×k depthwise kernel "trained" at resolution r₀ is applied (Eq. 20 on the full grid) to the same
 * continuous function sampled at r₀ and at s·r₀, with the kernel kept as is ("none") or resampled
 * (`resampleKernel`, "per-tap" or "extent"); the fine output, read bilinearly at the r₀ cell centres, is compared
 * with the r₀ output. Error: interior relative RMS (points whose r₀ window lies inside the domain).
 */
import { tf } from "../runtime/backend";
import { fullGrid } from "../coords/coordinates";
import { GridToPoints } from "./interpolation";
import { KernelMap } from "./kernel-map";
import { KernelResampleMode, resampleKernel } from "./kernel-resample";
import { sparseDepthwiseConv } from "./sparse-conv";

/** How the kernel follows the resolution in the invariance check: not at all, or by a resampling rule. */
export type InvarianceMode = "none" | KernelResampleMode;

/** The error of a sparse convolution at a finer grid against the same operator at r₀, for one rule and scale. */
export interface InvarianceRow {
  /** the fine resolution s·r₀ */
  resolution: number;
  scale: number;
  mode: InvarianceMode;
  /** side of the kernel applied at `resolution` */
  kernelSize: number;
  /** interior relative RMS error of the fine output (read at the r₀ cell centres) against the r₀ output */
  relError: number;
}

/** Eq. 20 on every cell of an r×r grid: field [1, r, r, C], kernel [k', k', C] → [1, r, r, C] (zero bias). */
export function denseGridSparseConv(field: tf.Tensor4D, kernel: tf.Tensor3D): tf.Tensor4D {
  const [, r, w, C] = field.shape;
  const km = KernelMap.build(fullGrid(1, r, w), kernel.shape[0]);
  const out = tf.tidy(() =>
    tf.reshape(sparseDepthwiseConv(tf.reshape(field, [1, r * w, C]) as tf.Tensor3D, km, kernel, tf.zeros([C]) as tf.Tensor1D), [1, r, w, C]) as tf.Tensor4D);
  km.dispose();
  return out;
}

/**
 * Runs the experiment. `field(r)` samples one continuous function on an r×r grid as [1, r, r, C] (its tensors are
 * disposed here); kernel [k, k, C] at r₀; `margin` r₀ cells are left out at each border (default (k+1)/2).
 * Returns one row per (scale, mode), scales in the given order.
 */
export function discretisationInvariance(opts: {
  kernel: tf.Tensor3D;
  r0: number;
  scales: number[];
  field: (r: number) => tf.Tensor4D;
  modes?: InvarianceMode[];
  margin?: number;
}): InvarianceRow[] {
  const { kernel, r0 } = opts;
  const k = kernel.shape[0], C = kernel.shape[2];
  const modes = opts.modes ?? ["none", "per-tap", "extent"];
  const m = opts.margin ?? (k + 1) / 2;
  const n = r0 - 2 * m;
  if (!(n >= 1)) throw new Error(`discretisationInvariance: margin ${m} leaves no interior at r₀ = ${r0}`);
  const sample = (r: number) => {
    const f = opts.field(r);
    if (f.shape[0] !== 1 || f.shape[1] !== r || f.shape[2] !== r || f.shape[3] !== C) {
      tf.dispose(f);
      throw new Error(`field(${r}) gave [${f.shape}], expected [1, ${r}, ${r}, ${C}]`);
    }
    return f;
  };
  const f0 = sample(r0);
  const base = denseGridSparseConv(f0, kernel);
  const ref = tf.tidy(() => tf.slice(tf.reshape(base, [r0, r0, C]), [m, m, 0], [n, n, C]));
  const refPower = tf.tidy(() => tf.mean(tf.square(ref)).dataSync()[0]);
  const atCoarse = fullGrid(1, r0, r0);
  const rows: InvarianceRow[] = [];
  for (const s of opts.scales) {
    const r = Math.round(r0 * s);
    const f = sample(r);
    const reader = GridToPoints.build(atCoarse, r, r); // fine output read at the r₀ cell centres
    for (const mode of modes) {
      const kern = mode === "none" ? tf.clone(kernel) : resampleKernel(kernel, r0, r, mode);
      const fine = denseGridSparseConv(f, kern);
      const err = tf.tidy(() => {
        const a = tf.slice(tf.reshape(reader.apply(fine), [r0, r0, C]), [m, m, 0], [n, n, C]);
        return Math.sqrt(tf.mean(tf.square(tf.sub(a, ref))).dataSync()[0] / refPower);
      });
      rows.push({ resolution: r, scale: s, mode, kernelSize: kern.shape[0], relError: err });
      tf.dispose([kern, fine]);
    }
    reader.dispose();
    tf.dispose(f);
  }
  tf.dispose([f0, base, ref]);
  return rows;
}
