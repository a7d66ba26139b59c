/**
 * The notebooks' five interactive figures (slider + play, no kernel round trip): pure views over the plain arrays
 * of src/lib/pipelines/interactive. Each panel keeps one colour range over all frames, so what changes between frames is
 * the field, not the scale.
 */
import type { ForwardSteps, Trajectory, NoiseStep, KernelStep, SubsetStep } from "../lib/pipelines/interactive";
import type { PlotlyTrace } from "./plotly";
import { plain } from "./plotly";
import { sharedRange } from "./fields";
import { axisId, fieldTrace, panelGrid, StepFrame, StepperFigure, stepperFigure } from "./stepper";

const fmt = (v: number, d = 3) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(d - 1) : v.toPrecision(d));
const line = (name: string, x: ArrayLike<number>, y: ArrayLike<number>, panel: number, extra: Record<string, unknown> = {}): PlotlyTrace =>
  ({ type: "scatter", mode: "lines", name, x: plain(x), y: plain(y), xaxis: axisId(panel, "x"), yaxis: axisId(panel, "y"), ...extra });
const markers = (name: string, x: number[], y: number[], panel: number, color?: string): PlotlyTrace =>
  ({ type: "scatter", mode: "markers", name, x, y, xaxis: axisId(panel, "x"), yaxis: axisId(panel, "y"), showlegend: false, marker: { size: 10, ...(color ? { color } : {}) } });
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];

/** Notebook 01: x_t for white and mollified noise at each resolution (rows), ᾱ_t/SNR and per-pixel variance vs t. */
export function forwardProcessFigure(s: ForwardSteps, opts: { title?: string } = {}): StepperFigure {
  const res = [...new Set(s.panels.map((p) => p.resolution))];
  if (res.length < 1 || s.panels.length !== 2 * res.length) throw new Error("forwardProcessFigure: expected a white and a mollified panel per resolution");
  const panelOf = (kind: string, r: number) => res.indexOf(r) * 3 + (kind === "white" ? 0 : 1);
  const range = { white: sharedRange(s.panels.filter((p) => p.kind === "white").flatMap((p) => p.frames), { quantile: 0.995 }),
    mollified: sharedRange(s.panels.filter((p) => p.kind === "mollified").flatMap((p) => p.frames), { quantile: 0.995 }) };
  const traces: PlotlyTrace[] = [], animated: number[] = [];
  for (const p of s.panels) {
    animated.push(traces.length);
    traces.push(fieldTrace(p.frames[0], p.resolution, p.resolution, panelOf(p.kind, p.resolution), { zmin: range[p.kind][0], zmax: range[p.kind][1] }));
  }
  const varPanel = 2, schedPanel = 5;
  s.panels.forEach((p, i) => traces.push(line(`var ${p.kind} ${p.resolution}² (theory)`, s.ts, p.varianceTheory, varPanel, { line: { color: COLORS[i % 5], dash: p.kind === "white" ? "dot" : "solid" } })));
  traces.push(line("ᾱ_t", s.ts, s.alphaBar, schedPanel), line("SNR ᾱ/(1−ᾱ)", s.ts, s.snr, schedPanel));
  animated.push(traces.length);
  traces.push(markers("measured variance", [], [], varPanel));
  animated.push(traces.length);
  traces.push(markers("ᾱ_t, SNR", [], [], schedPanel, "black"));
  const frames: StepFrame[] = s.ts.map((t, k) => ({
    label: String(t),
    data: [
      ...s.panels.map((p) => fieldTrace(p.frames[k], p.resolution, p.resolution, panelOf(p.kind, p.resolution), { zmin: range[p.kind][0], zmax: range[p.kind][1] })),
      { x: s.panels.map(() => t), y: s.panels.map((p) => p.varianceMeasured[k]), marker: { size: 9, color: s.panels.map((_, i) => COLORS[i % 5]) } },
      { x: [t, t], y: [s.alphaBar[k], s.snr[k]] },
    ],
    title: `${opts.title ?? "Forward process"} — t = ${t}: ᾱ_t = ${fmt(s.alphaBar[k])}, SNR = ${fmt(s.snr[k])}` +
      (["white", "mollified"] as const).map((kind) => `<br>${kind} per-pixel noise variance: ` + s.panels.filter((p) => p.kind === kind)
        .map((p) => `${p.resolution}² ${fmt(p.varianceMeasured[k])} (theory ${fmt(p.varianceTheory[k])})`).join(", ")).join(""),
  }));
  const titles: string[] = [];
  res.forEach((r, i) => titles.push(`white x_t, ${r}×${r}`, `mollified x_t, ${r}×${r}`, i === 0 ? "per-pixel noise variance vs t (markers: measured)" : "ᾱ_t and SNR vs t"));
  return stepperFigure({
    traces, animated, frames, sliderLabel: "t",
    layout: {
      ...panelGrid({ rows: res.length, cols: 3, titles, image: titles.map((_, i) => i % 3 !== 2),
        axes: titles.map((_, i) => (i % 3 === 2 ? { x: { title: { text: i === titles.length - 1 ? "t" : "" } }, y: { type: "log" } } : undefined)) }),
      width: 1000, height: 330 * res.length + 180, margin: { l: 50, r: 20, t: 110, b: 40 }, legend: { font: { size: 10 } },
    },
  });
}

/** Lays B images [B,H,W,C] (channel 0) side by side with a one-pixel gap (NaN): [H, B·(W+1)−1]. */
export function tileImages(data: ArrayLike<number>, shape: [number, number, number, number]): { values: Float32Array; h: number; w: number } {
  const [B, H, W, C] = shape;
  const w = B * (W + 1) - 1;
  const values = new Float32Array(H * w).fill(NaN);
  for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) values[i * w + b * (W + 1) + j] = data[((b * H + i) * W + j) * C];
  return { values, h: H, w };
}

/** Notebook 06: one row per sampler; x_s, predicted Tx₀ and its Wiener x₀ at every step. */
export function samplerScrubberFigure(trajs: Trajectory[], opts: { title?: string } = {}): StepperFigure {
  if (trajs.length === 0) throw new Error("samplerScrubberFigure: no trajectories");
  const n = trajs[0].t.length;
  for (const tr of trajs) if (tr.t.length !== n) throw new Error("samplerScrubberFigure: trajectories differ in length");
  const kinds = ["x", "Tx0", "x0"] as const;
  const stateRange = sharedRange(trajs.flatMap((tr) => tr.x), { quantile: 0.995 });
  const rangeOf = (k: string): [number, number] => (k === "x" ? stateRange : [-1, 1]);
  const trace = (tr: Trajectory, row: number, k: typeof kinds[number], step: number) => {
    const tiled = tileImages(tr[k][step], tr.shape);
    const [lo, hi] = rangeOf(k);
    return fieldTrace(tiled.values, tiled.h, tiled.w, row * 3 + kinds.indexOf(k), { zmin: lo, zmax: hi });
  };
  const traces = trajs.flatMap((tr, row) => kinds.map((k) => trace(tr, row, k, 0)));
  const frames: StepFrame[] = Array.from({ length: n }, (_, i) => {
    const t = trajs[0].t[i], s = trajs[0].s[i];
    return {
      label: String(i + 1),
      data: trajs.flatMap((tr, row) => kinds.map((k) => trace(tr, row, k, i))),
      title: `${opts.title ?? "Sampler"} — step ${i + 1}/${n}: t = ${t} → ${s < 0 ? "Tx₀ (last step)" : `s = ${s}`}`,
    };
  });
  const titles = trajs.flatMap((tr) => [`${tr.sampler.toUpperCase()}: state x_s`, `${tr.sampler.toUpperCase()}: predicted Tx₀`, `${tr.sampler.toUpperCase()}: Wiener x₀`]);
  const [B, H, W] = trajs[0].shape;
  const aspect = H / (B * (W + 1) - 1);
  return stepperFigure({
    traces, animated: traces.map((_, i) => i), frames, sliderLabel: "step", frameMs: 300,
    layout: { ...panelGrid({ rows: trajs.length, cols: 3, titles, image: titles.map(() => true), gap: 0.04, aspect: titles.map(() => H / (B * (W + 1) - 1)) }), width: 1000, height: Math.round(trajs.length * (300 * aspect + 60) + 170) },
  });
}

/** Notebook 02: ξ, Tξ, T(cξ) at each resolution; variance vs resolution and correlation vs distance follow. */
export function noiseFieldsSliderFigure(steps: NoiseStep[], opts: { sigmaC: number; title?: string }): StepperFigure {
  const kinds = ["xi", "Txi", "Tcxi"] as const;
  const names = { xi: "ξ", Txi: "Tξ", Tcxi: "T(cξ)" };
  const xiRange: [number, number] = [-3, 3];
  const mollRange = sharedRange(steps.map((s) => s.fields.Tcxi), { quantile: 0.999 });
  const rangeOf = (k: string) => (k === "xi" ? xiRange : mollRange);
  const traces: PlotlyTrace[] = [];
  const field = (s: NoiseStep, k: typeof kinds[number]) => fieldTrace(s.fields[k], s.shown, s.shown, kinds.indexOf(k), { zmin: rangeOf(k)[0], zmax: rangeOf(k)[1], colorscale: "RdBu" });
  kinds.forEach((k) => traces.push(field(steps[0], k)));
  const rs = steps.map((s) => s.resolution);
  kinds.forEach((k, i) => {
    traces.push(line(`${names[k]} measured`, rs, steps.map((s) => s.variance[k]), 3, { mode: "lines+markers", line: { color: COLORS[i] } }));
    traces.push(line(`${names[k]} theory`, rs, steps.map((s) => s.varianceTheory[k]), 3, { line: { color: COLORS[i], dash: "dash" }, showlegend: false }));
  });
  const maxD = Math.max(...steps.map((s) => s.distance[s.distance.length - 1]));
  const dGrid = Array.from({ length: 50 }, (_, i) => (i / 49) * maxD);
  traces.push(line("exp(−d²/4σ²)", dGrid, dGrid.map((d) => Math.exp(-(d * d) / (4 * opts.sigmaC * opts.sigmaC))), 4, { line: { color: "black", dash: "dash" } }));
  const animated = [0, 1, 2];
  animated.push(traces.length);
  traces.push(markers("current", [], [], 3, "black"));
  for (const [i, k] of kinds.entries()) {
    animated.push(traces.length);
    traces.push(line(`corr ${names[k]}`, [], [], 4, { mode: "lines+markers", line: { color: COLORS[i] }, showlegend: false }));
  }
  const frames: StepFrame[] = steps.map((s) => ({
    label: `${s.resolution}×${s.resolution}`,
    data: [
      ...kinds.map((k) => field(s, k)),
      { x: kinds.map(() => s.resolution), y: kinds.map((k) => s.variance[k]) },
      ...kinds.map((k) => ({ x: plain(s.distance), y: plain(s.corr[k]) })),
    ],
    title: `${opts.title ?? "Noise fields"} — ${s.resolution}×${s.resolution}, c = ${fmt(s.c)}:<br>mean per-pixel variance ξ ${fmt(s.variance.xi)}, ` +
      `Tξ ${fmt(s.variance.Txi)} (theory ${fmt(s.varianceTheory.Txi)}), T(cξ) ${fmt(s.variance.Tcxi)} (theory ${fmt(s.varianceTheory.Tcxi)})` +
      (s.stride > 1 ? `; fields shown every ${s.stride}th pixel` : ""),
  }));
  const titles = ["white noise ξ", "Tξ (fades as the grid refines)", "T(cξ), c = r/r₀", "mean per-pixel variance vs r", "correlation vs distance (image sides)"];
  return stepperFigure({
    traces, animated, frames, sliderLabel: "grid", initial: 0,
    layout: {
      ...panelGrid({ rows: 2, cols: 3, titles, image: [true, true, true, false, false],
        axes: [undefined, undefined, undefined, { x: { type: "log", tickvals: rs, ticktext: rs.map(String) }, y: { type: "log" } }, { y: { range: [-0.2, 1.05] } }] }),
      width: 1000, height: 820,
    },
  });
}

/** Notebook 04: the resampled 7×7 kernel per reading (channel 0) and the invariance error vs scale. */
export function kernelResamplingFigure(steps: KernelStep[], opts: { r0: number; title?: string }): StepperFigure {
  const modes = ["extent", "per-tap"] as const;
  const range = sharedRange(steps.flatMap((s) => modes.map((m) => s.taps[m])));
  const taps = (s: KernelStep, m: typeof modes[number]) => fieldTrace(s.taps[m], s.size[m], s.size[m], modes.indexOf(m), { zmin: range[0], zmax: range[1], colorscale: "RdBu" });
  const traces: PlotlyTrace[] = modes.map((m) => taps(steps[0], m));
  const scales = steps.map((s) => s.scale);
  (["none", "per-tap", "extent"] as const).forEach((m, i) => traces.push(line(m === "none" ? "kernel kept (none)" : m, scales, steps.map((s) => (s.scale === 1 ? NaN : s.error[m])), 2, { mode: "lines+markers", line: { color: COLORS[i] } })));
  traces.push(markers("current", [], [], 2, "black"));
  const frames: StepFrame[] = steps.map((s) => ({
    label: `${s.scale}`,
    data: [...modes.map((m) => taps(s, m)), { x: [s.scale, s.scale, s.scale], y: [s.error.none, s.error["per-tap"], s.error.extent] }],
    title: `${opts.title ?? "Kernel resampling"} — s = ${s.scale} (${s.resolution}×${s.resolution} from r₀ = ${opts.r0}): k' = ${s.size.extent} (extent), ${s.size["per-tap"]} (per-tap)<br>` +
      `invariance error: none ${fmt(s.error.none)}, per-tap ${fmt(s.error["per-tap"])}, extent ${fmt(s.error.extent)}`,
  }));
  return stepperFigure({
    traces, animated: [0, 1, traces.length - 1], frames, sliderLabel: "scale s",
    layout: {
      ...panelGrid({ rows: 1, cols: 3, titles: ["extent: taps over the same extent", "per-tap: bilinear values", "relative RMS error vs r₀ output"], image: [true, true, false],
        axes: [undefined, undefined, { x: { title: { text: "s" } }, y: { type: "log", title: { text: "error" } } }] }),
      width: 1000, height: 480,
    },
  });
}

/** Notebook 03: one uniform and one QMC subset per ratio, and the Monte-Carlo error vs m with the current m marked. */
export function subsetsFigure(steps: SubsetStep[], opts: { title?: string; G: number }): StepperFigure {
  const samplers = ["uniform", "qmc"] as const;
  const pts = (s: SubsetStep, k: typeof samplers[number]) => ({ x: s.points[k].x, y: s.points[k].y });
  const traces: PlotlyTrace[] = samplers.map((k, i) => ({
    type: "scatter", mode: "markers", name: `${k} points`, ...pts(steps[0], k), xaxis: axisId(i, "x"), yaxis: axisId(i, "y"),
    marker: { size: 4, color: COLORS[i] }, showlegend: false,
  }));
  const ms = steps.map((s) => s.m);
  const pos = (v: number) => (v > 0 ? v : NaN); // the full grid has no error (log axis)
  traces.push(line("uniform (measured)", ms, steps.map((s) => pos(s.rmse.uniform)), 2, { mode: "lines+markers", line: { color: COLORS[0] } }));
  traces.push(line("uniform (closed form)", ms, steps.map((s) => pos(s.rmseUniformTheory)), 2, { line: { color: COLORS[0], dash: "dash" } }));
  traces.push(line("QMC (measured)", ms, steps.map((s) => pos(s.rmse.qmc)), 2, { mode: "lines+markers", line: { color: COLORS[1] } }));
  traces.push(markers("current", [], [], 2, "black"));
  const label = (r: number) => (r === 1 ? "1" : `1/${Math.round(1 / r)}`);
  const frames: StepFrame[] = steps.map((s) => ({
    label: label(s.ratio),
    data: [...samplers.map((k) => pts(s, k)), { x: [s.m, s.m], y: [s.rmse.uniform, s.rmse.qmc] }],
    title: `${opts.title ?? "Coordinate subsets"} — ratio ${label(s.ratio)}: m = ${s.m} of ${opts.G}<br>RMSE of the mean: uniform ${fmt(s.rmse.uniform)} ` +
      `(closed form ${fmt(s.rmseUniformTheory)}), QMC ${fmt(s.rmse.qmc)}` + (s.rmse.qmc > 0 ? ` (${fmt(s.rmse.uniform / s.rmse.qmc, 2)}× lower)` : ""),
  }));
  const unit = { range: [0, 1], showgrid: false, zeroline: false, showticklabels: false };
  return stepperFigure({
    traces, animated: [0, 1, traces.length - 1], frames, sliderLabel: "ratio",
    layout: {
      ...panelGrid({ rows: 1, cols: 3, titles: ["uniform subset", "QMC subset (Halton, random shift)", "RMSE of the subset mean vs m"], image: [false, false, false],
        axes: [{ x: { ...unit, constrain: "domain" }, y: { ...unit, autorange: "reversed", range: undefined, scaleanchor: "x" } },
          { x: { ...unit, constrain: "domain" }, y: { ...unit, autorange: "reversed", range: undefined, scaleanchor: "x2" } },
          { x: { type: "log", title: { text: "m" } }, y: { type: "log", title: { text: "RMSE" } } }] }),
      width: 1000, height: 470,
    },
  });
}
