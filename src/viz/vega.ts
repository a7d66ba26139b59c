/**
 * Vega-lite specs (training curves) and an optional Node renderer to SVG. vega, vega-lite and vega-embed are
 * ESM-only with top-level await, so `require()` (what tsc's CommonJS output and tslab turn every import into) fails;
 * `esmImport` is a dynamic import that tsc does not rewrite.
 */

export type VegaLiteSpec = Record<string, unknown> & { $schema: string };

/** The vega-lite schema the lab's specs declare. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** One point of a training curve: step, value and series name. */
export interface CurvePoint {
  step: number;
  value: number;
  /** which curve: "train loss", "val loss", … */
  series: string;
}

/** Training curves: value against step, one coloured line per series, optional log y. */
export function trainingCurvesSpec(points: CurvePoint[], opts: { title?: string; yTitle?: string; logY?: boolean; width?: number; height?: number } = {}): VegaLiteSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 260,
    data: { values: points.map((p) => ({ step: p.step, value: Number.isFinite(p.value) ? p.value : null, series: p.series })) },
    mark: { type: "line", point: points.length <= 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field: "value", type: "quantitative", title: opts.yTitle ?? "loss", scale: { type: opts.logY ? "log" : "linear", zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  };
}

// `new Function` keeps the import() out of tsc's reach (it would become require()); Node resolves the specifier
// from the working directory's module paths, which is fine for packages installed in the project.
const dynamicImport = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

/** Imports an ESM-only package (vega, vega-lite) from CommonJS code or a tslab cell. */
export function esmImport<T = any>(specifier: string): Promise<T> {
  return dynamicImport(specifier);
}

/** Compiles a vega-lite spec and renders it to an SVG string in Node (no browser, no network). */
export async function vegaLiteToSVG(spec: VegaLiteSpec): Promise<string> {
  const vl = await esmImport("vega-lite");
  const vega = await esmImport("vega");
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
