/**
 * The browser lab in headless Chromium for tests and bench/web.ts: builds web/ once into test-artifacts/web/site
 * (web/build.js), serves it on 127.0.0.1 (web/serve.js) and opens pages in Debian's chromium through playwright-core
 * with WebGPU on SwiftShader enabled (flags: environment.md, "Browser lab"). Every request is recorded; the ones
 * leaving the page's origin are aborted and listed in `external`.
 */
import * as fs from "fs";
import * as path from "path";
import type { Browser, Page } from "playwright-core";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const CHROMIUM = process.env.INFTY_CHROMIUM ?? "/usr/bin/chromium";
export const SITE = path.join(ROOT, "test-artifacts", "web", "site");
export const SHOTS = path.join(ROOT, "test-artifacts", "web");
/** WebGPU in headless Chromium needs a secure context (http://127.0.0.1 is one) and these flags (SwiftShader's Vulkan). */
export const CHROMIUM_FLAGS = [
  "--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
];

/* eslint-disable @typescript-eslint/no-var-requires */
const { build } = require(path.join(ROOT, "web", "build.js")) as { build: (o: { out: string; minify: boolean; quiet: boolean }) => Promise<Record<string, unknown>> };
const { serve } = require(path.join(ROOT, "web", "serve.js")) as { serve: (dir: string, port: number) => Promise<{ server: import("http").Server; url: string }> };
/* eslint-enable @typescript-eslint/no-var-requires */

export interface LabSession {
  url: string;
  browser: Browser;
  /** every URL requested that was not under `url` (aborted) */
  external: string[];
  /** page errors and console errors, per page */
  errors: string[];
  buildInfo: Record<string, unknown>;
  open(query?: string, hash?: string): Promise<Page>;
  close(): Promise<void>;
}

/** Builds (once per process unless `rebuild`), serves and launches; `close()` stops both. */
export async function startLab(opts: { rebuild?: boolean } = {}): Promise<LabSession> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run bash scripts/setup.sh`);
  let buildInfo: Record<string, unknown>;
  const infoFile = path.join(SITE, "build-info.json");
  if (opts.rebuild !== false || !fs.existsSync(infoFile)) buildInfo = await build({ out: SITE, minify: true, quiet: true });
  else buildInfo = JSON.parse(fs.readFileSync(infoFile, "utf8"));
  const { server, url } = await serve(SITE, 0);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const external: string[] = [], errors: string[] = [];
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(url) || u.startsWith("data:") || u.startsWith("blob:")) return route.continue();
    external.push(u);
    return route.abort("blockedbyclient");
  });
  return {
    url, browser, external, errors, buildInfo,
    async open(query = "", hash = "") {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
      await page.goto(`${url}${query ? `?${query}` : ""}${hash ? `#${hash}` : ""}`);
      await page.waitForFunction(() => {
        const s = (globalThis as unknown as { __infty?: { ready: boolean; error: string | null } }).__infty;
        return !!s && (s.ready || s.error !== null);
      }, null, { timeout: 180_000 });
      return page;
    },
    async close() {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The page's `window.__infty` state (results as plain arrays). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function pageState(page: Page): Promise<any> {
  return page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const s = (globalThis as any).__infty;
    return { ...s, timeDdimStep: undefined };
  });
}

/** Waits until the page's current job has finished (busy false and `key` set, when given). */
export async function waitIdle(page: Page, key?: string, timeout = 300_000): Promise<void> {
  await page.waitForFunction((k) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const s = (globalThis as any).__infty;
    return !s.busy && (!k || s[k] != null);
  }, key ?? null, { timeout });
}

/** Sets a range or number input and fires `input`/`change` as a user would; throws when the input clamps the value. */
export async function setInput(page: Page, selector: string, value: number | string): Promise<void> {
  const got = await page.$eval(selector, (el, v) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const input = el as any, Ev = (globalThis as any).Event;
    input.value = String(v);
    input.dispatchEvent(new Ev("input", { bubbles: true }));
    input.dispatchEvent(new Ev("change", { bubbles: true }));
    return input.value as string;
  }, value);
  if (got !== String(value)) throw new Error(`${selector} took ${got}, not ${value} (outside its range?)`);
}

/** max |a − b| / max |b|: the relative difference the browser tests bound. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-30);
}
