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
 *   - training draws round(coordRatio·H·W) points per image (coordinates.ts `subsetCount`);
 *   - the kNN interpolation to the U-Net's fixed unet.res grid gathers (r/unet.res)² points per grid node;
 *   - the DDIM step grid (diffusion.ddimGrid) the samplers step through.
 * `gridOf(cfg, grid)` makes the value once; the network, the autoencoder's encoder, the authors' architecture, the
 * sampling pipeline and the experiments receive it (or its model part, `modelGrid`) and read these numbers from it:
 * the rules themselves (kernel-resample.ts, the mollifier's formulas, `subsetCount`) are called from here only
 * (tests/lib/config/grid.test.ts pins that).
 * For square grids r = H = W, and every number is the one the lab has always used.
 */
import type { DdimGrid, KernelResampling, LabConfig, ModelConfig } from "./config";
import { Mollifier } from "../diffusion/mollifier";
import { ddimTimesteps, namedSchedule, Schedule } from "../diffusion/schedules";
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

/**
 * What the network needs of a grid (the model's part of `Grid`): plain data, no tensors. The authors' architecture
 * sizes its window by the authors' rule and has their two off-grid kernel rules only: "authors" (resampled) or "none"
 * (kept); its config's default "extent" reads as "authors".
 */
export interface ModelGrid {
  readonly H: number;
  readonly W: number;
  /** the training resolution r₀ */
  readonly r0: number;
  /** r = √(H·W) */
  readonly resolution: number;
  /** r / r₀ */
  readonly scale: number;
  /** how kernels trained at r₀ are resampled to r (the model's rule; "authors" or "none" for arch "authors") */
  readonly kernelResampling: KernelResampling;
  /** the model's sparse kernel size at this grid (model.kernelSize at r₀) */
  readonly kernelSize: number;
  /** the size at this grid of any k×k kernel trained at r₀ (the sparse-downsample levels' larger kernels) */
  kernelSizeOf(k: number): number;
  /** grid points per U-Net node along a side, r / unet.res: the kNN's gathering scale */
  readonly knnScale: number;
}

/** Every grid-dependent quantity of a config on one grid (see the module note). */
export interface Grid extends ModelGrid {
  /** mollifier std in pixels of this grid, [down the rows, along the columns] */
  readonly mollifierStdPx: [number, number];
  /** white-noise multiplier c = r/r₀ (1 when T = I) */
  readonly noiseMultiplier: number;
  /** points per image when training on this grid: round(coordRatio·H·W), at least 1 */
  readonly pointsPerImage: number;
  /** the DDIM step grid rule (diffusion.ddimGrid) */
  readonly ddimGrid: DdimGrid;
  /** the sampler's timesteps for `steps` steps on that rule (descending, of the T-step schedule) */
  ddimTimesteps(steps: number): number[];
}

/** The model part of the grid value: kernel sizes and resolution of `model` on `grid`. */
export function modelGrid(model: ModelConfig, grid: GridSize): ModelGrid {
  const [H, W] = gridShape(grid);
  const r0 = model.resolution, r = gridResolution(H, W);
  // the authors' architecture: k' by the authors' size rule (their normaliser's window) under either of their two
  // off-grid rules, "authors" (kernel resampled) or "none" (kernel kept; nn/authors/sparse-unet.ts OFF_GRID_KERNEL)
  const authors = model.arch === "authors";
  const mode: KernelResampling = authors ? (model.kernelResampling === "none" ? "none" : "authors") : model.kernelResampling;
  const kernelSizeOf = (k: number) => resampledKernelSize(k, r0, r, authors ? "authors" : mode);
  return withMethods({ H, W, r0, resolution: r, scale: r / r0, kernelResampling: mode, kernelSize: kernelSizeOf(model.kernelSize), knnScale: r / model.unet.res }, { kernelSizeOf });
}

/** Freezes plain data with non-enumerable methods, so printing or spreading a grid value shows its numbers only. */
function withMethods<D extends object, M extends object>(data: D, methods: M): Readonly<D & M> {
  for (const [k, f] of Object.entries(methods)) Object.defineProperty(data, k, { value: f, enumerable: false });
  return Object.freeze(data) as D & M;
}

/** The model part of the grid value for a set on an H×W grid: `grid` after checking it is that grid, else made here. */
export function modelGridFor(set: { H: number; W: number }, model: ModelConfig, grid?: ModelGrid): ModelGrid {
  if (!grid) return modelGrid(model, [set.H, set.W]);
  if (grid.H !== set.H || grid.W !== set.W) throw new Error(`a grid value for ${grid.H}×${grid.W} given for a set on ${set.H}×${set.W}`);
  return grid;
}

/** The grid value: every grid-dependent quantity of `cfg` on `grid` (default: the training grid r₀×r₀). */
export function gridOf(cfg: LabConfig, grid: GridSize = cfg.model.resolution): Grid {
  const m = modelGrid(cfg.model, grid);
  const { H, W } = m;
  // the mollifier's own formulas (no tensors are made until it is applied)
  const T = new Mollifier({ stdRef: cfg.diffusion.mollifierStd, resRef: m.r0 });
  const { ddimGrid, timesteps: Tsteps } = cfg.diffusion;
  return withMethods({
    ...m,
    mollifierStdPx: T.stdAt(H, W),
    noiseMultiplier: T.noiseMultiplier(H, W),
    pointsPerImage: subsetCount(H, W, { ratio: cfg.train.coordRatio }),
    ddimGrid,
  }, { kernelSizeOf: m.kernelSizeOf, ddimTimesteps: (steps: number) => ddimTimesteps(ddimGrid, Tsteps, steps) });
}

/** `gridOf` with another DDIM step grid (a sampling call's override of diffusion.ddimGrid). */
export function withDdimGrid(cfg: LabConfig, ddimGrid: DdimGrid | undefined): LabConfig {
  return ddimGrid === undefined || ddimGrid === cfg.diffusion.ddimGrid ? cfg : { ...cfg, diffusion: { ...cfg.diffusion, ddimGrid } };
}
