/**
 * One DDIM step of the shipped model at 28², 56² and 112² (batch 1: a full-grid network call and the update, read
 * back) in the browser page on wasm against the same step in Node on wasm, on this machine, interleaved round by round
 * so that load drift hits both alike. The same function times both (web/src/lab.ts `timeDdimStep`); the page runs
 * tfjs-wasm's SIMD build on one thread (no cross-origin isolation: environment.md), so Node runs it on one thread too
 * (INFTY_WASM_THREADS=1). Target: page ≤ 1.5 × Node at every resolution (medians of wall time). Not a test; writes
 * bench/web-ddim-step.json and exits 1 when a ratio misses the target.
 *
 *   npm run bench:web -- [--rounds 4] [--out bench/web-ddim-step.json]
 */
process.env.INFTY_WASM_THREADS = "1";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, loadModel } from "infty-diff-lab";
import { timeDdimStep } from "../web/src/lab";
import { ROOT, startLab } from "../tests/helpers/web-page";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const TARGET = 1.5;
/** timed steps per resolution per round (after one warm-up step each time) */
const REPS: Record<number, number> = { 28: 6, 56: 4, 112: 2 };

async function main(): Promise<void> {
  const rounds = Number(arg("rounds", "4"));
  const out = path.resolve(arg("out", path.join(ROOT, "bench", "web-ddim-step.json")));
  const backend = await initBackend("wasm", { quiet: true });
  const model = loadModel(path.join(ROOT, "data", "checkpoints", "fashion-mnist.ckpt"));
  const lab = await startLab();
  const page = await lab.open("backend=wasm");
  const state = await page.evaluate(() => {
    const s = (globalThis as unknown as { __infty: { error: string | null; backendLine: string } }).__infty;
    return { error: s.error, backendLine: s.backendLine };
  });
  if (state.error) throw new Error(`the page did not start: ${state.error}`);
  const browserVersion = lab.browser.version();
  const times: Record<number, { page: number[]; node: number[] }> = {};
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const r of Object.keys(REPS).map(Number)) {
        const t = (times[r] ??= { page: [], node: [] });
        t.page.push(...await page.evaluate(([res, reps]) =>
          (globalThis as unknown as { __infty: { timeDdimStep(r: number, k: number): Promise<number[]> } }).__infty.timeDdimStep(res, reps), [r, REPS[r]] as [number, number]));
        t.node.push(...await timeDdimStep(model, r, REPS[r]));
        console.log(`round ${round}/${rounds} ${r}²: page ${median(t.page).toFixed(1)} ms, node ${median(t.node).toFixed(1)} ms (medians so far)`);
      }
    }
  } finally {
    await lab.close();
    model.net.dispose();
  }
  const rows = Object.entries(times).map(([r, t]) => {
    const ratio = median(t.page) / median(t.node);
    // minima too: on a shared machine the fastest step is the least disturbed one
    const pageMin = Math.min(...t.page), nodeMin = Math.min(...t.node);
    return { resolution: Number(r), pageMs: median(t.page), nodeMs: median(t.node), ratio, pass: ratio <= TARGET, pageMinMs: pageMin, nodeMinMs: nodeMin, ratioOfMinima: pageMin / nodeMin, pageAll: t.page, nodeAll: t.node };
  });
  const result = {
    what: "one DDIM step of the shipped model (batch 1, full grid, result read back): browser page (wasm) vs Node (wasm), medians of wall time",
    command: "npm run bench:web",
    target: `page ≤ ${TARGET} × node at every resolution`,
    pass: rows.every((x) => x.pass),
    rows,
    page: { backend: state.backendLine, browser: `chromium ${browserVersion} (headless)`, wasmThreads: 1 },
    node: { backend: backend.name, node: process.version, wasmThreads: 1 },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
    rounds, reps: REPS,
    date: new Date().toISOString(),
  };
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  for (const x of rows) {
    console.log(`${x.resolution}²: page ${x.pageMs.toFixed(1)} ms, node ${x.nodeMs.toFixed(1)} ms (medians), ratio ${x.ratio.toFixed(2)} ${x.pass ? "ok" : `> ${TARGET}`}; ` +
      `minima ${x.pageMinMs.toFixed(1)} / ${x.nodeMinMs.toFixed(1)} ms, ratio ${x.ratioOfMinima.toFixed(2)}`);
  }
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  if (!result.pass) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
