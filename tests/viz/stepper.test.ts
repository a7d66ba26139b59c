import { strict as assert } from "assert";
import {
  stepperFigure, panelGrid, fieldTrace, tileImages, forwardProcessFigure, samplerScrubberFigure, noiseFieldsSliderFigure,
  kernelResamplingFigure, subsetsFigure, figureJSON, figureHTML,
} from "infty-diff-lab/viz";
import type { ForwardSteps, Trajectory, NoiseStep, KernelStep, SubsetStep } from "infty-diff-lab";

const BUDGET = 5 * 1024 * 1024;
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every slider step animates to a frame of the same name, in order; play animates all frames; frame traces match. */
function assertStepper(fig: Any, nFrames: number, nAnimated: number) {
  assert.equal(fig.frames.length, nFrames);
  const slider = fig.layout.sliders[0];
  assert.equal(slider.steps.length, nFrames);
  slider.steps.forEach((s: Any, i: number) => {
    assert.equal(s.method, "animate");
    assert.deepEqual(s.args[0], [fig.frames[i].name]);
    assert.equal(s.label, fig.frames[i].name);
  });
  const play = fig.layout.updatemenus[0].buttons[0];
  assert.equal(play.method, "animate");
  assert.equal(play.args[0], null, "play runs through every frame");
  assert.ok(play.args[1].frame.duration > 0);
  for (const f of fig.frames) {
    assert.equal(f.data.length, nAnimated);
    assert.equal(f.traces.length, nAnimated);
    for (const i of f.traces) assert.ok(i >= 0 && i < fig.data.length);
  }
  assert.equal(new Set(fig.frames.map((f: Any) => f.name)).size, nFrames, "frame names distinct");
  assert.ok(figureJSON(fig).length < BUDGET);
}

describe("viz: interactive figures (frames, slider, play)", () => {
  it("stepperFigure: frame k's data replaces the animated traces; the first frame is drawn; mismatches throw", () => {
    const fig: Any = stepperFigure({
      traces: [{ type: "scatter", name: "static", x: [0, 1], y: [0, 1] }, { type: "scatter", name: "moving", x: [], y: [] }],
      animated: [1],
      frames: [{ label: "a", data: [{ x: [0], y: [5] }], title: "at a" }, { label: "b", data: [{ x: [1], y: [7] }], title: "at b" }],
      sliderLabel: "p",
    });
    assertStepper(fig, 2, 1);
    assert.deepEqual(fig.data[1].y, [5], "initial frame drawn");
    assert.deepEqual(fig.data[0].y, [0, 1], "static trace untouched");
    assert.equal(fig.layout.title.text, "at a");
    assert.equal(fig.frames[1].layout.title.text, "at b");
    assert.equal(fig.layout.sliders[0].currentvalue.prefix, "p: ");
    assert.throws(() => stepperFigure({ traces: [{ type: "scatter" }], animated: [0], frames: [{ label: "a", data: [] }], sliderLabel: "p" }), /0 traces for 1 animated/);
    assert.throws(() => stepperFigure({ traces: [{ type: "scatter" }], animated: [0], frames: [{ label: "a", data: [{}] }, { label: "a", data: [{}] }], sliderLabel: "p" }), /distinct/);
    // the page gets the frames (Plotly.newPlot with a figure object)
    assert.match(figureHTML(fig), /frames: spec\.frames/);
  });

  it("panelGrid and fieldTrace: axes per panel, image panels square and reversed; rows of z", () => {
    const l: Any = panelGrid({ rows: 1, cols: 2, titles: ["a", "b"], image: [true, false] });
    assert.deepEqual(l.yaxis.range, [1, 0], "row 0 at the top, fixed range (animations do not autorange)");
    assert.equal(l.yaxis.scaleanchor, "x");
    assert.equal(l.yaxis2.range, undefined);
    assert.equal(l.xaxis2.anchor, "y2");
    assert.deepEqual(l.annotations.map((a: Any) => a.text), ["a", "b"]);
    const t: Any = fieldTrace([1, 2, 3, 4, 5, 6], 2, 3, 1);
    assert.deepEqual(t.z, [[1, 2, 3], [4, 5, 6]]);
    assert.equal(t.xaxis, "x2");
    assert.deepEqual([t.x0, t.dx, t.y0, t.dy], [1 / 6, 1 / 3, 1 / 6, 1 / 3], "cells mapped onto [0, 1] × [0, h/w]");
    assert.throws(() => fieldTrace([1, 2], 2, 3, 0), /2 values for 2×3/);
  });

  it("tileImages lays the batch side by side with NaN gaps", () => {
    const data = Float32Array.from({ length: 2 * 2 * 2 * 1 }, (_, i) => i);
    const { values, h, w } = tileImages(data, [2, 2, 2, 1]);
    assert.equal(h, 2);
    assert.equal(w, 5);
    assert.deepEqual(Array.from(values).map((v) => (Number.isNaN(v) ? null : v)), [0, 1, null, 4, 5, 2, 3, null, 6, 7]);
  });

  it("the five figures: one frame per t / step / grid / scale / ratio, readouts in the titles, within the budget", () => {
    const f = (n: number, v = 0) => Float32Array.from({ length: n }, (_, i) => v + Math.sin(i));
    const fwd: ForwardSteps = {
      ts: [0, 500, 999], alphaBar: [1, 0.5, 0.001], snr: [1e4, 1, 0.001],
      panels: [28, 56].flatMap((r) => (["white", "mollified"] as const).map((kind) => ({ kind, resolution: r, frames: [0, 1, 2].map((k) => f(r * r, k)), varianceTheory: [0, 0.5, 1], varianceMeasured: [0, 0.49, 1.01] }))),
    };
    const fa: Any = forwardProcessFigure(fwd);
    assertStepper(fa, 3, 6);
    assert.equal(fa.frames[2].data[0].z.length, 28);
    assert.equal(fa.frames[2].data[2].z.length, 56);
    assert.deepEqual(fa.frames[1].data[5].x, [500, 500]);
    assert.match(fa.frames[1].layout.title.text, /t = 500: ᾱ_t = 0\.500, SNR = 1\.00/);

    const traj = (sampler: "ddim" | "ddpm"): Trajectory => ({ sampler, t: [999, 500, 0], s: [500, 0, -1], x: [0, 1, 2].map(() => f(2 * 64)), Tx0: [0, 1, 2].map(() => f(2 * 64)), x0: [0, 1, 2].map(() => f(2 * 64)), shape: [2, 8, 8, 1] });
    const sa: Any = samplerScrubberFigure([traj("ddim"), traj("ddpm")]);
    assertStepper(sa, 3, 6);
    assert.equal(sa.frames[0].data[0].z[0].length, 17, "two 8-px images and a gap");
    assert.match(sa.frames[2].layout.title.text, /step 3\/3: t = 0 → Tx₀/);

    const ns: NoiseStep[] = [32, 64].map((r) => ({
      resolution: r, c: r / 28, shown: r, stride: 1, fields: { xi: f(r * r), Txi: f(r * r), Tcxi: f(r * r) },
      variance: { xi: 1, Txi: 0.1, Tcxi: 0.08 }, varianceTheory: { xi: 1, Txi: 0.1, Tcxi: 0.08 }, distance: [0, 1 / r], corr: { xi: [1, 0], Txi: [1, 0.9], Tcxi: [1, 0.9] },
    }));
    const na: Any = noiseFieldsSliderFigure(ns, { sigmaC: 1 / 28 });
    assertStepper(na, 2, 7);
    assert.deepEqual(na.frames.map((x: Any) => x.name), ["32×32", "64×64"]);
    assert.deepEqual(na.frames[1].data[3].x, [64, 64, 64]);

    const ks: KernelStep[] = [1, 2].map((s) => ({ scale: s, resolution: 16 * s, taps: { extent: f((7 * s) ** 2), "per-tap": f((7 * s) ** 2) }, size: { extent: 7 * s, "per-tap": 7 * s }, error: { none: s - 1, "per-tap": 0.1 * (s - 1), extent: 0.01 * (s - 1) } }));
    const ka: Any = kernelResamplingFigure(ks, { r0: 16 });
    assertStepper(ka, 2, 3);
    assert.equal(ka.frames[1].data[0].z.length, 14);
    assert.deepEqual(ka.frames[1].data[2].y, [1, 0.1, 0.01]);

    const ss: SubsetStep[] = [1, 0.25].map((ratio) => ({ ratio, m: 16 * ratio, points: { uniform: { x: [0.5], y: [0.5] }, qmc: { x: [0.25], y: [0.75] } }, rmse: { uniform: 0.1 * (1 - ratio), qmc: 0.02 * (1 - ratio) }, rmseUniformTheory: 0.1 }));
    const ua: Any = subsetsFigure(ss, { G: 16 });
    assertStepper(ua, 2, 3);
    assert.deepEqual(ua.frames.map((x: Any) => x.name), ["1", "1/4"]);
    assert.match(ua.frames[1].layout.title.text, /m = 4 of 16/);
  });
});
