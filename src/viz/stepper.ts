/**
 * Figures that step through precomputed frames in the page itself (no kernel round trip, so they work the same in
 * the exported HTML): plotly frames driven by a slider and a play/pause button. Pure functions from plain arrays to
 * `{data, layout, frames}`; the page only swaps the frames' traces.
 */
import { PlotlyFigure, PlotlyTrace, plain } from "./plotly";

/** One frame: new values for the animated traces (in `animated` order) and an optional title (the readout). */
export interface StepFrame {
  label: string;
  /** partial traces: only the keys that change (z, x, y, marker, …) */
  data: Record<string, unknown>[];
  title?: string;
}

/** A plotly figure with a slider and play button over frames. */
export interface StepperFigure extends PlotlyFigure {
  frames: { name: string; data: Record<string, unknown>[]; traces: number[]; layout?: Record<string, unknown> }[];
}

/** Whether a figure has slider frames. */
export function isStepper(fig: PlotlyFigure): fig is StepperFigure {
  return Array.isArray((fig as StepperFigure).frames);
}

/**
 * `traces` are the traces as first drawn (static ones, e.g. full curves, and the animated ones); `animated` lists
 * the indices that each frame replaces. `initial` is the frame shown first (its data replaces the animated traces).
 */
export function stepperFigure(opts: {
  traces: PlotlyTrace[];
  animated: number[];
  frames: StepFrame[];
  sliderLabel: string;
  title?: string;
  layout?: Record<string, unknown>;
  /** milliseconds per frame when playing */
  frameMs?: number;
  initial?: number;
}): StepperFigure {
  if (opts.frames.length === 0) throw new Error("stepperFigure: no frames");
  for (const i of opts.animated) if (!(i >= 0 && i < opts.traces.length)) throw new Error(`stepperFigure: animated trace ${i} does not exist`);
  opts.frames.forEach((f, k) => {
    if (f.data.length !== opts.animated.length) throw new Error(`frame ${k} ('${f.label}') has ${f.data.length} traces for ${opts.animated.length} animated`);
  });
  const names = new Set(opts.frames.map((f) => f.label));
  if (names.size !== opts.frames.length) throw new Error("stepperFigure: frame labels must be distinct (they name the frames)");
  const initial = opts.initial ?? 0;
  const first = opts.frames[initial];
  const data = opts.traces.map((t, i) => {
    const k = opts.animated.indexOf(i);
    return k >= 0 ? { ...t, ...first.data[k] } : t;
  });
  const titleOf = (f: StepFrame): string | undefined => f.title ?? opts.title;
  const ms = opts.frameMs ?? 400;
  const go = (duration: number) => ({ mode: "immediate", fromcurrent: true, frame: { duration, redraw: true }, transition: { duration: 0 } });
  const layout: Record<string, unknown> = {
      margin: { l: 50, r: 20, t: 90, b: 40 },
      ...(opts.layout ?? {}),
      ...(titleOf(first) ? { title: { text: titleOf(first) as string, font: { size: 14 } } } : {}),
      sliders: [{
        active: initial,
        currentvalue: { prefix: `${opts.sliderLabel}: `, font: { size: 13 } },
        pad: { t: 30 },
        x: 0.17,
        len: 0.83,
        steps: opts.frames.map((f) => ({ label: f.label, method: "animate", args: [[f.label], go(0)] })),
      }],
      updatemenus: [{
        type: "buttons", direction: "left", showactive: false, x: 0, y: 0, xanchor: "left", yanchor: "top", pad: { t: 55 },
        buttons: [
          { label: "▶ play", method: "animate", args: [null, go(ms)] },
          { label: "❚❚", method: "animate", args: [[null], { mode: "immediate", frame: { duration: 0, redraw: false }, transition: { duration: 0 } }] },
        ],
      }],
  };
  return {
    data,
    layout,
    frames: opts.frames.map((f) => ({
      name: f.label,
      data: f.data,
      traces: opts.animated.slice(),
      ...(titleOf(f) ? { layout: { title: { text: titleOf(f), font: { size: 14 } } } } : {}),
    })),
  };
}

/** Axis ids for panel i of a grid: "x", "x2", … (plotly numbers axes from 1, the first without a number). */
export function axisId(i: number, letter: "x" | "y"): string {
  return i === 0 ? letter : `${letter}${i + 1}`;
}

/**
 * Layout for a grid of panels (row-major, `rows`×`cols`): axis domains with gaps, square-pixel image panels
 * (y reversed, no ticks) where `image[i]`, a title above each panel. Returns layout keys to merge.
 */
export function panelGrid(opts: {
  rows: number;
  cols: number;
  titles: string[];
  image: boolean[];
  gap?: number;
  /** height/width of each image panel's fields (default 1: square); image axes span [0, 1] × [0, aspect] */
  aspect?: number[];
  /** extra axis settings per panel (titles, log scales, ranges) */
  axes?: ({ x?: Record<string, unknown>; y?: Record<string, unknown> } | undefined)[];
}): Record<string, unknown> {
  const gap = opts.gap ?? 0.06;
  const w = (1 - gap * (opts.cols - 1)) / opts.cols, h = (1 - gap * (opts.rows - 1)) / opts.rows;
  const layout: Record<string, unknown> = {};
  const annotations: Record<string, unknown>[] = [];
  for (let i = 0; i < opts.rows * opts.cols && i < opts.titles.length; i++) {
    const r = Math.floor(i / opts.cols), c = i % opts.cols;
    const x0 = c * (w + gap), y1 = 1 - r * (h + gap);
    const xk = i === 0 ? "xaxis" : `xaxis${i + 1}`, yk = i === 0 ? "yaxis" : `yaxis${i + 1}`;
    const img = opts.image[i];
    // image axes have fixed ranges: animating a heatmap does not re-run autorange, and fields of different sizes
    // (32² … 512², k' × k') must fill the same panel (fieldTrace maps every field onto [0, 1] × [0, aspect])
    const aspect = opts.aspect?.[i] ?? 1;
    const imgX = { range: [0, 1], showticklabels: false, ticks: "", showgrid: false, zeroline: false, constrain: "domain" };
    const imgY = { range: [aspect, 0], scaleanchor: axisId(i, "x"), showticklabels: false, ticks: "", showgrid: false, zeroline: false, constrain: "domain" };
    layout[xk] = { domain: [x0, x0 + w], anchor: axisId(i, "y"), ...(img ? imgX : {}), ...(opts.axes?.[i]?.x ?? {}) };
    layout[yk] = { domain: [y1 - h, y1], anchor: axisId(i, "x"), ...(img ? imgY : {}), ...(opts.axes?.[i]?.y ?? {}) };
    annotations.push({ text: opts.titles[i], showarrow: false, xref: "paper", yref: "paper", x: x0 + w / 2, y: y1, xanchor: "center", yanchor: "bottom", font: { size: 12 } });
  }
  layout.annotations = annotations;
  return layout;
}

/**
 * A heatmap trace for a row-major [h·w] field on panel i (no colour bar unless asked), its cells mapped onto
 * [0, 1] × [0, h/w] (row 0 at the top), whatever h and w: the panel shows the whole field at every frame.
 */
export function fieldTrace(values: ArrayLike<number>, h: number, w: number, panel: number, o: { zmin?: number; zmax?: number; colorscale?: string; showscale?: boolean; name?: string } = {}): PlotlyTrace {
  if (values.length !== h * w) throw new Error(`field has ${values.length} values for ${h}×${w}`);
  const z: (number | null)[][] = [];
  for (let y = 0; y < h; y++) z.push(plain(Array.prototype.slice.call(values, y * w, (y + 1) * w) as number[]));
  return {
    type: "heatmap", name: o.name, z, xaxis: axisId(panel, "x"), yaxis: axisId(panel, "y"), x0: 0.5 / w, dx: 1 / w, y0: 0.5 / w, dy: 1 / w,
    colorscale: o.colorscale ?? "Greys", showscale: o.showscale ?? false,
    ...(o.zmin != null ? { zmin: o.zmin, zmax: o.zmax } : {}),
  };
}
