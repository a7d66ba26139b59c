/**
 * Plotly figure builders: pure functions from plain arrays to `{data, layout}` specs (STYLE §11). They do no tensor
 * math and return plain JSON (no typed arrays), so tests can assert traces, axes and titles, and `show()` can embed
 * them in a page.
 */

/** A plotly trace: plain JSON, typed loosely because plotly's schema is large. */
export type PlotlyTrace = { type: string; name?: string } & Record<string, unknown>;

/** A plotly figure as data and layout (rendered offline by the inlined bundle). */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: Record<string, unknown> & { title?: { text: string } };
  config?: Record<string, unknown>;
}

/** Copies to a plain array (typed arrays do not serialise to JSON arrays); non-finite values become null (gaps). */
export function plain(xs: ArrayLike<number>): (number | null)[] {
  const out = new Array<number | null>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = Number.isFinite(xs[i]) ? xs[i] : null;
  return out;
}

const baseLayout = (title: string | undefined, extra: Record<string, unknown>) => ({
  ...(title ? { title: { text: title } } : {}),
  margin: { l: 60, r: 20, t: title ? 50 : 20, b: 50 },
  ...extra,
});

/** One series of a grouped bar chart, with optional error bars. */
export interface BarSeries {
  /** legend name, e.g. "ours" or "paper" */
  name: string;
  /** one value per group */
  values: ArrayLike<number>;
  /** ± error per group (e.g. one standard deviation over seeds); omitted → no error bars */
  errors?: ArrayLike<number>;
  /** with `errors`: the error below each bar when it differs from the one above (an interval, not a ± spread) */
  errorsMinus?: ArrayLike<number>;
}

/** Grouped bars with optional symmetric error bars (ablations: one group per setting, one series per source). */
export function groupedBars(opts: {
  groups: string[];
  series: BarSeries[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
}): PlotlyFigure {
  for (const s of opts.series) {
    if (s.values.length !== opts.groups.length) throw new Error(`series '${s.name}' has ${s.values.length} values for ${opts.groups.length} groups`);
    if (s.errors && s.errors.length !== opts.groups.length) throw new Error(`series '${s.name}' has ${s.errors.length} errors for ${opts.groups.length} groups`);
    if (s.errorsMinus && (!s.errors || s.errorsMinus.length !== opts.groups.length)) throw new Error(`series '${s.name}': errorsMinus needs errors, one per group`);
  }
  return {
    data: opts.series.map((s) => ({
      type: "bar",
      name: s.name,
      x: [...opts.groups],
      y: plain(s.values),
      ...(s.errors
        ? { error_y: { type: "data", array: plain(s.errors), visible: true, ...(s.errorsMinus ? { symmetric: false, arrayminus: plain(s.errorsMinus) } : {}) } }
        : {}),
    })),
    layout: baseLayout(opts.title, {
      barmode: "group",
      xaxis: { title: { text: opts.xTitle ?? "" } },
      yaxis: { title: { text: opts.yTitle ?? "" }, type: opts.logY ? "log" : "linear" },
    }),
  };
}

/** One line of a line plot. */
export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** Lines with markers, one per series (Fig. 7: FID vs sampling steps, one line per resolution). */
export function linePlot(opts: {
  series: LineSeries[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
}): PlotlyFigure {
  for (const s of opts.series) {
    if (s.x.length !== s.y.length) throw new Error(`series '${s.name}' has ${s.x.length} x and ${s.y.length} y values`);
  }
  return {
    data: opts.series.map((s) => ({ type: "scatter", mode: "lines+markers", name: s.name, x: plain(s.x), y: plain(s.y) })),
    layout: baseLayout(opts.title, {
      xaxis: { title: { text: opts.xTitle ?? "" }, type: opts.logX ? "log" : "linear" },
      yaxis: { title: { text: opts.yTitle ?? "" }, type: opts.logY ? "log" : "linear" },
    }),
  };
}

/** Row-major [H, W] values → rows for plotly's `z` (row 0 at the top once the y axis is reversed). */
export function toRows(values: ArrayLike<number>, h: number, w: number): (number | null)[][] {
  if (values.length !== h * w) throw new Error(`field has ${values.length} values for ${h}×${w}`);
  const rows: (number | null)[][] = [];
  for (let y = 0; y < h; y++) rows.push(plain(Array.prototype.slice.call(values, y * w, (y + 1) * w) as number[]));
  return rows;
}

/** One heatmap of a row-major [H, W] field, image orientation (row 0 at the top), square pixels. */
export function heatmap(opts: {
  values: ArrayLike<number>;
  h: number;
  w: number;
  title?: string;
  zmin?: number;
  zmax?: number;
  colorscale?: string;
  colorbarTitle?: string;
}): PlotlyFigure {
  return {
    data: [{
      type: "heatmap",
      z: toRows(opts.values, opts.h, opts.w),
      colorscale: opts.colorscale ?? "RdBu",
      ...(opts.zmin != null ? { zmin: opts.zmin } : {}),
      ...(opts.zmax != null ? { zmax: opts.zmax } : {}),
      colorbar: { title: { text: opts.colorbarTitle ?? "" } },
    }],
    layout: baseLayout(opts.title, {
      xaxis: { constrain: "domain", showticklabels: false },
      yaxis: { autorange: "reversed", scaleanchor: "x", showticklabels: false },
      width: 420,
      height: 400,
    }),
  };
}

/**
 * A figure with a slider over a parameter: each step shows its own traces and hides the others (plotly's
 * `update` method flips `visible`), so the page needs no kernel to sweep.
 */
export function sliderFigure(opts: {
  steps: { label: string; traces: PlotlyTrace[] }[];
  title?: string;
  sliderLabel: string;
  /** layout merged in (axes, size) */
  layout?: Record<string, unknown>;
  initial?: number;
}): PlotlyFigure {
  const initial = opts.initial ?? 0;
  const data: PlotlyTrace[] = [];
  const owner: number[] = [];
  opts.steps.forEach((step, i) => {
    for (const t of step.traces) {
      data.push({ ...t, visible: i === initial });
      owner.push(i);
    }
  });
  return {
    data,
    layout: {
      ...baseLayout(opts.title, opts.layout ?? {}),
      sliders: [{
        active: initial,
        currentvalue: { prefix: `${opts.sliderLabel}: ` },
        pad: { t: 40 },
        steps: opts.steps.map((step, i) => ({
          label: step.label,
          method: "update",
          args: [{ visible: owner.map((o) => o === i) }],
        })),
      }],
    },
  };
}

/** One row of the Fig. 2 measurement (experiments/cross-resolution.ts `CrossResRow`), as plain data. */
export interface CrossResBarRow {
  dataset: string;
  variant: string;
  multiplier: number;
  rmsMean: number;
  rmsInterval: [number, number] | null;
}

/**
 * The paper's Fig. 2 claim as bars: for one dataset, per variant, the RMS between the m·r₀ sample area-reduced to r₀
 * and the r₀ sample from the same noise, one series per multiplier, with the 95 % interval of the mean as error bars.
 */
export function crossResolutionFigure(rows: CrossResBarRow[], dataset: string): PlotlyFigure {
  const mine = rows.filter((r) => r.dataset === dataset);
  if (!mine.length) throw new Error(`crossResolutionFigure: no rows for dataset '${dataset}'`);
  const variants = [...new Set(mine.map((r) => r.variant))];
  const multipliers = [...new Set(mine.map((r) => r.multiplier))].sort((a, b) => a - b);
  const series: BarSeries[] = multipliers.map((m) => {
    const at = variants.map((v) => mine.find((r) => r.variant === v && r.multiplier === m));
    return {
      name: `${m}·r₀ → r₀`,
      values: at.map((r) => r?.rmsMean ?? NaN),
      errors: at.map((r) => (r?.rmsInterval ? r.rmsInterval[1] - r.rmsMean : NaN)),
      errorsMinus: at.map((r) => (r?.rmsInterval ? r.rmsMean - r.rmsInterval[0] : NaN)),
    };
  });
  return groupedBars({
    groups: variants, series, title: `Fig. 2, measured (${dataset}): the same noise at m·r₀, reduced to r₀, vs the r₀ sample`,
    yTitle: "RMS per image (lower = more consistent)",
  });
}

/** One evaluated checkpoint of a quality curve (readQualityCurve's fields that the figure uses). */
export interface QualityCurvePoint {
  step: number;
  fid: number;
  /** FID's 95 % bootstrap interval, drawn as an error bar where present */
  fidInterval95?: [number, number] | null;
  holdoutFid: number;
  blurredTestFid: number;
}

/**
 * FID against training step (log y), with the two reference levels at the same n as dashed lines: held-out training
 * images (the floor a perfect model reaches) and the test set blurred by σ = 1 px (a model must beat blur).
 */
export function qualityCurveFigure(points: QualityCurvePoint[], title = "FID along training"): PlotlyFigure {
  const steps = points.map((p) => p.step);
  const level = (name: string, ys: number[], color: string): PlotlyTrace =>
    ({ type: "scatter", mode: "lines", name, x: plain(steps), y: plain(ys), line: { dash: "dash", color } });
  return {
    data: [
      {
        type: "scatter", mode: "lines+markers", name: "model (EMA weights)", x: plain(steps), y: plain(points.map((p) => p.fid)),
        // points scored before the bootstrap existed get no bar (NaN → null: plotly draws none)
        ...(points.some((p) => p.fidInterval95) ? {
          error_y: {
            type: "data", symmetric: false, visible: true,
            array: plain(points.map((p) => (p.fidInterval95 ? p.fidInterval95[1] - p.fid : NaN))),
            arrayminus: plain(points.map((p) => (p.fidInterval95 ? p.fid - p.fidInterval95[0] : NaN))),
          },
        } : {}),
      },
      level("test set blurred σ = 1 px", points.map((p) => p.blurredTestFid), "#d62728"),
      level("held-out training images", points.map((p) => p.holdoutFid), "#2ca02c"),
    ],
    layout: baseLayout(title, {
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "FID (lab feature net)" }, type: "log" },
    }),
  };
}

/** One line of FID against sampler steps (stepsSeries' fields that the figure uses). */
export interface StepsLine {
  label: string;
  resolution: number;
  points: { steps: number; fid: number; fidInterval95: [number, number] | null }[];
}

/**
 * FID against DDIM steps (log x), one line per resolution and sampler variant, each point with its 95 % bootstrap
 * interval as an error bar; lines at one resolution share a colour, variants differ by dash.
 */
export function stepsCurveFigure(lines: StepsLine[], title = "FID against DDIM steps"): PlotlyFigure {
  const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];
  const resolutions = [...new Set(lines.map((l) => l.resolution))];
  const dashes = ["solid", "dash", "dot", "dashdot"];
  const variantIndex = new Map<string, number>();
  return {
    data: lines.map((l) => {
      const variant = l.label.split(", ").slice(1).join(", ");
      if (!variantIndex.has(variant)) variantIndex.set(variant, variantIndex.size);
      const ps = l.points;
      return {
        type: "scatter", mode: "lines+markers", name: l.label, x: plain(ps.map((p) => p.steps)), y: plain(ps.map((p) => p.fid)),
        line: { color: colours[resolutions.indexOf(l.resolution) % colours.length], dash: dashes[variantIndex.get(variant)! % dashes.length] },
        error_y: {
          type: "data", symmetric: false, visible: true,
          array: plain(ps.map((p) => (p.fidInterval95 ? p.fidInterval95[1] - p.fid : NaN))),
          arrayminus: plain(ps.map((p) => (p.fidInterval95 ? p.fid - p.fidInterval95[0] : NaN))),
        },
      };
    }),
    layout: baseLayout(title, {
      xaxis: { title: { text: "DDIM steps" }, type: "log" },
      yaxis: { title: { text: "FID (lab feature net)" } },
    }),
  };
}
