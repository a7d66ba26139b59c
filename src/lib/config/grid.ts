/**
 * Everything that depends on the grid, derived in one place from a config and an H×W grid.
 *
 * What "resolution" means. The model is trained on the square r₀×r₀ grid, r₀ = cfg.model.resolution. The resolution
 * of an H×W grid is r = √(H·W): the side of the square grid with as many points. Quantities that can be per-axis are
 * per-axis; quantities that need one number use r (so a transposed grid gives the transposed result):
 *   - the mollifier T is one continuous Gaussian: σ = stdRef·H/r₀ px down the rows, stdRef·W/r₀ px along the columns
 *     (∞-Diff §3.2; Mollifier.stdAt);
 *   - the white-noise multiplier is c = r/r₀ = √(H·W)/r₀ (1 for T = I), so T(cξ) keeps its per-pixel variance
 *     (Mollifier.noiseMultiplier);
 *   - the square sparse kernels (k at r₀) are resampled to k' at r (kernel-resample.ts, ∞-Diff §5);
 *   - training draws round(coordRatio·H·W) points per image (coordinates.ts `subsetCount`).
 * For square grids r = H = W, and every number is the one the lab has always used.
 */
import type { LabConfig } from "./config";
import { Mollifier } from "../diffusion/mollifier";
import { namedSchedule, Schedule } from "../diffusion/schedules";
import { subsetCount } from "../coords/coordinates";
import { resampledKernelSize } from "../operators/kernel-resample";

/** A grid: a side r (r×r) or [H, W]. */
export type GridSize = number | readonly [number, number];

/** [H, W] of a grid size; throws on a side that is not a positive integer. */
export function gridShape(grid: GridSize): [number, number] {
  const [H, W] = typeof grid === "number" ? [grid, grid] : grid;
  for (const v of [H, W]) if (!Number.isInteger(v) || v < 1) throw new Error(`resolution must be a positive integer, got ${v}`);
  return [H, W];
}

/** The resolution of an H×W grid: r = √(H·W) (exactly H on square grids). */
export function gridResolution(H: number, W: number): number {
  return H === W ? H : Math.sqrt(H * W);
}

/** The diffusion process a config defines: its schedule and its mollifier (one continuous T; dispose() when done). */
export interface DiffusionProcess {
  schedule: Schedule;
  mollifier: Mollifier;
}

/** The schedule and mollifier of `cfg` (∞-Diff §2, §3.2). The mollifier allocates per-grid tensors lazily. */
export function diffusionProcess(cfg: LabConfig): DiffusionProcess {
  return {
    schedule: namedSchedule(cfg.diffusion.schedule, cfg.diffusion.timesteps),
    mollifier: new Mollifier({ stdRef: cfg.diffusion.mollifierStd, resRef: cfg.model.resolution }),
  };
}

/** The numbers that depend on the grid (see the module note); plain data, no tensors. */
export interface GridQuantities {
  H: number;
  W: number;
  /** r = √(H·W) */
  resolution: number;
  /** r / r₀ */
  scale: number;
  /** mollifier std in pixels of this grid, [down the rows, along the columns] */
  mollifierStdPx: [number, number];
  /** white-noise multiplier c = r/r₀ (1 when T = I) */
  noiseMultiplier: number;
  /** the sparse kernel size at this grid (k at r₀) */
  kernelSize: number;
  /** points per image when training on this grid: round(coordRatio·H·W), at least 1 */
  pointsPerImage: number;
}

/** Every grid-dependent number of `cfg` on `grid` (default: the training grid r₀×r₀). */
export function derived(cfg: LabConfig, grid: GridSize = cfg.model.resolution): GridQuantities {
  const [H, W] = gridShape(grid);
  const r0 = cfg.model.resolution, r = gridResolution(H, W);
  // the mollifier's own formulas (no tensors are made until it is applied)
  const T = new Mollifier({ stdRef: cfg.diffusion.mollifierStd, resRef: r0 });
  return {
    H, W,
    resolution: r,
    scale: r / r0,
    mollifierStdPx: T.stdAt(H, W),
    noiseMultiplier: T.noiseMultiplier(H, W),
    kernelSize: resampledKernelSize(cfg.model.kernelSize, r0, r),
    pointsPerImage: subsetCount(H, W, { ratio: cfg.train.coordRatio }),
  };
}
