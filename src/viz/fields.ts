/**
 * Noise-field views: fields at several resolutions side by side on ONE colour scale, so that "smoother" and
 * "weaker" are visible as such (separate autoscaled heatmaps would hide the variance drop that mollifying causes).
 */
import { PlotlyFigure, PlotlyTrace, toRows } from "./plotly";

/** A 2-D field to draw: row-major values, its size and a title. */
export interface Field {
  /** caption, e.g. "64×64" */
  label: string;
  /** row-major [H, W] */
  values: ArrayLike<number>;
  h: number;
  w: number;
}

/**
 * The colour range shared by several fields. `symmetric` (default true) centres it on 0, as noise is; `quantile`
 * (default 1 = the extreme value) clips the range at that quantile of |v| (or of v), so one outlier does not wash out
 * every panel.
 */
export function sharedRange(fields: ArrayLike<number>[], opts: { symmetric?: boolean; quantile?: number } = {}): [number, number] {
  const symmetric = opts.symmetric ?? true;
  const q = opts.quantile ?? 1;
  if (!(q > 0 && q <= 1)) throw new Error(`quantile must be in (0, 1], got ${q}`);
  let n = 0;
  for (const f of fields) n += f.length;
  if (n === 0) throw new Error("sharedRange needs at least one value");
  if (q === 1) {
    let lo = Infinity, hi = -Infinity;
    for (const f of fields) for (let i = 0; i < f.length; i++) {
      const v = f[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!symmetric) return [lo, hi];
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return [-m, m];
  }
  const all = new Float64Array(n);
  let k = 0;
  for (const f of fields) for (let i = 0; i < f.length; i++) all[k++] = symmetric ? Math.abs(f[i]) : f[i];
  all.sort();
  const at = (p: number) => all[Math.min(n - 1, Math.max(0, Math.round(p * (n - 1))))];
  if (symmetric) {
    const m = at(q);
    return [-m, m];
  }
  return [at(1 - q), at(q)];
}

/**
 * Fields side by side (one row, or `rows` rows) as plotly heatmaps sharing one colour axis: each trace refers to
 * `coloraxis`, whose cmin/cmax is `sharedRange` of all the fields. Each panel spans the same unit square whatever
 * its resolution, so the panels compare the same continuous function sampled at different grids.
 */
export function noiseFieldsFigure(fields: Field[], opts: {
  title?: string;
  rows?: number;
  range?: [number, number];
  colorscale?: string;
  /** pixel size of each panel */
  panel?: number;
} = {}): PlotlyFigure {
  if (fields.length === 0) throw new Error("noiseFieldsFigure needs at least one field");
  const rows = opts.rows ?? 1;
  const cols = Math.ceil(fields.length / rows);
  const [cmin, cmax] = opts.range ?? sharedRange(fields.map((f) => f.values));
  const panel = opts.panel ?? 220;
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    ...(opts.title ? { title: { text: opts.title } } : {}),
    grid: { rows, columns: cols, pattern: "independent" },
    coloraxis: { cmin, cmax, colorscale: opts.colorscale ?? "RdBu" },
    width: cols * panel + 120,
    height: rows * (panel + 40) + (opts.title ? 70 : 30),
    margin: { l: 20, r: 20, t: opts.title ? 60 : 20, b: 20 },
  };
  fields.forEach((f, i) => {
    const ax = i === 0 ? "" : String(i + 1);
    // Cell centres in continuous coordinates [0, 1]: the same extent for every resolution.
    const xs = Array.from({ length: f.w }, (_, j) => (j + 0.5) / f.w);
    const ys = Array.from({ length: f.h }, (_, j) => (j + 0.5) / f.h);
    data.push({ type: "heatmap", name: f.label, x: xs, y: ys, z: toRows(f.values, f.h, f.w), coloraxis: "coloraxis", xaxis: `x${ax}`, yaxis: `y${ax}` });
    layout[`xaxis${ax}`] = { range: [0, 1], showticklabels: false, title: { text: f.label }, constrain: "domain" };
    layout[`yaxis${ax}`] = { range: [1, 0], showticklabels: false, scaleanchor: `x${ax}` };
  });
  return { data, layout };
}
