/**
 * The ∞-Diff browser lab: four views (sample, one noise field at every resolution, inpaint, super-resolve) over one
 * model loaded from the page's own origin. `?backend=webgpu|wasm|cpu` forces a backend (default: WebGPU, else wasm).
 * `window.__infty` exposes the state the browser tests read (results as plain arrays, the backend, errors).
 */
import { drawField, drawMask, figure } from "./draw";
import {
  BackendInfo, ImageSet, LoadedLab, Stopped, describeBackend, inpaintImage, loadLab, noiseFields, sample, superResolveImage,
  liveTensors, timeDdimStep,
} from "./lab";
import { makeMask } from "../../src/lib/browser";

const CHECKPOINT = "model/fashion-mnist.ckpt";
const TEST_IMAGES = "assets/test-images.bin";
const NOISE_RESOLUTIONS = [14, 28, 56, 112, 224];

interface PageState {
  ready: boolean;
  error: string | null;
  backend: BackendInfo | null;
  backendLine: string;
  busy: boolean;
  /** last finished results (plain arrays; the tests read them) */
  lastSample: { resolution: number; seed: number; steps: number; sampler: string; values: number[]; seconds: number; stepsDone: number } | null;
  lastInpaint: { mask: number[]; image: number[]; values: number[]; resolution: number; steps: number; seed: number } | null;
  lastSuperres: { scale: number; values: number[]; input: number[]; resolution: number; steps: number } | null;
  lastNoise: { seed: number; resolutions: number[] } | null;
  log: string[];
  /** bench/web.ts: wall times (ms) of one DDIM step at r×r after a warm-up */
  timeDdimStep?: (r: number, reps: number) => Promise<number[]>;
  /** tensors alive on the backend (leak checks) */
  liveTensors: () => number;
}
const state: PageState = {
  ready: false, error: null, backend: null, backendLine: "", busy: false,
  lastSample: null, lastInpaint: null, lastSuperres: null, lastNoise: null, log: [], liveTensors,
};
(window as unknown as { __infty: PageState }).__infty = state;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);
const radio = (name: string) => (document.querySelector(`input[name=${name}]:checked`) as HTMLInputElement).value;
const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

let lab: LoadedLab | null = null;
let testImages: ImageSet[] = [];
let stopRequested = false;

// ---------- tabs ----------
function showView(name: string): void {
  for (const v of ["sample", "noise", "inpaint", "superres"]) {
    $(`view-${v}`).hidden = v !== name;
    document.querySelector(`nav a[data-view=${v}]`)!.classList.toggle("active", v === name);
  }
  if (name === "noise" && lab) void drawNoise();
}
window.addEventListener("hashchange", () => showView(location.hash.slice(1) || "sample"));

// ---------- sliders that echo their value ----------
for (const id of ["s-res", "s-steps", "n-steps", "i-brush", "i-steps", "r-steps"]) {
  const input = $<HTMLInputElement>(id), out = $(`${id}-out`);
  input.addEventListener("input", () => (out.textContent = input.value));
}
for (const [dice, seed] of [["s-dice", "s-seed"], ["n-dice", "n-seed"]]) {
  $(dice).addEventListener("click", () => {
    $<HTMLInputElement>(seed).value = String(Math.floor(Math.random() * 100000));
    if (seed === "n-seed") void drawNoise();
  });
}

/** Runs one job at a time: disables every Run button, enables this view's Stop, reports errors in `status`. */
async function job(prefix: string, fn: (progress: (done: number, total: number, text?: string) => Promise<void>) => Promise<string>): Promise<void> {
  if (state.busy || !lab) return;
  state.busy = true;
  stopRequested = false;
  const runs = document.querySelectorAll<HTMLButtonElement>("button.primary");
  runs.forEach((b) => (b.disabled = true));
  $<HTMLButtonElement>(`${prefix}-stop`).disabled = false;
  const bar = $<HTMLProgressElement>(`${prefix}-progress`), status = $(`${prefix}-status`);
  bar.value = 0;
  status.textContent = "working…";
  const t0 = performance.now();
  const progress = async (done: number, total: number, text?: string) => {
    bar.value = total ? done / total : 0;
    const s = (performance.now() - t0) / 1000;
    status.textContent = text ?? `step ${done} / ${total} · ${s.toFixed(1)} s`;
    await nextFrame();
    if (stopRequested) throw new Stopped(done);
  };
  try {
    await nextFrame();
    status.textContent = await fn(progress);
  } catch (e) {
    if (e instanceof Stopped) status.textContent = `stopped after step ${e.at}`;
    else {
      status.textContent = `error: ${(e as Error).message}`;
      state.log.push(String((e as Error).stack ?? e));
    }
  } finally {
    state.busy = false;
    runs.forEach((b) => (b.disabled = false));
    $<HTMLButtonElement>(`${prefix}-stop`).disabled = true;
  }
}
for (const p of ["s", "n", "i", "r"]) $(`${p}-stop`).addEventListener("click", () => (stopRequested = true));

// ---------- sample ----------
const sPictures = $("s-pictures");
const sState = figure(sPictures, "the state x_t (noisy)");
const sEstimate = figure(sPictures, "the model's estimate x̂₀ of the final image");
$("s-run").addEventListener("click", () => job("s", async (progress) => {
  const req = { resolution: num("s-res"), seed: num("s-seed"), steps: num("s-steps"), sampler: radio("s-sampler") as "ddim" | "ddpm" };
  const strip = $("s-strip");
  strip.textContent = "";
  const keep = Math.max(1, Math.ceil(req.steps / 10));
  const t0 = performance.now();
  let stepsDone = 0;
  const out = await sample(lab!.model, req, async (v) => {
    drawField(sState, v.x, req.resolution, req.resolution, -2.5, 2.5);
    drawField(sEstimate, v.x0, req.resolution);
    stepsDone = v.index + 1;
    if ((v.index + 1) % keep === 0 || v.index + 1 === v.steps) drawField(figure(strip, `step ${v.index + 1} · t ${v.t}`), v.x0, req.resolution);
    await progress(v.index + 1, v.steps);
  });
  const seconds = (performance.now() - t0) / 1000;
  drawField(sEstimate, out.images, req.resolution);
  state.lastSample = { ...req, values: Array.from(out.images), seconds, stepsDone };
  lastSample = out;
  refreshGalleries();
  return `done: ${req.resolution}×${req.resolution}, ${req.steps} ${req.sampler.toUpperCase()} steps in ${seconds.toFixed(1)} s`;
}));
let lastSample: ImageSet | null = null;

// ---------- noise at every resolution ----------
const nGrid = $("n-grid");
const noiseCanvases: { white: HTMLCanvasElement[]; moll: HTMLCanvasElement[]; samples: HTMLCanvasElement[] } = { white: [], moll: [], samples: [] };
{
  nGrid.append(Object.assign(document.createElement("div"), { className: "rowlabel" }));
  for (const r of NOISE_RESOLUTIONS) nGrid.append(Object.assign(document.createElement("div"), { className: "collabel", textContent: `${r}×${r}` }));
  const row = (label: string, list: HTMLCanvasElement[]) => {
    nGrid.append(Object.assign(document.createElement("div"), { className: "rowlabel", innerHTML: label }));
    for (let k = 0; k < NOISE_RESOLUTIONS.length; k++) {
      const c = document.createElement("canvas");
      nGrid.append(c);
      list.push(c);
    }
  };
  row("white noise ξ<sub>r</sub>", noiseCanvases.white);
  row("mollified x<sub>T</sub> = T(c·ξ<sub>r</sub>)", noiseCanvases.moll);
  row("denoised (DDIM)", noiseCanvases.samples);
}
let noiseFine: Awaited<ReturnType<typeof noiseFields>> | null = null;
async function drawNoise(): Promise<void> {
  if (!lab) return;
  const seed = num("n-seed");
  noiseFine = await noiseFields(lab.model, seed, NOISE_RESOLUTIONS);
  noiseFine.views.forEach((v, k) => {
    drawField(noiseCanvases.white[k], v.white, v.resolution, v.resolution, -2.5, 2.5);
    // the prior's std is ≈ 0.35 at every resolution (that is the point): one fixed range shows it
    drawField(noiseCanvases.moll[k], v.mollified, v.resolution, v.resolution, -1, 1);
    drawField(noiseCanvases.samples[k], new Float32Array(v.resolution * v.resolution).fill(-1), v.resolution);
  });
  state.lastNoise = { seed, resolutions: NOISE_RESOLUTIONS };
}
$("n-seed").addEventListener("change", () => void drawNoise());
$("n-run").addEventListener("click", () => job("n", async (progress) => {
  await drawNoise();
  const steps = num("n-steps"), views = noiseFine!.views, total = steps * views.length;
  let done = 0;
  for (let k = 0; k < views.length; k++) {
    const r = views[k].resolution;
    const out = await sample(lab!.model, { resolution: r, seed: 0, steps, sampler: "ddim", noise: views[k].white }, async (v) => {
      drawField(noiseCanvases.samples[k], v.x0, r);
      await progress(++done, total, `${r}×${r}: step ${v.index + 1} / ${v.steps}`);
    });
    drawField(noiseCanvases.samples[k], out.images, r);
  }
  return `done: the same draw denoised at ${NOISE_RESOLUTIONS.join(", ")} px`;
}));

// ---------- image choice (inpaint, super-resolution) ----------
let inpaintImageSet: ImageSet | null = null;
let superresImageSet: ImageSet | null = null;
const iImage = $<HTMLCanvasElement>("i-image"), iMask = $<HTMLCanvasElement>("i-mask"), iResult = $<HTMLCanvasElement>("i-result");
let mask = new Float32Array(0);

function chooseInpaint(img: ImageSet): void {
  inpaintImageSet = img;
  const [, H, W] = img.shape;
  mask = new Float32Array(H * W).fill(1);
  drawField(iImage, img.images, H, W);
  drawMask(iMask, mask, H, W);
  drawField(iResult, new Float32Array(H * W).fill(-1), H, W);
}
function chooseSuperres(img: ImageSet): void {
  superresImageSet = img;
  const [, h] = img.shape;
  const pics = $("r-pictures");
  pics.textContent = "";
  drawField(figure(pics, `input ${h}×${h}`), img.images, h);
}

function gallery(id: string, choose: (img: ImageSet) => void): void {
  const g = $(id);
  g.textContent = "";
  const all: HTMLCanvasElement[] = [];
  const pick = (c: HTMLCanvasElement, img: ImageSet) => {
    all.forEach((x) => x.classList.remove("chosen"));
    c.classList.add("chosen");
    choose(img);
  };
  testImages.forEach((img, k) => {
    const c = document.createElement("canvas");
    c.title = `test image ${k}`;
    c.dataset.index = String(k);
    drawField(c, img.images, 28);
    c.addEventListener("click", () => pick(c, img));
    g.append(c);
    all.push(c);
  });
  if (lastSample) {
    const c = document.createElement("canvas");
    const r = lastSample.shape[1];
    c.title = `your last sample (${r}×${r})`;
    c.dataset.index = "sample";
    drawField(c, lastSample.images, r);
    const s = lastSample;
    c.addEventListener("click", () => pick(c, s));
    g.append(c);
    all.push(c);
  }
}
function refreshGalleries(): void {
  gallery("i-gallery", chooseInpaint);
  gallery("r-gallery", chooseSuperres);
}

// ---------- mask drawing (pointer events: mouse, pen, touch) ----------
let painting = false;
function paintAt(ev: PointerEvent): void {
  if (!inpaintImageSet) return;
  const [, H, W] = inpaintImageSet.shape;
  const rect = iMask.getBoundingClientRect();
  const x = ((ev.clientX - rect.left) / rect.width) * W, y = ((ev.clientY - rect.top) / rect.height) * H;
  // brush radius in 28-px units, so a stroke covers the same part of the picture at every resolution
  const rad = (num("i-brush") / 2) * (W / 28);
  for (let i = Math.max(0, Math.floor(y - rad)); i < Math.min(H, Math.ceil(y + rad)); i++) {
    for (let j = Math.max(0, Math.floor(x - rad)); j < Math.min(W, Math.ceil(x + rad)); j++) {
      if ((i + 0.5 - y) ** 2 + (j + 0.5 - x) ** 2 <= rad * rad) mask[i * W + j] = 0;
    }
  }
  drawMask(iMask, mask, H, W);
}
iMask.addEventListener("pointerdown", (ev) => { painting = true; iMask.setPointerCapture(ev.pointerId); paintAt(ev); });
iMask.addEventListener("pointermove", (ev) => { if (painting) paintAt(ev); });
iMask.addEventListener("pointerup", () => (painting = false));
iMask.addEventListener("pointercancel", () => (painting = false));
$("i-clear").addEventListener("click", () => inpaintImageSet && chooseInpaint(inpaintImageSet));
let strokeSeed = 0;
for (const [id, kind] of [["i-centre", "centre"], ["i-half", "half"], ["i-strokes", "strokes"]] as const) {
  $(id).addEventListener("click", () => {
    if (!inpaintImageSet) return;
    const [, H, W] = inpaintImageSet.shape;
    mask = makeMask(kind, 1, H, W, kind === "strokes" ? strokeSeed++ : 0);
    drawMask(iMask, mask, H, W);
  });
}
$("i-run").addEventListener("click", () => job("i", async (progress) => {
  if (!inpaintImageSet) throw new Error("pick an image first");
  const img = inpaintImageSet, [, H, W] = img.shape;
  const hidden = mask.reduce((a, m) => a + (m < 0.5 ? 1 : 0), 0);
  if (hidden === 0) throw new Error("draw a mask first: paint over the part the model should fill in");
  const t0 = performance.now();
  const m = mask.slice(), steps = num("i-steps"), seed = num("i-seed");
  const out = await inpaintImage(lab!.model, img, m, { steps, seed, onStep: (k, n) => progress(k + 1, n) });
  drawField(iResult, out.images, H, W);
  state.lastInpaint = { mask: Array.from(m), image: Array.from(img.images), values: Array.from(out.images), resolution: H, steps, seed };
  return `done: ${hidden} of ${H * W} pixels filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
}));

// ---------- super-resolution ----------
$("r-run").addEventListener("click", () => job("r", async (progress) => {
  if (!superresImageSet) throw new Error("pick an image first");
  const low = superresImageSet, scale = Number(radio("r-scale")), [, h] = low.shape;
  const t0 = performance.now();
  const steps = num("r-steps");
  const out = await superResolveImage(lab!.model, low, scale, { steps, seed: 0, onStep: (k, n) => progress(k + 1, n) });
  const pics = $("r-pictures");
  pics.textContent = "";
  drawField(figure(pics, `input ${h}×${h}`), low.images, h);
  drawField(figure(pics, `bicubic ${scale * h}×${scale * h}`), out.bicubic.images, scale * h);
  drawField(figure(pics, `∞-Diff ${scale * h}×${scale * h}`), out.x0.images, scale * h);
  state.lastSuperres = { scale, values: Array.from(out.x0.images), input: Array.from(low.images), resolution: scale * h, steps };
  return `done: ${h} → ${scale * h} px in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
}));

// ---------- start ----------
async function start(): Promise<void> {
  showView(location.hash.slice(1) || "sample");
  const badge = $("backend");
  const request = new URLSearchParams(location.search).get("backend") ?? undefined;
  try {
    const bar = $<HTMLProgressElement>("load-progress");
    lab = await loadLab(CHECKPOINT, request, (loaded, total) => { bar.value = total ? loaded / total : 0; });
    bar.hidden = true;
    state.backend = lab.backend;
    state.backendLine = describeBackend(lab.backend);
    const a = lab.backend.adapter;
    badge.textContent = lab.backend.name === "webgpu"
      ? `WebGPU · ${[a?.vendor, a?.architecture, a?.device].filter(Boolean).join(" ") || "adapter"}${a?.software ? " (software)" : ""}`
      : lab.backend.name === "wasm" ? "wasm (CPU, SIMD) · no WebGPU here" : lab.backend.name;
    badge.className = `badge ${lab.backend.name}`;
    badge.title = state.backendLine;
    const params = lab.model.net.params.count();
    $("model-info").textContent = `shipped model: step ${lab.model.step.toLocaleString()}, trained at ${lab.model.cfg.model.resolution}×${lab.model.cfg.model.resolution}` +
      `${params ? `, ${(params / 1e6).toFixed(2)} M parameters` : ""} · ${(lab.bytes / 2 ** 20).toFixed(1)} MiB loaded in ${lab.seconds.toFixed(1)} s`;
    const raw = new Uint8Array(await (await fetch(TEST_IMAGES)).arrayBuffer());
    const n = Math.floor(raw.length / 784);
    testImages = Array.from({ length: n }, (_, k) => {
      const images = new Float32Array(784);
      for (let p = 0; p < 784; p++) images[p] = (raw[k * 784 + p] / 255) * 2 - 1;
      return { images, shape: [1, 28, 28, 1] as [number, number, number, number] };
    });
    refreshGalleries();
    if (testImages.length) { chooseInpaint(testImages[0]); chooseSuperres(testImages[1] ?? testImages[0]); }
    state.timeDdimStep = (r, reps) => timeDdimStep(lab!.model, r, reps);
    state.ready = true;
    if (!$("view-noise").hidden) void drawNoise();
  } catch (e) {
    state.error = (e as Error).message;
    badge.textContent = `could not start: ${(e as Error).message}`;
    badge.className = "badge error";
  }
}
void start();
