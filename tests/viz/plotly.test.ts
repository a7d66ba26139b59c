import { strict as assert } from "assert";
import { groupedBars, linePlot, heatmap, sliderFigure, plain, crossResolutionFigure, qualityCurveFigure, stepsCurveFigure } from "infty-diff-lab/viz";

describe("viz: plotly builders", () => {
  it("grouped bars: one bar trace per series, error bars, titles, group mode", () => {
    const fig = groupedBars({
      groups: ["1/4", "1/8"],
      series: [{ name: "ours", values: [10.5, 12], errors: [0.5, 0.7] }, { name: "paper", values: Float32Array.from([9, 11]) }],
      title: "Table 2", xTitle: "ratio", yTitle: "FID",
    });
    assert.equal(fig.data.length, 2);
    assert.deepEqual(fig.data.map((t) => [t.type, t.name]), [["bar", "ours"], ["bar", "paper"]]);
    assert.deepEqual(fig.data[0].x, ["1/4", "1/8"]);
    assert.deepEqual(fig.data[0].error_y, { type: "data", array: [0.5, 0.7], visible: true });
    assert.equal(fig.data[1].error_y, undefined);
    assert.ok(Array.isArray(fig.data[1].y), "typed arrays become plain arrays");
    assert.equal(fig.layout.barmode, "group");
    assert.deepEqual(fig.layout.title, { text: "Table 2" });
    assert.deepEqual((fig.layout.yaxis as any).title, { text: "FID" });
    assert.equal((fig.layout.yaxis as any).type, "linear");
    assert.equal((groupedBars({ groups: ["a"], series: [{ name: "s", values: [1] }], logY: true }).layout.yaxis as any).type, "log");
    assert.throws(() => groupedBars({ groups: ["a"], series: [{ name: "s", values: [1, 2] }] }), /2 values for 1 groups/);
  });

  it("Fig. 2 bars: variants as groups, one series per multiplier, the interval as asymmetric error bars", () => {
    const rows = [
      { dataset: "d", variant: "a", multiplier: 4, rmsMean: 0.3, rmsInterval: [0.25, 0.32] as [number, number] },
      { dataset: "d", variant: "a", multiplier: 2, rmsMean: 0.2, rmsInterval: [0.18, 0.23] as [number, number] },
      { dataset: "d", variant: "b", multiplier: 2, rmsMean: 0.4, rmsInterval: null },
      { dataset: "other", variant: "c", multiplier: 2, rmsMean: 9, rmsInterval: null },
    ];
    const fig = crossResolutionFigure(rows, "d");
    assert.deepEqual(fig.data.map((t) => t.name), ["2·r₀ → r₀", "4·r₀ → r₀"]);
    assert.deepEqual(fig.data[0].x, ["a", "b"]);
    assert.deepEqual(fig.data[0].y, [0.2, 0.4]);
    assert.deepEqual(fig.data[1].y, [0.3, null], "a variant without that multiplier is a gap");
    const e = fig.data[0].error_y as { array: number[]; arrayminus: number[]; symmetric: boolean };
    assert.equal(e.symmetric, false);
    assert.ok(Math.abs(e.array[0] - 0.03) < 1e-12 && Math.abs(e.arrayminus[0] - 0.02) < 1e-12);
    assert.deepEqual([e.array[1], e.arrayminus[1]], [null, null], "no interval, no bar");
    assert.throws(() => crossResolutionFigure(rows, "none"), /no rows for dataset 'none'/);
  });

  it("line plot: lines+markers per series, log axes on request, NaN → gap", () => {
    const fig = linePlot({
      series: [{ name: "64²", x: [10, 100], y: [30, 20] }, { name: "128²", x: [10, 100], y: [NaN, 25] }],
      title: "Fig. 7", xTitle: "steps", yTitle: "FID", logX: true,
    });
    assert.deepEqual(fig.data.map((t) => t.mode), ["lines+markers", "lines+markers"]);
    assert.deepEqual(fig.data[1].y, [null, 25]);
    assert.equal((fig.layout.xaxis as any).type, "log");
    assert.equal((fig.layout.yaxis as any).type, "linear");
    assert.deepEqual((fig.layout.xaxis as any).title, { text: "steps" });
  });

  it("heatmap: rows of z in image order, reversed y, fixed range", () => {
    const fig = heatmap({ values: [1, 2, 3, 4, 5, 6], h: 2, w: 3, zmin: -1, zmax: 1, title: "f" });
    assert.deepEqual(fig.data[0].z, [[1, 2, 3], [4, 5, 6]]);
    assert.equal(fig.data[0].zmin, -1);
    assert.equal((fig.layout.yaxis as any).autorange, "reversed");
    assert.throws(() => heatmap({ values: [1, 2, 3], h: 2, w: 2 }), /3 values for 2×2/);
  });

  it("slider figure: each step makes exactly its own traces visible", () => {
    const fig = sliderFigure({
      sliderLabel: "t",
      steps: [
        { label: "0", traces: [{ type: "scatter", y: [1] }, { type: "scatter", y: [2] }] },
        { label: "500", traces: [{ type: "scatter", y: [3] }] },
      ],
      initial: 1,
    });
    assert.deepEqual(fig.data.map((t) => t.visible), [false, false, true]);
    const slider = (fig.layout.sliders as any[])[0];
    assert.equal(slider.active, 1);
    assert.deepEqual(slider.steps.map((s: any) => s.label), ["0", "500"]);
    assert.deepEqual(slider.steps[0].args[0].visible, [true, true, false]);
    assert.deepEqual(slider.steps[1].args[0].visible, [false, false, true]);
  });

  it("plain() copies typed arrays and maps non-finite values to null", () => {
    assert.deepEqual(plain(Float64Array.from([1, Infinity, NaN, -2])), [1, null, null, -2]);
  });

  it("quality curve: the model's FID by step on a log axis, the two reference levels dashed", () => {
    const fig = qualityCurveFigure([
      { step: 2500, fid: 112, holdoutFid: 4.9, blurredTestFid: 194 },
      { step: 5000, fid: 80, holdoutFid: 5.1, blurredTestFid: 193 },
    ]);
    assert.deepEqual(fig.data.map((t) => t.x), [[2500, 5000], [2500, 5000], [2500, 5000]]);
    assert.deepEqual(fig.data[0].y, [112, 80]);
    assert.deepEqual(fig.data[1].y, [194, 193]);
    assert.deepEqual(fig.data[2].y, [4.9, 5.1]);
    assert.deepEqual(fig.data.slice(1).map((t) => (t.line as { dash: string }).dash), ["dash", "dash"]);
    assert.equal((fig.layout.yaxis as { type: string }).type, "log");
    assert.equal(fig.data[0].error_y, undefined, "no intervals, no error bars");
  });

  it("quality curve: FID's bootstrap interval as an asymmetric error bar where a point has one", () => {
    const fig = qualityCurveFigure([
      { step: 2500, fid: 112, holdoutFid: 4.9, blurredTestFid: 194 },
      { step: 20000, fid: 48, fidInterval95: [46, 51], holdoutFid: 4.9, blurredTestFid: 194 },
    ]);
    const e = fig.data[0].error_y as { array: (number | null)[]; arrayminus: (number | null)[]; symmetric: boolean };
    assert.deepEqual([e.array, e.arrayminus, e.symmetric], [[null, 3], [null, 2], false]);
  });

  it("steps curve: one line per resolution and variant, log x, colour by resolution, dash by variant, interval bars", () => {
    const pt = (steps: number, fid: number): { steps: number; fid: number; fidInterval95: [number, number] } =>
      ({ steps, fid, fidInterval95: [fid - 2, fid + 3] });
    const fig = stepsCurveFigure([
      { label: "28×28, clipped", resolution: 28, points: [pt(10, 130), pt(100, 50)] },
      { label: "28×28, not clipped", resolution: 28, points: [pt(10, 120), pt(100, 60)] },
      { label: "56×56, clipped", resolution: 56, points: [pt(10, 140)] },
    ]);
    assert.deepEqual(fig.data.map((t) => t.x), [[10, 100], [10, 100], [10]]);
    assert.deepEqual(fig.data[1].y, [120, 60]);
    const line = (i: number) => fig.data[i].line as { color: string; dash: string };
    assert.equal(line(0).color, line(1).color);
    assert.notEqual(line(0).color, line(2).color);
    assert.deepEqual([line(0).dash, line(1).dash, line(2).dash], ["solid", "dash", "solid"]);
    const e = fig.data[0].error_y as { array: number[]; arrayminus: number[] };
    assert.deepEqual([e.array, e.arrayminus], [[3, 3], [2, 2]]);
    assert.equal((fig.layout.xaxis as { type: string }).type, "log");
  });
});
