#!/usr/bin/env node
/**
 * Opens each exported notebook (HTML) in headless Chromium and checks that it works OFFLINE:
 * - every figure src/viz tagged (div.infty-fig) has rendered: plotly → a .main-svg inside a .js-plotly-plot,
 *   vega → an <svg> from vega-embed; every inline PNG grid decoded (naturalWidth > 0); the counts match the
 *   notebook's outputs (from the runner's report);
 * - no request left the machine: every request is intercepted; only file: and data: URLs are served, anything
 *   else is aborted and reported;
 * - no page errors; a full-page screenshot per notebook is kept in test-artifacts/notebooks/<name>.png;
 * - interactive figures work without a kernel: the page has as many plotly sliders as the notebook's outputs
 *   declare, and for each one a click on the slider's rail (60% along) changes the drawn plot (its SVG);
 *   each is kept as test-artifacts/notebooks/<name>-slider-<k>.png (the README's screenshots come from these).
 * Usage: node scripts/check-html.js test-artifacts/notebooks/report.json  (updates the report with "browser").
 * Plain JS (not compiled by tsc) so it runs before/without a build.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(path.dirname(__filename), "..");
const CHROMIUM = process.env.INFTY_CHROMIUM || "/usr/bin/chromium";
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run",
];

async function main() {
  const reportPath = process.argv[2];
  if (!reportPath) throw new Error("usage: node scripts/check-html.js REPORT.json");
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`[browser] ${CHROMIUM} not found: run bash scripts/setup.sh (installs Debian's chromium)`);
    process.exit(2);
  }
  const report = JSON.parse(fs.readFileSync(reportPath, "utf8"));
  const root = ROOT;
  const { chromium } = require("playwright-core");
  // A fresh profile per run: no cached state, no sync, nothing from a previous test.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "infty-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1200, height: 900 },
  });
  let failed = false;
  try {
    for (const entry of report) {
      const res = { ok: false, external: [], pageErrors: [], consoleErrors: [] };
      entry.browser = res;
      if (!entry.html) { res.error = "no HTML export"; failed = true; continue; }
      const page = await context.newPage();
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
        res.external.push(url);
        return route.abort("blockedbyclient");
      });
      page.on("pageerror", (err) => res.pageErrors.push(String(err && err.message || err)));
      page.on("console", (msg) => { if (msg.type() === "error") res.consoleErrors.push(msg.text()); });
      const t0 = Date.now();
      await page.goto("file://" + path.resolve(root, entry.html), { waitUntil: "load", timeout: 120000 });
      // Figures draw asynchronously (vega-embed is async; plotly after the bundle): wait until all are drawn.
      const state = () => page.evaluate(() => {
        const figs = Array.from(document.querySelectorAll("div.infty-fig"));
        const drawn = (el) => el.dataset.kind === "plotly"
          ? !!el.querySelector(".main-svg") && el.classList.contains("js-plotly-plot")
          : !!el.querySelector("svg, canvas");
        const imgs = Array.from(document.querySelectorAll("figure.infty-img img"));
        return {
          figures: figs.length,
          drawn: figs.filter(drawn).length,
          byKind: figs.reduce((m, el) => ((m[el.dataset.kind] = (m[el.dataset.kind] || 0) + 1), m), {}),
          notDrawn: figs.filter((el) => !drawn(el)).map((el) => `${el.id} (${el.dataset.kind}): ${el.textContent.slice(0, 120)}`),
          images: imgs.length,
          imagesDecoded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
        };
      });
      let s = await state();
      const deadline = Date.now() + 30000;
      while ((s.drawn < s.figures || s.imagesDecoded < s.images) && Date.now() < deadline) {
        await page.waitForTimeout(250);
        s = await state();
      }
      Object.assign(res, s, { seconds: (Date.now() - t0) / 1000 });
      const shot = path.join(path.dirname(path.resolve(root, entry.html)), `${entry.name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      res.screenshot = path.relative(root, shot);
      const problems = [];
      res.sliders = await checkSliders(page, entry, problems);
      if (s.figures !== entry.figures) problems.push(`page has ${s.figures} figures, notebook output ${entry.figures}`);
      if (s.drawn !== s.figures) problems.push(`${s.figures - s.drawn} figures not drawn: ${s.notDrawn.join("; ")}`);
      if (s.images !== entry.images || s.imagesDecoded !== s.images) problems.push(`images: ${s.imagesDecoded}/${s.images} decoded, notebook output ${entry.images}`);
      if (res.external.length) problems.push(`requests left the page for: ${res.external.join(", ")}`);
      if (res.pageErrors.length) problems.push(`page errors: ${res.pageErrors.join(" | ")}`);
      res.problems = problems;
      res.ok = problems.length === 0;
      failed = failed || !res.ok;
      console.log(`[browser] ${entry.name}: ${res.ok ? "ok" : "FAILED"}; ${s.drawn}/${s.figures} figures ${JSON.stringify(s.byKind)}, ` +
        `${res.sliders.moved}/${res.sliders.found} sliders moved, ` +
        `${s.imagesDecoded}/${s.images} images, ${res.external.length} external requests, screenshot ${res.screenshot}`);
      for (const p of problems) console.log(`[browser]   ${p}`);
      if (res.consoleErrors.length) console.log(`[browser]   console errors (not failed): ${res.consoleErrors.join(" | ").slice(0, 500)}`);
      await page.close();
    }
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.writeFileSync(reportPath, JSON.stringify(report, null, 2));
  }
  process.exit(failed ? 1 : 0);
}

/**
 * Finds every plotly slider on the page, clicks the far end of its rail (the last step) and checks that the
 * figure's SVG changed; screenshots each figure after the move. Returns {found, moved, shots}.
 */
async function checkSliders(page, entry, problems) {
  const out = { found: 0, moved: 0, shots: [] };
  const figs = await page.$$("div.infty-fig");
  for (const fig of figs) {
    const rails = await fig.$$(".slider-container .slider-rail-touch-rect");
    if (!rails.length) continue;
    out.found += rails.length;
    const signature = () => fig.evaluate((el) => Array.from(el.querySelectorAll(".main-svg")).map((svg) => svg.innerHTML).join("").length + ":" +
      Array.from(el.querySelectorAll(".main-svg")).map((svg) => svg.innerHTML).join(""));
    const before = await signature();
    const box = await rails[0].boundingBox();
    if (!box) { problems.push(`slider ${out.found} of ${entry.name} is not visible`); continue; }
    await rails[0].scrollIntoViewIfNeeded();
    const b2 = await rails[0].boundingBox();
    // 60% along the rail (a mid step, which also makes a telling screenshot); a slider already there is moved to
    // the start instead
    let after = before;
    for (const x of [b2.x + 0.6 * b2.width, b2.x + 2]) {
      await page.mouse.click(x, b2.y + b2.height / 2);
      for (let i = 0; i < 20 && after === before; i++) {
        await page.waitForTimeout(150);
        after = await signature();
      }
      if (after !== before) break;
    }
    if (after === before) problems.push(`moving slider ${out.found} of ${entry.name} did not change its figure`);
    else out.moved += 1;
    const shot = path.join(path.dirname(path.resolve(ROOT, entry.html)), `${entry.name}-slider-${out.shots.length + 1}.png`);
    await fig.screenshot({ path: shot });
    out.shots.push(path.relative(ROOT, shot));
  }
  if (entry.sliders != null && out.found !== entry.sliders) problems.push(`page has ${out.found} sliders, notebook output ${entry.sliders}`);
  return out;
}

main().catch((err) => { console.error(`[browser] ${err.stack || err}`); process.exit(1); });
