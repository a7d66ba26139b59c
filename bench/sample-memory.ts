/**
 * Peak memory of `infty sample` against batch × resolution (issue 29): each size in its own process under
 * `/usr/bin/time -v`, so its maximum resident set is its own; the results calibrate `estimateSampleBytes`
 * (src/cli/inputs.ts), whose test pins the estimate within a stated factor of these measurements.
 *
 *   npm run build && node dist/bench/sample-memory.js [--sizes 112x1,112x8,...] [--steps 2] [--out bench/sample-memory.json]
 *
 * Each size runs `infty sample --batch B --n 2B` (two batches) on the shipped model; `--child` runs the library's
 * sampler alone for one batch (a check that the command adds little of its own).
 *
 * Resumable: sizes already in the output file are kept, each new one is written as soon as it is measured.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, loadCheckpoint, loadModel, resolveStoredConfig, sampleModel } from "infty-diff-lab";

const ROOT = path.resolve(__dirname, "..", "..");
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};

interface Row { res: number; batch: number; points: number; peakRssBytes: number; wallSeconds: number; backend: string }

function main(): void {
  const sizes = opt("sizes", "8x1,56x16,112x1,112x8,224x1,224x4,256x1,256x4,28x64,448x1").split(",").map((s) => s.split("x").map(Number));
  const steps = opt("steps", "2");
  const ckpt = path.resolve(ROOT, opt("checkpoint", "data/checkpoints/fashion-mnist.ckpt"));
  const out = path.resolve(ROOT, opt("out", "bench/sample-memory.json"));
  const backend = process.env.INFTY_BACKEND ?? "wasm";
  const nf = resolveStoredConfig(loadCheckpoint(ckpt).meta.config).model.nf;
  const prev = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) : { rows: [] };
  const rows: Row[] = prev.rows;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sample-memory-"));
  for (const [res, batch] of sizes) {
    if (rows.some((r) => r.res === res && r.batch === batch && r.backend === backend)) continue;
    const t0 = Date.now();
    // the command itself, two batches (a second batch reuses the first one's grid context and heap), with --batch
    // given so the CLI's own limit, which these numbers calibrate, does not choose it
    const r = spawnSync("/usr/bin/time", ["-v", process.execPath, path.join(ROOT, "dist/src/cli/infty.js"), "sample", "--checkpoint", ckpt,
      "--resolution", String(res), "--batch", String(batch), "--n", String(2 * batch), "--steps", steps, "--out", path.join(tmp, "s"), "--force", "--quiet"],
    { encoding: "utf8", env: { ...process.env, INFTY_BACKEND: backend } });
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`sample ${res}x${batch} failed: ${r.stderr}`);
    const row: Row = { res, batch, points: batch * res * res, peakRssBytes: Number(m[1]) * 1024, wallSeconds: (Date.now() - t0) / 1000, backend };
    rows.push(row);
    console.error(`${res}² × ${batch}: peak RSS ${(row.peakRssBytes / 2 ** 20).toFixed(0)} MiB (${row.wallSeconds.toFixed(1)} s)`);
    fs.writeFileSync(out, JSON.stringify({
      what: "peak RSS of `infty sample --batch B --n 2B --steps " + steps + "` (own process, /usr/bin/time -v) by resolution and batch",
      checkpoint: path.relative(ROOT, ckpt), nf, date: new Date().toISOString(), cpus: os.cpus().length, loadAvg: os.loadavg(), rows,
    }, null, 1) + "\n");
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** One measured size: load, sample `batch` images at res² for `steps` DDIM steps, exit. */
async function child(ckpt: string, res: number, batch: number, steps: number): Promise<void> {
  await initBackend(process.env.INFTY_BACKEND, { quiet: true });
  const model = loadModel(ckpt);
  const out = await sampleModel(model.net, model.cfg, { resolution: [res, res], n: batch, batchSize: batch, steps, seed: 0, progress: false });
  if (!out.x0.images.every(Number.isFinite)) throw new Error("non-finite samples");
  model.net.dispose();
}

if (argv[0] === "--child") child(argv[1], Number(argv[2]), Number(argv[3]), Number(argv[4])).catch((e) => { console.error(e); process.exit(1); });
else main();
