import { strict as assert } from "assert";
import { logSpan, trailingMeanLoss } from "infty-diff-lab";

describe("loss trend (trailing mean of a training log)", () => {
  it("equals a direct weighted mean over each window", () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ step: 25 * (i + 1), loss: 1 / (i + 1) + 0.1 * Math.sin(i), steps: 25 }));
    const got = trailingMeanLoss(rows, 200);
    rows.forEach((r, i) => {
      const inWin = rows.filter((q) => q.step > r.step - 200 && q.step <= r.step);
      const want = inWin.reduce((a, q) => a + q.loss, 0) / inWin.length;
      assert.ok(Math.abs(got[i] - want) < 1e-12, `row ${i}: ${got[i]} vs ${want}`);
    });
  });

  it("does not carry the first loss: on a falling log it is never above the window's own points", () => {
    // the old 0.98-EMA seeded with the first row sat above every later point for thousands of steps
    const rows = Array.from({ length: 400 }, (_, i) => ({ step: 25 * (i + 1), loss: 0.02 + 0.06 * Math.exp(-i / 20), steps: 25 }));
    const m = trailingMeanLoss(rows, 1000);
    for (let i = 40; i < rows.length; i++) assert.ok(m[i] <= rows[i - 39].loss + 1e-15 && m[i] >= rows[i].loss - 1e-15);
  });

  it("weights rows by their step counts and rejects unordered rows", () => {
    assert.deepEqual(trailingMeanLoss([{ step: 10, loss: 1, steps: 10 }, { step: 40, loss: 4, steps: 30 }], 100), [1, (10 + 120) / 40]);
    assert.throws(() => trailingMeanLoss([{ step: 2, loss: 1 }, { step: 1, loss: 1 }], 10), /out of order/);
  });

  it("logSpan: rows, last step and hours are different things", () => {
    assert.deepEqual(logSpan([{ step: 25, loss: 1, sec: 1800 }, { step: 30000, loss: 1, sec: 1800 }]), { rows: 2, steps: 30000, hours: 1 });
  });
});
