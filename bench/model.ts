/**
 * Model benchmark (not a test), issue 9: training-step and sampling throughput of the default Fashion-MNIST config on
 * the backend picked, against the authors' PyTorch reference on a machine of this kind.
 *
 *   npm run bench                                   # wasm (or INFTY_BACKEND), writes bench/model.json
 *   npm run bench -- --reps 5 --workers 2 --with-224
 *   npm run bench -- --backend webgpu               # writes bench/model.webgpu-<gpu|swiftshader…>.json, adapter inside
 *   (on a software adapter: --train-batch 2 --ddim-batch 1 --sizes 28 --sample-steps 3 --sample-batch 1 --reps 1,
 *   since SwiftShader emulates a GPU at ≈ 0.4 GFLOP/s: those rows only prove it runs)
 *
 * Rows: training step (forward + backward + Adam + EMA) at batch 32 for coordinate ratios 1, 1/2, 1/4, 1/8, with the
 * speedup over ratio 1, single-thread and with `--workers` gradient workers (default 2); one DDIM step (a full-grid
 * forward of the network, batch 16) at 28, 56, 112; with --with-224 (minutes), large grids each in its own process
 * (bench/large-grid.ts, so the peak RSS is the row's own): 224² at batch 16 and 448² at batch 1; a 100-step DDIM
 * sample at 28×28, batch 16. `trainPeakRssMb`: the process's peak RSS after the single-thread training rows (batch 32). Medians of `reps` after
 * one warm-up, wall clock and this process's CPU time (the machine is shared: the load average is recorded before and
 * after each row). Peak RSS is the process's maximum resident set so far (workers included); `tensorsAfter` counts
 * tensors alive after each row minus before it (0 = no leak).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  initBackend, tf, resolveConfig, Trainer, loadFashionMnist, GridDenoiser, sampleModel, Rng, LabConfig, wasmThreads,
} from "infty-diff-lab";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const num = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const str = (name: string, dflt: string | undefined) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};

/** The authors' PyTorch "torch_dense" code, 2 threads, fp32, same config (issue 9), in ms. */
const REFERENCE = {
  trainStepMs: { "1": 780, "0.5": 760, "0.25": 680, "0.125": 680 } as Record<string, number>,
  ddimStepMs: { "28": 140, "56": 420, "112": 1900 } as Record<string, number>,
  sample100x28Ms: 14000,
};

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));

interface Row {
  what: string;
  wallMs: number;
  cpuMs: number;
  reps: number;
  allWallMs: number[];
  referenceMs?: number;
  /** reference ÷ ours (> 1: faster than the reference) */
  vsReference?: number;
  speedupOverRatio1?: number;
  peakRssMb: number;
  tensorsAfter: number;
  loadBefore: number[];
  loadAfter: number[];
  note?: string;
}

async function timeReps(reps: number, warm: () => Promise<void> | void, f: () => Promise<void> | void) {
  await warm();
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const w0 = performance.now(), c0 = cpuMs();
    await f();
    wall.push(performance.now() - w0);
    cpu.push(cpuMs() - c0);
  }
  return { wall, cpu };
}

async function main(): Promise<void> {
  const reps = num("reps", 3);
  const backend = await initBackend(str("backend", undefined) ?? process.env.INFTY_BACKEND ?? "wasm");
  // gradient workers are wasm threads; on a GPU backend the device is the parallelism
  const workers = backend.name === "wasm" ? num("workers", 2) : 1;
  // full sizes by default; smaller ones for a software adapter (recorded in each row's name)
  const trainBatch = num("train-batch", 32), ddimBatch = num("ddim-batch", 16), sampleSteps = num("sample-steps", 100);
  const sampleBatch = num("sample-batch", 16);
  const ddimSizes = (str("sizes", "28,56,112") as string).split(",").map(Number);
  const rows: Row[] = [];
  // written after every row (a killed run keeps what it measured: `complete` says whether every row ran)
  const writeJson = (complete: boolean) => {
    const cpus = os.cpus();
    const out = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpus[0]?.model ?? "unknown", cores: cpus.length, memGb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        platform: `${os.platform()} ${os.release()}`, node: process.version, loadAvgEnd: load(),
      },
      backend: backend.name, adapter: backend.adapter ?? null, tfjs: tf.version.tfjs,
      sizes: { trainBatch, ddimBatch, ddimSizes, sampleSteps, sampleBatch }, config: "resolveConfig({}) = configs/fashion-mnist.json model (1.80 M parameters)",
      reps, workers, reference: REFERENCE, complete, trainPeakRssMb, wasmThreads: wasmThreads(), rows,
      note: "shared 2-core machine: wall times depend on the load average recorded with each row; cpu ms is this process's CPU time (all threads)" +
        (str("note", undefined) ? `. ${str("note", undefined)}` : ""),
    };
    // one file per backend (and adapter kind) so the wasm baseline stays
    const suffix = backend.name === "wasm" ? "" : backend.adapter
      ? `.webgpu-${backend.adapter.software ? (backend.adapter.architecture || "software") : "gpu"}` : `.${backend.name}`;
    const file = str("out", undefined) ?? path.join(__dirname, "..", "..", "bench", `model${suffix}.json`);
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
    if (complete) console.error(`wrote ${path.relative(process.cwd(), file)}`);
  };
  const data = loadFashionMnist({ split: "train-fit", limit: 1024 });
  const record = (what: string, t: { wall: number[]; cpu: number[] }, n0: number, l0: number[], extra: Partial<Row> = {}) => {
    const row: Row = {
      what, wallMs: Math.round(median(t.wall)), cpuMs: Math.round(median(t.cpu)), reps: t.wall.length,
      allWallMs: t.wall.map(Math.round), peakRssMb: Math.round(peakRssMb()), tensorsAfter: tf.memory().numTensors - n0,
      loadBefore: l0, loadAfter: load(), ...extra,
    };
    if (row.referenceMs) row.vsReference = Number((row.referenceMs / row.wallMs).toFixed(2));
    rows.push(row);
    console.error(`${what}: ${row.wallMs} ms wall, ${row.cpuMs} ms cpu (load ${row.loadAfter[0]})`);
    writeJson(false);
    return row;
  };

  // ---- training steps ------------------------------------------------------------------------------------------
  const trainMs: Record<string, number> = {};
  let trainPeakRssMb = NaN;
  for (const w of workers > 1 ? [1, workers] : [1]) {
    if (w > 1) trainPeakRssMb = Math.round(peakRssMb()); // after the single-thread rows (workers add their own heaps)
    for (const ratio of [1, 0.5, 0.25, 0.125]) {
      const cfg: LabConfig = resolveConfig({ train: { coordRatio: ratio, batchSize: trainBatch } });
      const n0 = tf.memory().numTensors, l0 = load();
      const tr = new Trainer(cfg, data, { workers: w });
      let t;
      try {
        t = await timeReps(reps, () => tr.trainStepAsync().then(() => undefined), () => tr.trainStepAsync().then(() => undefined));
      } finally {
        tr.dispose();
      }
      const key = `${w}:${ratio}`;
      trainMs[key] = median(t.wall);
      const r1 = trainMs[`${w}:1`];
      record(`train step, batch ${trainBatch}, ratio ${ratio}${w > 1 ? `, ${w} workers` : ""}`, t, n0, l0, {
        referenceMs: trainBatch === 32 ? REFERENCE.trainStepMs[String(ratio)] : undefined,
        speedupOverRatio1: Number((r1 / median(t.wall)).toFixed(2)),
        ...(w > 1 ? { note: `throughput ×${(trainMs[`1:${ratio}`] / median(t.wall)).toFixed(2)} over 1 worker` } : {}),
      });
    }
  }

  if (Number.isNaN(trainPeakRssMb)) trainPeakRssMb = Math.round(peakRssMb());
  // ---- one DDIM step (full-grid forward), batch 16 -------------------------------------------------------------
  const cfg = resolveConfig({});
  const tr = new Trainer(cfg, data); // its (untrained) net: timing does not depend on the weights
  const den = new GridDenoiser(tr.net);
  try {
    const sizes: Array<[number, number]> = ddimSizes.map((r) => [r, ddimBatch]);
    for (const [r, B] of sizes) {
      const n0 = tf.memory().numTensors, l0 = load();
      // at 112×112 one call on 16 images aborts inside tfjs-wasm (a broadcast Multiply on [16,12544,32] after the
      // heap has grown past ~4 GB with the 29×29 kernel map): the same 16 images go through in chunks of 4
      const chunk = r >= 112 && backend.name === "wasm" ? 4 : B;
      const xts = Array.from({ length: B / chunk }, (_, i) => new Rng(r + i).normalTensor<tf.Rank.R4>([chunk, r, r, 1]));
      const t = tf.fill([chunk], 500, "int32") as tf.Tensor1D;
      const step = async () => {
        for (const xt of xts) {
          const y = den.denoise(xt, t);
          await y.data(); // the device has finished (webgpu has no synchronous read)
          y.dispose();
        }
      };
      const tm = await timeReps(r >= 112 ? Math.min(reps, 2) : reps, step, step);
      tf.dispose([...xts, t]);
      den.dispose(); // drop the cached context (kernel map) before the next size
      record(`DDIM step (full-grid forward), batch ${B}${chunk < B ? ` (in chunks of ${chunk})` : ""}, ${r}×${r}`, tm, n0, l0,
        { referenceMs: B === 16 ? REFERENCE.ddimStepMs[String(r)] : undefined });
    }
    for (const r of [28, 56, 112].filter((x) => !ddimSizes.includes(x))) {
      rows.push({
        what: `DDIM step, batch ${ddimBatch}, ${r}×${r}`, wallMs: NaN, cpuMs: NaN, reps: 0, allWallMs: [], peakRssMb: Math.round(peakRssMb()),
        tensorsAfter: 0, loadBefore: load(), loadAfter: load(), note: "skipped (--sizes)",
      });
    }
    for (const [r, B] of [[224, 16], [448, 1]]) {
      const l0 = load();
      if (!flag("with-224")) {
        rows.push({
          what: `DDIM step, batch ${B}, ${r}×${r}`, wallMs: NaN, cpuMs: NaN, reps: 0, allWallMs: [], peakRssMb: NaN,
          tensorsAfter: 0, loadBefore: l0, loadAfter: load(), note: "skipped (minutes): run with --with-224",
        });
        continue;
      }
      // its own process: the peak RSS reported is this row's alone
      const child = spawnSync(process.execPath, [path.join(__dirname, "large-grid.js"), "--res", String(r), "--batch", String(B)],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      if (child.status !== 0) throw new Error(`large-grid ${r}² batch ${B} failed (exit ${child.status})`);
      const g = JSON.parse(child.stdout.trim().split("\n").pop() as string) as { stepMs: number | null; firstCallMs: number; peakRssMb: number; kernel: number; finite: boolean };
      rows.push({
        what: `DDIM step (full-grid forward), batch ${B}, ${r}×${r}`, wallMs: g.stepMs ?? NaN, cpuMs: NaN, reps: 1, allWallMs: [g.stepMs ?? NaN],
        peakRssMb: g.peakRssMb, tensorsAfter: 0, loadBefore: l0, loadAfter: load(),
        note: `own process; kernel ${g.kernel}×${g.kernel}; first call (with the grid's context) ${g.firstCallMs} ms; outputs finite: ${g.finite}`,
      });
      console.error(`${r}² batch ${B}: ${g.stepMs} ms, peak RSS ${g.peakRssMb} MB`);
    }
    // ---- a 100-step DDIM sample at 28×28, batch 16 ------------------------------------------------------------
    for (const w of workers > 1 ? [1, workers] : [1]) {
      const n0 = tf.memory().numTensors, l0 = load();
      const opts = { resolution: 28, n: sampleBatch, batchSize: sampleBatch, steps: sampleSteps, progress: false, seed: 1, workers: w };
      const w0 = performance.now(), c0 = cpuMs();
      await sampleModel(tr.net, cfg, opts);
      record(`${sampleSteps}-step DDIM sample, 28×28, batch ${sampleBatch}${w > 1 ? `, ${w} workers` : ""}`, { wall: [performance.now() - w0], cpu: [cpuMs() - c0] }, n0, l0,
        { referenceMs: sampleSteps === 100 && sampleBatch === 16 ? REFERENCE.sample100x28Ms : undefined });
    }
  } finally {
    den.dispose();
    tr.dispose();
  }

  // ---- table and JSON --------------------------------------------------------------------------------------------
  const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "—" : String(x));
  console.log("\n| benchmark | wall ms (median) | cpu ms | reference ms | reference ÷ ours | speedup vs ratio 1 | peak RSS MB | tensors after |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.what}${r.note ? ` (${r.note})` : ""} | ${fmt(r.wallMs)} | ${fmt(r.cpuMs)} | ${fmt(r.referenceMs)} | ${fmt(r.vsReference)} | ${fmt(r.speedupOverRatio1)} | ${r.peakRssMb} | ${r.tensorsAfter} |`);
  }
  writeJson(true);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
