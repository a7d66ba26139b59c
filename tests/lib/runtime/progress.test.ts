import { strict as assert } from "assert";
import * as path from "path";
import { Progress, progressHTML, inNotebook, note, formatDuration } from "infty-diff-lab";

/** A writable that records what it is given (not a TTY). */
function recorder() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream };
}

/**
 * Pretends to be a tslab kernel: the kernel's Jupyter module in the require cache, and a fake `tslab` whose
 * newDisplay() records every rewrite. Returns the displays and an undo.
 */
function fakeKernel() {
  const displays: string[][] = [];
  const jupyterKey = path.join(path.dirname(require.resolve("tslab")), "jupyter.js");
  const tslabKey = require.resolve("tslab");
  const saved = { jupyter: require.cache[jupyterKey], tslab: require.cache[tslabKey] };
  const fake = (exports: unknown) => ({ id: "fake", filename: "fake", loaded: true, exports, children: [], paths: [] }) as unknown as NodeModule;
  require.cache[jupyterKey] = fake({});
  require.cache[tslabKey] = fake({ newDisplay: () => { const d: string[] = []; displays.push(d); return { html: (s: string) => d.push(s), text: (s: string) => d.push(s) }; } });
  return {
    displays,
    undo: () => {
      if (saved.jupyter) require.cache[jupyterKey] = saved.jupyter; else delete require.cache[jupyterKey];
      if (saved.tslab) require.cache[tslabKey] = saved.tslab; else delete require.cache[tslabKey];
    },
  };
}

describe("progress and notes: terminal vs notebook", () => {
  it("outside a kernel: one plain line per tick on the given stream, with count, rate and ETA", () => {
    assert.equal(inNotebook(), false);
    const r = recorder();
    const bar = new Progress({ label: "work", total: 3, everyMs: 0, stream: r.stream });
    bar.tick();
    bar.tick(2, { loss: 0.5 });
    bar.finish();
    assert.equal(r.lines.length, 3);
    assert.match(r.lines[1], /^work █+░* 3\/3 .* ETA \d+s  loss 0\.5000\n$/);
    assert.equal(formatDuration(3725), "1h02m");
  });

  it("inside a kernel: the bar is ONE display rewritten in place (HTML, escaped), notes go to stdout", () => {
    const k = fakeKernel();
    const out: string[] = [];
    const write = process.stdout.write;
    try {
      assert.equal(inNotebook(), true);
      const bar = new Progress({ label: "a<b>", total: 4, everyMs: 0 });
      for (let i = 0; i < 4; i++) bar.tick();
      bar.finish();
      assert.equal(k.displays.length, 1, "one display for the whole bar");
      assert.equal(k.displays[0].length, 5, "rewritten on every tick and at the end");
      assert.match(k.displays[0][4], /^<pre class="infty-progress"[^>]*>a&lt;b&gt; █{20} 4\/4 /);
      process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
      note("[infty] backend: test");
    } finally {
      process.stdout.write = write;
      k.undo();
    }
    assert.deepEqual(out, ["[infty] backend: test\n"]);
    assert.equal(inNotebook(), false);
    assert.equal(progressHTML("x & y"), '<pre class="infty-progress" style="margin:0;color:#555;font-size:12px">x &amp; y</pre>');
  });
});
