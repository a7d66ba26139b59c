import { strict as assert } from "assert";
import {
  trainingCurvesSpec, vegaLiteToSVG, compareRows, comparisonTableHTML, tableHTML, bundleHTML, bundleFiles, figureHTML,
  figureJSON, linePlot, isPlotly, isVegaLite,
} from "infty-diff-lab/viz";

describe("viz: vega-lite, tables and offline HTML", () => {
  const points = [0, 1, 2].flatMap((s) => [{ step: s * 10, value: 1 / (s + 1), series: "train" }, { step: s * 10, value: 1.2 / (s + 1), series: "val" }]);

  it("training-curve spec: line mark, step × value, colour by series, log y on request", () => {
    const spec = trainingCurvesSpec(points, { title: "loss", logY: true });
    assert.match(spec.$schema, /vega-lite\/v6/);
    assert.equal((spec.mark as any).type, "line");
    const enc = spec.encoding as any;
    assert.deepEqual([enc.x.field, enc.y.field, enc.color.field], ["step", "value", "series"]);
    assert.equal(enc.y.scale.type, "log");
    assert.equal((spec.data as any).values.length, 6);
    assert.ok(isVegaLite(spec) && !isPlotly(spec));
  });

  it("the spec compiles and renders to SVG in Node with one line path per series", async function () {
    this.timeout(30000);
    const svg = await vegaLiteToSVG(trainingCurvesSpec(points, { title: "loss curves" }));
    assert.match(svg, /^<svg/);
    assert.match(svg, /loss curves/);
    // one line mark per series (colour facets the line), each drawn as a non-empty path
    const lines = svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>\s*<path[^>]* d="M[^"]+"/g) ?? [];
    assert.equal(lines.length, 2, "two series lines");
    assert.match(svg, />train</);
    assert.match(svg, />val</);
  });

  it("compareRows joins ours and the paper's by key with deltas and gaps", () => {
    const rows = compareRows(
      [{ ratio: "1/4", FID: 12.5 }, { ratio: "1/2", FID: 10 }],
      [{ ratio: "1/4", FID: 11 }, { ratio: "1/8", FID: 15 }],
      "ratio", ["FID"],
    );
    const byKey = Object.fromEntries(rows.map((r) => [r.ratio, r]));
    assert.deepEqual(byKey["1/4"], { ratio: "1/4", "FID (ours)": 12.5, "FID (paper)": 11, "Δ FID": 1.5 });
    assert.deepEqual(byKey["1/2"], { ratio: "1/2", "FID (ours)": 10, "FID (paper)": null, "Δ FID": null });
    assert.equal(byKey["1/8"]["FID (paper)"], 15);
    const html = comparisonTableHTML([{ ratio: "1/4", FID: 12.5 }], [{ ratio: "1/4", FID: 11 }], "ratio", ["FID"], { title: "Table 2" });
    assert.match(html, /<table>/);
    assert.match(html, /<th[^>]*>Δ FID<\/th>/);
    assert.match(html, />1\.5</);
    assert.match(tableHTML([{ a: 1 / 3 }], { digits: 3 }), />0\.333</);
  });

  it("the bundle inlines plotly, vega, vega-lite, vega-embed and hides define while loading", () => {
    const html = bundleHTML();
    assert.deepEqual(bundleFiles().map((f) => f.name), ["plotly.js-dist-min", "vega", "vega-lite", "vega-embed"]);
    for (const name of ["plotly.js-dist-min", "vega", "vega-lite", "vega-embed"]) assert.ok(html.includes(`data-infty-bundle="${name}"`), name);
    assert.ok(html.indexOf("window.define = undefined") < html.indexOf('data-infty-bundle="plotly'));
    assert.ok(html.lastIndexOf("window.define = window.__inftyDefine") > html.indexOf('data-infty-bundle="vega-embed"'));
    assert.ok(!/<script[^>]+src=/.test(html), "no external script");
    assert.ok(html.length > 3e6);
  });

  it("figure HTML: a tagged div and a script carrying the compact, script-safe spec", () => {
    const fig = linePlot({ series: [{ name: "</script>", x: [1, 2], y: [0.123456789, 2] }], title: "t" });
    const html = figureHTML(fig);
    assert.match(html, /<div id="infty-fig-[0-9a-f]{12}" class="infty-fig" data-kind="plotly"/);
    assert.ok(!html.includes("</script>\"") && html.split("</script>").length === 2, "only the closing tag");
    assert.ok(html.includes("0.1235"));
    assert.match(figureHTML(trainingCurvesSpec(points)), /data-kind="vega"/);
    assert.equal(figureJSON({ a: 1 / 3, b: 7 }), '{"a":0.3333,"b":7}');
    assert.throws(() => figureHTML({} as any), /expected a plotly figure/);
  });
});
