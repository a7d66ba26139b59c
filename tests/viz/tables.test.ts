import { strict as assert } from "assert";
import { formatNumber, tableHTML } from "infty-diff-lab/viz";

describe("viz/tables number format", () => {
  it("never rounds away integer digits (the quality-curve table's steps and FIDs)", () => {
    // digits: 1 once showed 2,500 as 3000 and FID 112.5 as 100
    assert.equal(formatNumber(2500, { digits: 1 }), "2,500");
    assert.equal(formatNumber(32500, { digits: 1 }), "32,500");
    assert.equal(formatNumber(112.5, { digits: 1 }), "113");
    assert.equal(formatNumber(112.5, { digits: 4 }), "112.5");
    assert.equal(formatNumber(47.50386, { digits: 3 }), "47.5");
  });

  it("fixed decimals with thousands separators", () => {
    assert.equal(formatNumber(112.5, { decimals: 1 }), "112.5");
    assert.equal(formatNumber(1234567.891, { decimals: 2 }), "1,234,567.89");
    assert.equal(formatNumber(-20430.4, { decimals: 0 }), "-20,430");
    assert.equal(formatNumber(0.0155, { decimals: 4 }), "0.0155");
  });

  it("small numbers keep their significant digits; non-finite is a dash", () => {
    assert.equal(formatNumber(1 / 3, { digits: 3 }), "0.333");
    assert.equal(formatNumber(1.234567e-7, { digits: 3 }), "1.23e-7");
    assert.equal(formatNumber(Number.NaN), "–");
    assert.equal(formatNumber(7), "7");
    assert.equal(formatNumber(-1234.5678), "-1,235");
  });

  it("tableHTML applies per-column decimals and separators", () => {
    const html = tableHTML([{ step: 2500, FID: 112.54, KID: 38.071 }, { step: 32500, FID: 47.5, KID: 21.9 }], { decimals: { step: 0, FID: 1, KID: 2 } });
    for (const cell of [">2,500<", ">32,500<", ">112.5<", ">47.5<", ">38.07<", ">21.90<"]) assert.ok(html.includes(cell), `${cell} in ${html}`);
    assert.ok(!html.includes("3000") && !html.includes("20000"));
  });
});
