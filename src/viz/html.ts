/**
 * Offline HTML for figures. `bundleHTML()` inlines plotly.js and vega/vega-lite/vega-embed from node_modules
 * (no CDN: the lab must render on machines without internet); the notebooks display it once, in their first cell.
 * `figureHTML()` turns a plotly figure or a vega-lite spec into a div plus a small script that draws it once the
 * bundle is on the page.
 */
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import type { PlotlyFigure } from "./plotly";
import type { VegaLiteSpec } from "./vega";

/** A pre-rendered piece of HTML (image grids, tables). */
export interface HtmlView {
  kind: "html";
  html: string;
}

/** Anything `show` can display: a plotly figure, a vega-lite spec or an HTML view. */
export type View = PlotlyFigure | VegaLiteSpec | HtmlView;

/** Whether a view is a plotly figure. */
export function isPlotly(v: unknown): v is PlotlyFigure {
  return typeof v === "object" && v != null && Array.isArray((v as PlotlyFigure).data) && typeof (v as PlotlyFigure).layout === "object";
}
/** Whether a view is a vega-lite spec. */
export function isVegaLite(v: unknown): v is VegaLiteSpec {
  return typeof v === "object" && v != null && typeof (v as VegaLiteSpec).$schema === "string" && (v as VegaLiteSpec).$schema.includes("vega-lite");
}
/** Whether a view is plain HTML. */
export function isHtmlView(v: unknown): v is HtmlView {
  return typeof v === "object" && v != null && (v as HtmlView).kind === "html" && typeof (v as HtmlView).html === "string";
}

/** Directory of an installed package, found by walking up from here (package `exports` may hide package.json). */
export function packageDir(name: string): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const cand = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(cand, "package.json"))) return cand;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`package '${name}' not found in any node_modules above ${__dirname}: run npm ci`);
}

/** The browser builds inlined by `bundleHTML`, in load order (vega-embed needs vega and vega-lite first). */
export function bundleFiles(): { name: string; file: string }[] {
  return [
    { name: "plotly.js-dist-min", file: path.join(packageDir("plotly.js-dist-min"), "plotly.min.js") },
    { name: "vega", file: path.join(packageDir("vega"), "build", "vega.min.js") },
    { name: "vega-lite", file: path.join(packageDir("vega-lite"), "build", "vega-lite.min.js") },
    { name: "vega-embed", file: path.join(packageDir("vega-embed"), "build", "vega-embed.min.js") },
  ];
}

/** `</script>` inside an inlined script would end it early; `<\/` is the same string to JavaScript. */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

let bundleCache: string | null = null;

/**
 * The inlined bundle (≈ 6 MB). The classic Notebook and nbconvert's page load require.js: with `window.define`
 * visible, plotly and vega register as anonymous AMD modules instead of globals ("Mismatched anonymous define()"),
 * so it is hidden while they load and restored after.
 */
export function bundleHTML(): string {
  if (bundleCache) return bundleCache;
  const parts = [
    `<script>window.__inftyDefine = window.define; window.define = undefined;</script>`,
    ...bundleFiles().map(({ name, file }) => `<script data-infty-bundle="${name}">${scriptSafe(fs.readFileSync(file, "utf8"))}</script>`),
    `<script>window.define = window.__inftyDefine; window.__inftyBundle = true;</script>`,
    `<div class="infty-bundle" style="font:12px sans-serif;color:#888">figure bundle loaded (plotly, vega-lite; offline)</div>`,
  ];
  bundleCache = parts.join("\n");
  return bundleCache;
}

/** JSON for a script: compact numbers (4 significant digits is plenty on screen) and safe inside `<script>`. */
export function figureJSON(value: unknown, digits = 4): string {
  const json = JSON.stringify(value, (_k, v) => (typeof v === "number" && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(digits)) : v));
  return json.replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function newId(): string {
  return "infty-fig-" + randomBytes(6).toString("hex");
}

/**
 * HTML for one figure: a div (class `infty-fig`, `data-kind` plotly|vega) and a script that waits for the bundle
 * (up to 10 s) and draws into it; without the bundle it says so in the div instead of failing silently.
 */
export function figureHTML(view: View): string {
  if (isHtmlView(view)) return view.html;
  const id = newId();
  let kind: string, draw: string, height: string;
  if (isPlotly(view)) {
    kind = "plotly";
    const h = (view.layout as { height?: number }).height;
    height = `min-height:${h ?? 450}px`;
    // frames (sliders and play buttons of src/viz/stepper.ts) travel with the figure: the page animates them itself
    draw = `return window.Plotly && Plotly.newPlot(el, {data: spec.data, layout: spec.layout, frames: spec.frames || [], config: Object.assign({responsive: true, displaylogo: false}, spec.config || {})});`;
  } else if (isVegaLite(view)) {
    kind = "vega";
    height = "";
    draw = `return window.vegaEmbed && vegaEmbed(el, spec, {actions: false, renderer: "svg"});`;
  } else {
    throw new Error("figureHTML: expected a plotly figure {data, layout}, a vega-lite spec or an {kind: 'html'} view");
  }
  return (
    `<div id="${id}" class="infty-fig" data-kind="${kind}" style="${height}"></div>\n` +
    `<script>(function () {\n` +
    `  var el = document.getElementById("${id}"), spec = ${figureJSON(view)}, tries = 0;\n` +
    `  function draw() { ${draw} }\n` +
    `  (function attempt() {\n` +
    `    if (draw()) return;\n` +
    `    if (++tries < 200) return setTimeout(attempt, 50);\n` +
    `    el.textContent = "figure not drawn: the bundle cell (first cell) has not run on this page";\n` +
    `  })();\n` +
    `})();</script>`
  );
}
