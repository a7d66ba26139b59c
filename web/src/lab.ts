/**
 * What the page asks of the model, with no DOM: load the shipped checkpoint from the page's own origin, sample step by
 * step (the library's one sampling pipeline, so a fixed seed gives `infty sample`'s numbers), the same noise field at
 * several resolutions, inpainting and super-resolution. Everything here is the library's browser entry point.
 */
import {
  tf, BackendInfo, Checkpoint, GridDenoiser, ImageSet, LoadedModel, SamplerStep, Rng,
  clipToDataRange, ddimSteps, describeBackend, initBackend, inpaint, modelFromCheckpoint, nestedWhiteNoise,
  parseCheckpoint, prepareSampling, priorOf, resizeImages, runSampler, superResolve,
} from "../../src/lib/browser";

export { describeBackend };

/** Tensors alive on the backend (the browser tests' leak check). */
export const liveTensors = (): number => tf.memory().numTensors;
export type { BackendInfo, ImageSet, LoadedModel };

/** Thrown from a step callback to end a run early (the samplers free their tensors on the way out). */
export class Stopped extends Error {
  constructor(readonly at: number) {
    super(`stopped after step ${at}`);
    this.name = "Stopped";
  }
}

export interface LoadedLab {
  model: LoadedModel;
  backend: BackendInfo;
  /** checkpoint bytes and load time */
  bytes: number;
  seconds: number;
}

/** Starts the backend (`request`: "webgpu", "wasm", "cpu", or the first that works) and loads the checkpoint at `url`. */
export async function loadLab(url: string, request?: string, onProgress?: (loaded: number, total: number) => void): Promise<LoadedLab> {
  const t0 = performance.now();
  const backend = await initBackend(request || undefined);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot fetch the checkpoint ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  let bytes: Uint8Array;
  if (res.body && onProgress) {
    const reader = res.body.getReader(), parts: Uint8Array[] = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.length;
      onProgress(loaded, total);
    }
    bytes = new Uint8Array(loaded);
    let o = 0;
    for (const p of parts) { bytes.set(p, o); o += p.length; }
  } else {
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  const ck: Checkpoint = parseCheckpoint(bytes, url);
  const model = modelFromCheckpoint(ck, url);
  return { model, backend, bytes: bytes.length, seconds: (performance.now() - t0) / 1000 };
}

export interface SampleRequest {
  resolution: number;
  seed: number;
  steps: number;
  sampler: "ddim" | "ddpm";
  /** unit-variance white noise [r·r·C] for x_T instead of drawing it from the seed */
  noise?: Float32Array;
}

/** One sampler step as the page shows it: the state x_s and the current estimate x̂₀ = Wiener(predicted Tx₀), clipped. */
export interface StepView {
  index: number;
  steps: number;
  t: number;
  x: Float32Array;
  x0: Float32Array;
}

/**
 * Draws one sample at r×r exactly as `sampleModel` does for n = 1 (same prior draw, timesteps, sampler options and
 * final clip), calling `onStep` after every step; `onStep` may throw `Stopped` to end the run.
 */
export async function sample(model: LoadedModel, req: SampleRequest, onStep?: (v: StepView) => void | Promise<void>): Promise<ImageSet> {
  const { cfg, net } = model;
  const r = req.resolution, C = cfg.model.channels;
  if (!Number.isInteger(r) || r < 2) throw new Error(`resolution must be an integer ≥ 2, got ${r}`);
  const run = prepareSampling(cfg);
  const grid = run.grid([r, r]);
  const timesteps = grid.ddimTimesteps(req.steps);
  const denoiser = new GridDenoiser(net);
  const rng = new Rng(req.seed);
  const xT = priorOf(run, grid, 1, rng, req.noise);
  try {
    const step = async (s: SamplerStep) => {
      if (!onStep) return;
      const w = tf.tidy(() => tf.clipByValue(run.mollifier.wiener(s.Tx0, cfg.diffusion.wienerInvSnr), -1, 1));
      const [x, x0] = [(await s.x.data()) as Float32Array, (await w.data()) as Float32Array];
      w.dispose();
      await onStep({ index: s.index, steps: s.steps, t: s.t, x, x0 });
    };
    const res = await runSampler(req.sampler, denoiser.denoise, xT, timesteps, { ...run.options(grid, rng), onStep: step });
    const x0 = (await res.x0.data()) as Float32Array;
    tf.dispose([res.x0, res.Tx0]);
    return { images: clipToDataRange(x0), shape: [1, r, r, C] };
  } finally {
    xT.dispose();
    denoiser.dispose();
    run.dispose();
  }
}

export interface NoiseView {
  resolution: number;
  /** ξ_r: the fine draw area-averaged to r and rescaled to unit variance */
  white: Float32Array;
  /** x_T = T(c·ξ_r): what sampling starts from */
  mollified: Float32Array;
}

/**
 * One white-noise draw at the largest resolution R, seen at every r dividing R (nestedWhiteNoise), raw and
 * mollified as the prior x_T: the white fields differ at every r, the mollified ones are one function.
 */
export async function noiseFields(model: LoadedModel, seed: number, resolutions: number[]): Promise<{ fine: Float32Array; R: number; views: NoiseView[] }> {
  const R = Math.max(...resolutions), C = model.cfg.model.channels;
  const fine = new Rng(seed).normals(R * R * C);
  const run = prepareSampling(model.cfg);
  try {
    const views: NoiseView[] = [];
    for (const r of resolutions) {
      const white = nestedWhiteNoise(fine, 1, R, C, r);
      const xT = priorOf(run, run.grid([r, r]), 1, new Rng(0), white);
      const mollified = (await xT.data()) as Float32Array;
      xT.dispose();
      views.push({ resolution: r, white, mollified });
    }
    return { fine, R, views };
  } finally {
    run.dispose();
  }
}

export interface GuidedRequest {
  steps: number;
  seed: number;
  onStep?: (index: number, steps: number) => void | Promise<void>;
}

/** Inpaints one image [1,H,W,C] where `mask` [H·W] is 0 (reconstruction guidance, λ = 0.5 as the lab's evaluation). */
export async function inpaintImage(model: LoadedModel, image: ImageSet, mask: Float32Array, req: GuidedRequest & { lambda?: number }): Promise<ImageSet> {
  const out = await inpaint(model, image, mask, {
    steps: req.steps, seed: req.seed, lambda: req.lambda ?? 0.5,
    onStep: req.onStep ? (s) => req.onStep!(s.index, s.steps) : undefined,
  });
  return out.completed;
}

/** Super-resolves one image by `scale` (DDIM encoding of the bicubic upsampling, decoding, projection). */
export async function superResolveImage(model: LoadedModel, low: ImageSet, scale: number, req: GuidedRequest): Promise<{ x0: ImageSet; bicubic: ImageSet }> {
  let done = 0;
  const out = await superResolve(model, low, {
    scale, steps: req.steps,
    onStep: req.onStep ? (s) => req.onStep!(done++, 2 * s.steps) : undefined,
  });
  const [, h, w] = low.shape;
  return { x0: out.x0, bicubic: resizeImages(low, scale * h, scale * w, "bicubic") };
}

/**
 * Wall times (ms) of one DDIM step at r×r, batch 1 (a full-grid network call and the update, result read back), after
 * one untimed warm-up: the same code in the page and in Node (bench/web.ts compares them).
 */
export async function timeDdimStep(model: LoadedModel, r: number, reps: number): Promise<number[]> {
  const { cfg, net } = model;
  const run = prepareSampling(cfg);
  const denoiser = new GridDenoiser(net);
  const grid = run.grid([r, r]);
  const xT = priorOf(run, grid, 1, new Rng(0));
  const timesteps = grid.ddimTimesteps(10);
  const times: number[] = [];
  try {
    for (let k = 0; k <= reps; k++) {
      const t0 = performance.now();
      const steps = ddimSteps(denoiser.denoise, xT, timesteps, { ...run.options(grid), eta: 0 });
      const first = await steps.next();
      if (first.done) throw new Error("DDIM produced no step");
      await first.value.x.data();
      const ms = performance.now() - t0;
      await steps.return();
      if (k > 0) times.push(ms);
    }
    return times;
  } finally {
    xT.dispose();
    denoiser.dispose();
    run.dispose();
  }
}
