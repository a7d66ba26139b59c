/**
 * The browser lab (web/) in headless Chromium: built with esbuild from the library's browser entry point, served on
 * 127.0.0.1, driven through its own controls. Results are compared with the Node library run in this process on
 * wasm: the page runs the same kernels (tfjs-wasm and the lab's), so a fixed seed must give the same numbers.
 * Screenshots of each view: test-artifacts/web/*.png. Missing Chromium FAILS (bash scripts/setup.sh installs it).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import type { Page } from "playwright-core";
import { initBackend, loadModel, sampleModel, inpaint, superResolve, areaResize, LoadedModel } from "infty-diff-lab";
import { LabSession, ROOT, SHOTS, pageState, relDiff, setInput, startLab, waitIdle } from "../helpers/web-page";

const CKPT = path.join(ROOT, "data", "checkpoints", "fashion-mnist.ckpt");
const SEED = 7;
/** few steps: the numbers, not the pictures, are under test (WebGPU runs on SwiftShader, i.e. on the CPU) */
const STEPS = 4, GPU_STEPS = 2;
const TOL = 1e-4;

/** Fashion-MNIST test image k in [−1, 1] (the page's test images are the first 24, uint8). */
function fashionTestImage(k: number): Float32Array {
  const buf = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz")));
  return Float32Array.from(buf.subarray(16 + 784 * k, 16 + 784 * (k + 1)), (u) => (u / 255) * 2 - 1);
}

async function sampleInPage(page: Page, r: number, steps: number, sampler: "ddim" | "ddpm" = "ddim") {
  await page.click('nav a[data-view="sample"]');
  await setInput(page, "#s-res", r);
  await setInput(page, "#s-steps", steps);
  await setInput(page, "#s-seed", SEED);
  await page.check(`input[name="s-sampler"][value="${sampler}"]`);
  await page.evaluate(() => { (globalThis as unknown as { __infty: { lastSample: unknown } }).__infty.lastSample = null; });
  await page.click("#s-run");
  await waitIdle(page, "lastSample");
  const s = (await pageState(page)).lastSample;
  assert.deepEqual([s.resolution, s.steps, s.seed, s.sampler, s.stepsDone], [r, steps, SEED, sampler, steps]);
  return s as { values: number[]; seconds: number };
}

describe("browser lab (web/ in headless Chromium)", function () {
  this.timeout(900_000);
  let lab: LabSession;
  let model: LoadedModel;
  let page: Page;

  before(async () => {
    await initBackend("wasm", { quiet: true });
    model = loadModel(CKPT);
    fs.mkdirSync(SHOTS, { recursive: true });
    lab = await startLab();
    page = await lab.open("backend=wasm");
  });
  after(async () => {
    model?.net.dispose();
    await lab?.close();
  });

  it("bundles with browser twins only and loads the shipped checkpoint from its own origin", async () => {
    const info = lab.buildInfo as { bundle: { browserTwins: string[] }; files: Record<string, number>; checkpoint: { bytes: number } };
    assert.ok(info.bundle.browserTwins.some((f) => f.endsWith("runtime/backend.browser.ts")), JSON.stringify(info.bundle));
    assert.equal(info.files["model/fashion-mnist.ckpt"], fs.statSync(CKPT).size);
    assert.ok(info.files["tfjs-backend-wasm-simd.wasm"] > 0);
    const s = await pageState(page);
    assert.equal(s.error, null);
    assert.equal(s.backend.name, "wasm");
    assert.match(await page.textContent("#backend") ?? "", /wasm/);
    assert.match(await page.textContent("#model-info") ?? "", /step 30,000/);
  });

  it("the build refuses a Node module imported by the lab's or the page's code, naming the importer", async () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { noNodeModules, browserTwins } = require(path.join(ROOT, "web", "build.js"));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const esbuild = require("esbuild");
    const dir = fs.mkdtempSync(path.join(ROOT, "test-artifacts", "web", "guard-"));
    try {
      fs.writeFileSync(path.join(dir, "entry.ts"), 'import * as fs from "node:fs";\nexport const n = fs.readFileSync.length;\n');
      await assert.rejects(
        esbuild.build({ entryPoints: [path.join(dir, "entry.ts")], bundle: true, write: false, platform: "browser", logLevel: "silent", plugins: [browserTwins, noNodeModules] }),
        /Node module 'node:fs' imported by test-artifacts\/web\/guard-\w+\/entry\.ts would enter the browser bundle/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const r of [28, 56]) {
    it(`a seed-${SEED} DDIM sample at ${r} px equals the Node library's (wasm in the page vs wasm in Node, ≤ ${TOL} relative)`, async () => {
      const s = await sampleInPage(page, r, STEPS);
      const ref = await sampleModel(model.net, model.cfg, { resolution: r, n: 1, steps: STEPS, seed: SEED, progress: false });
      const d = relDiff(s.values, ref.x0.images);
      console.log(`      wasm ${r} px: relative difference ${d.toExponential(2)}`);
      assert.ok(d <= TOL, `relative difference ${d.toExponential(2)} at ${r} px`);
      assert.equal(await page.locator("#s-strip canvas").count(), STEPS);
      if (r === 56) await page.screenshot({ path: path.join(SHOTS, "sample.png"), fullPage: true });
    });
  }

  it("DDPM in the page equals the Node library's DDPM (same seed, same noise draws)", async () => {
    const s = await sampleInPage(page, 28, STEPS, "ddpm");
    const ref = await sampleModel(model.net, model.cfg, { resolution: 28, n: 1, steps: STEPS, seed: SEED, sampler: "ddpm", progress: false });
    const d = relDiff(s.values, ref.x0.images);
    assert.ok(d <= TOL, `relative difference ${d.toExponential(2)}`);
  });

  it("Stop ends a run between steps", async () => {
    await setInput(page, "#s-res", 28);
    await setInput(page, "#s-steps", 100);
    await page.click("#s-run");
    await page.waitForFunction(() => Number((globalThis as unknown as { document: { getElementById(id: string): { value: number } } }).document.getElementById("s-progress").value) > 0);
    await page.click("#s-stop");
    await waitIdle(page);
    assert.match(await page.textContent("#s-status") ?? "", /^stopped after step \d+$/);
    const done = Number(/(\d+)$/.exec(await page.textContent("#s-status") ?? "")![1]);
    assert.ok(done >= 1 && done < 100, `stopped after ${done}`);
  });

  it("a mask drawn with real mouse events is inpainted, as the Node library inpaints it", async () => {
    await page.click('nav a[data-view="inpaint"]');
    await page.click('#i-gallery canvas[data-index="0"]');
    await setInput(page, "#i-steps", 5);
    await setInput(page, "#i-brush", 4);
    const box = (await page.locator("#i-mask").boundingBox())!;
    // a horizontal stroke across the middle, 30 % → 70 % of the width
    await page.mouse.move(box.x + 0.3 * box.width, box.y + 0.5 * box.height);
    await page.mouse.down();
    for (let k = 1; k <= 12; k++) await page.mouse.move(box.x + (0.3 + (0.4 * k) / 12) * box.width, box.y + 0.5 * box.height);
    await page.mouse.up();
    await page.click("#i-run");
    await waitIdle(page, "lastInpaint");
    const s = (await pageState(page)).lastInpaint as { mask: number[]; image: number[]; values: number[]; resolution: number; steps: number; seed: number };
    const H = 28, hidden = s.mask.filter((m) => m < 0.5).length;
    assert.deepEqual([s.resolution, s.steps, s.seed], [H, 5, 0]);
    assert.deepEqual(s.image, Array.from(fashionTestImage(0)));
    assert.ok(hidden >= 30 && hidden <= 200, `${hidden} hidden pixels`);
    assert.equal(s.mask[14 * H + 14], 0, "the stroke's middle is hidden");
    assert.equal(s.mask[3 * H + 14], 1, "far from the stroke is known");
    assert.equal(s.mask[14 * H + 3], 1, "left of the stroke's start is known");
    for (let p = 0; p < H * H; p++) if (s.mask[p] === 1) assert.equal(s.values[p], s.image[p]);
    const ref = await inpaint(model, { images: Float32Array.from(s.image), shape: [1, H, H, 1] }, Float32Array.from(s.mask), { steps: 5, seed: 0, lambda: 0.5 });
    const d = relDiff(s.values, ref.completed.images);
    assert.ok(d <= TOL, `relative difference ${d.toExponential(2)}`);
    const changed = s.mask.filter((m, p) => m === 0 && Math.abs(s.values[p] - s.image[p]) > 0.05).length;
    assert.ok(changed > 0, "the hidden pixels were filled by the model");
    await page.screenshot({ path: path.join(SHOTS, "inpaint.png"), fullPage: true });
  });

  it("super-resolves 28 → 56 px as the Node library does, area-consistent with the input", async () => {
    await page.click('nav a[data-view="superres"]');
    await page.click('#r-gallery canvas[data-index="1"]');
    await page.check('input[name="r-scale"][value="2"]');
    await setInput(page, "#r-steps", 3);
    await page.click("#r-run");
    await waitIdle(page, "lastSuperres");
    const s = (await pageState(page)).lastSuperres as { scale: number; values: number[]; input: number[]; resolution: number; steps: number };
    assert.deepEqual([s.scale, s.resolution, s.steps, s.values.length], [2, 56, 3, 56 * 56]);
    // the input is the page's test image 1: Fashion-MNIST test image 1, as bytes / 255 · 2 − 1
    const test1 = fashionTestImage(1);
    assert.deepEqual(s.input, Array.from(test1));
    const lowSet = { images: test1, shape: [1, 28, 28, 1] as [number, number, number, number] };
    const ref = await superResolve(model, lowSet, { scale: 2, steps: 3 });
    const d = relDiff(s.values, ref.x0.images);
    assert.ok(d <= TOL, `relative difference ${d.toExponential(2)}`);
    const down = areaResize({ images: Float32Array.from(s.values), shape: [1, 56, 56, 1] }, 28);
    assert.ok(relDiff(down.images, lowSet.images) < 1e-5, "area-average of the output is the input");
    await page.screenshot({ path: path.join(SHOTS, "superres.png"), fullPage: true });
  });

  it("super-resolves 28 → 112 px (4×) as the Node library does", async () => {
    await page.check('input[name="r-scale"][value="4"]');
    await setInput(page, "#r-steps", 2);
    await page.evaluate(() => { (globalThis as unknown as { __infty: { lastSuperres: unknown } }).__infty.lastSuperres = null; });
    await page.click("#r-run");
    await waitIdle(page, "lastSuperres");
    const s = (await pageState(page)).lastSuperres as { scale: number; values: number[]; resolution: number; steps: number };
    assert.deepEqual([s.scale, s.resolution, s.steps], [4, 112, 2]);
    const ref = await superResolve(model, { images: fashionTestImage(1), shape: [1, 28, 28, 1] }, { scale: 4, steps: 2 });
    const d = relDiff(s.values, ref.x0.images);
    assert.ok(d <= TOL, `relative difference ${d.toExponential(2)}`);
  });

  it("leaves no tensor behind: a sample, an inpainting and a super-resolution free what they make", async () => {
    const live = () => page.evaluate(() => (globalThis as unknown as { __infty: { liveTensors(): number } }).__infty.liveTensors());
    const before = await live();
    await sampleInPage(page, 28, 2);
    await page.click('nav a[data-view="inpaint"]');
    await page.click("#i-centre");
    await page.evaluate(() => { (globalThis as unknown as { __infty: { lastInpaint: unknown } }).__infty.lastInpaint = null; });
    await page.click("#i-run");
    await waitIdle(page, "lastInpaint");
    await page.click('nav a[data-view="superres"]');
    await page.check('input[name="r-scale"][value="2"]');
    await page.click("#r-run");
    await waitIdle(page);
    assert.equal(await live(), before);
  });

  it("shows one noise draw at five resolutions, white and mollified, and denoises each", async () => {
    await page.click('nav a[data-view="noise"]');
    await waitIdle(page, "lastNoise");
    await setInput(page, "#n-steps", 2);
    await page.click("#n-run");
    await waitIdle(page);
    assert.match(await page.textContent("#n-status") ?? "", /^done/);
    const sizes = await page.$$eval("#n-grid canvas", (cs) => cs.map((c) => (c as unknown as { width: number }).width));
    assert.deepEqual(sizes, [14, 28, 56, 112, 224, 14, 28, 56, 112, 224, 14, 28, 56, 112, 224]);
    await page.screenshot({ path: path.join(SHOTS, "noise.png"), fullPage: true });
  });

  it(`on WebGPU, where Chromium offers an adapter, samples at 28 and 56 px equal the Node library's (≤ ${TOL} relative)`, async function () {
    const gpu = await lab.open("backend=webgpu");
    const s = await pageState(gpu);
    if (s.error && /no WebGPU|no WebGPU adapter|found no WebGPU adapter/.test(s.error)) {
      console.log(`      (skipped: ${s.error})`);
      this.skip();
    }
    assert.equal(s.error, null);
    assert.equal(s.backend.name, "webgpu");
    assert.ok(s.backend.adapter, "the adapter is reported");
    assert.match(await gpu.textContent("#backend") ?? "", /^WebGPU/);
    for (const r of [28, 56]) {
      const out = await sampleInPage(gpu, r, GPU_STEPS);
      const ref = await sampleModel(model.net, model.cfg, { resolution: r, n: 1, steps: GPU_STEPS, seed: SEED, progress: false });
      const d = relDiff(out.values, ref.x0.images);
      console.log(`      webgpu ${r} px: relative difference ${d.toExponential(2)} (${s.backendLine})`);
      assert.ok(d <= TOL, `relative difference ${d.toExponential(2)} at ${r} px on ${s.backendLine}`);
    }
    await gpu.screenshot({ path: path.join(SHOTS, "sample-webgpu.png"), fullPage: true });
    await gpu.close();
  });

  it("draws a 112-px sample in 25 DDIM steps (the README's screenshot: test-artifacts/web/browser-lab.png)", async () => {
    await page.click('nav a[data-view="sample"]');
    await setInput(page, "#s-res", 112);
    await setInput(page, "#s-steps", 25);
    await setInput(page, "#s-seed", 1);
    await page.check('input[name="s-sampler"][value="ddim"]');
    await page.click("#s-run");
    await waitIdle(page, "lastSample");
    const s = (await pageState(page)).lastSample as { resolution: number; stepsDone: number; values: number[] };
    assert.deepEqual([s.resolution, s.stepsDone, s.values.length], [112, 25, 112 * 112]);
    assert.ok(s.values.every((v) => v >= -1 && v <= 1));
    await page.screenshot({ path: path.join(SHOTS, "browser-lab.png"), clip: { x: 0, y: 0, width: 1200, height: 900 } });
  });

  it("no request left the page's origin and no page error occurred", () => {
    assert.deepEqual(lab.external, []);
    assert.deepEqual(lab.errors, []);
  });
});
