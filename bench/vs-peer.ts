/**
 * Side by side with the authors' PyTorch code (issue 14): the lab's rows and the peer's (/work/shared/peer-bench's
 * bench_peer.py on the official samb-t/infty-diff code) measured in ONE run, alternating, so that both see the same
 * machine load; medians over rounds; writes bench/vs-peer.json (machine, load, both columns, ratio per row) after
 * every round (a killed run keeps the rounds done) and prints a README table.
 *
 *   npm run bench:vs-peer -- [--rounds 2] [--reps 2] [--modes n1,n2,nw2,t2] [--official DIR] [--peer-dir DIR] [--append]
 *                            [--rows ddim-112,…] [--out bench/vs-peer.json] [--peer-threads 2,1] [--clock cpu]
 * --clock cpu: every row in CPU ms of its process instead of wall ms (the peer through bench/peer-cpu-clock.py, the lab
 * through process.cpuUsage): with one thread on each side (--modes n1,t1 --peer-threads 1) the per-core cost, which a
 * loaded shared machine does not inflate as it inflates wall times.
 *
 * Lab modes (each a child process, so each has its own backend and peak RSS): t1 = wasm, 1 thread (INFTY_WASM_THREADS=1);
 * t2 = wasm with 2 XNNPACK threads (INFTY_WASM_THREADS=2), the lab's own kernels shared by 2 threads too
 * (runtime/wasm-kernels/parallel.ts) and the lab's Concat; t2s = t2 with the lab's kernels on the main thread only and
 * tfjs-wasm's own Concat (setWasmParallel(false), setWasmConcat(false): the code before the parallel pool); w2 = 1
 * thread + 2 gradient/sampling workers (training rows and the whole sample only); n1 = native (oneDNN kernels on the
 * wasm heap, issue 28), 1 OpenMP thread and the 1-thread wasm build; n2 = native with 2 OpenMP threads and 2 XNNPACK
 * threads (the lab's pool too); nw2 = native, 1 thread + 2 workers (training rows and the whole sample only). --rows: only the rows whose key starts with one of the given prefixes (keys: train-1, train-1/2, train-1/4,
 * train-1/8, ddim-28, ddim-56, ddim-112, sample-28; e.g. `--rows ddim` = the three DDIM steps); the peer then runs one
 * training step (ratio 1/8) and a 10-step sample where their rows are not asked for (its one-step DDIM timing then
 * uses t index 5 instead of 50: the same network forward). "best lab" per row = the fastest mode; ratio = peer ms ÷
 * best lab ms (> 1: the lab is faster).
 * Rows: training step, batch 32, ratios 1, ½, ¼, ⅛ (forward + backward + clip + Adam; the lab also updates its EMA);
 * one DDIM step = one full-grid forward at batch 16, 28/56/112 px; a 100-step DDIM sample at 28 px, batch 16.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));
const CLOCK = opt("clock", "wall");
if (CLOCK !== "wall" && CLOCK !== "cpu") throw new Error(`--clock wall|cpu, got ${CLOCK}`);
/** ms on the chosen clock: wall (performance.now) or this process's CPU time (all its threads) */
const now = CLOCK === "cpu" ? () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; } : () => performance.now();

const ROWS = [
  "train step, batch 32, ratio 1", "train step, batch 32, ratio 1/2", "train step, batch 32, ratio 1/4",
  "train step, batch 32, ratio 1/8", "DDIM step, batch 16, 28²", "DDIM step, batch 16, 56²", "DDIM step, batch 16, 112²",
  "100-step DDIM sample, 28², batch 16",
] as const;
type RowName = (typeof ROWS)[number];
const KEYS = ["train-1", "train-1/2", "train-1/4", "train-1/8", "ddim-28", "ddim-56", "ddim-112", "sample-28"] as const;
const rowPrefixes = opt("rows", "").split(",").filter((v) => v !== "");
const wanted = (row: RowName) => rowPrefixes.length === 0 || rowPrefixes.some((p) => KEYS[ROWS.indexOf(row)].startsWith(p));
const RATIOS = ([[1, ROWS[0]], [0.5, ROWS[1]], [0.25, ROWS[2]], [0.125, ROWS[3]]] as Array<[number, RowName]>).filter(([, r]) => wanted(r));
const SIZES = ([[28, ROWS[4]], [56, ROWS[5]], [112, ROWS[6]]] as Array<[number, RowName]>).filter(([, r]) => wanted(r));
const SELECTED = ROWS.filter(wanted);

interface LabResult { mode: string; threads: number; nativeThreads?: number; onednn?: string; ms: Partial<Record<RowName, number>>; trainPeakRssMb: number; peakRssMb: number }

// ---- the lab side: one mode, one process ---------------------------------------------------------------------------
/** Untimed training steps before timing, on both sides. */
const TRAIN_WARMUP = 3;

async function labChild(mode: string, reps: number, out: string): Promise<void> {
  // required here, not at the top: INFTY_WASM_THREADS is read when the backend is first initialised
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const lab = require("infty-diff-lab") as typeof import("infty-diff-lab");
  const { initBackend, tf, resolveConfig, Trainer, loadFashionMnist, GridDenoiser, sampleModel, Rng, wasmThreads, setWasmParallel, setWasmConcat, wasmParallelReady } = lab;
  const native = mode.startsWith("n");
  const info = await initBackend(native ? "native" : "wasm", { quiet: true });
  if (native && info.name !== "native") throw new Error(`mode ${mode}: the native backend did not load`);
  setWasmParallel(mode !== "t2s");
  setWasmConcat(mode !== "t2s");
  await wasmParallelReady(); // its workers join once started: none of the timed steps runs without them
  const workers = mode === "w2" || mode === "nw2" ? 2 : 1;
  const res: LabResult = { mode, threads: wasmThreads(), ...(info.onednn ? { nativeThreads: info.onednn.threads, onednn: info.onednn.version } : {}), ms: {}, trainPeakRssMb: 0, peakRssMb: 0 };
  const data = loadFashionMnist({ split: "train-fit", limit: 1024 });
  const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);
  for (const [ratio, row] of RATIOS) {
    const tr = new Trainer(resolveConfig({ train: { coordRatio: ratio } }), data, { workers });
    try {
      // the first steps run ~4× and ~1.3× slower (worker start-up, JIT, heap growth): untimed, as the peer's --warmup
      for (let w = 0; w < TRAIN_WARMUP; w++) await tr.trainStepAsync();
      const ts: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = now();
        await tr.trainStepAsync();
        ts.push(now() - t0);
      }
      res.ms[row] = median(ts);
    } finally {
      tr.dispose();
    }
  }
  res.trainPeakRssMb = rss();
  const cfg = resolveConfig({});
  const tr = new Trainer(cfg, data); // an untrained net: timing does not depend on the weights
  try {
    if (workers === 1) {
      const den = new GridDenoiser(tr.net);
      for (const [r, row] of SIZES) {
        const xt = new Rng(r).normalTensor<import("infty-diff-lab").tf.Rank.R4>([16, r, r, 1]);
        const t = tf.fill([16], 500, "int32") as import("infty-diff-lab").tf.Tensor1D;
        const step = () => tf.tidy(() => { den.denoise(xt, t).dataSync(); });
        step(); // warm-up, builds the context (kernel map, interpolation tables), as the peer's warm-up step
        const ts: number[] = [];
        for (let i = 0; i < (r >= 112 ? Math.min(reps, 2) : reps); i++) {
          const t0 = now();
          step();
          ts.push(now() - t0);
        }
        res.ms[row] = median(ts);
        tf.dispose([xt, t]);
        den.dispose();
      }
    }
    if (wanted(ROWS[7])) {
      const t0 = now();
      await sampleModel(tr.net, cfg, { resolution: 28, n: 16, batchSize: 16, steps: 100, progress: false, seed: 1, workers });
      res.ms[ROWS[7]] = now() - t0;
    }
  } finally {
    tr.dispose();
  }
  res.peakRssMb = rss();
  fs.writeFileSync(out, JSON.stringify(res));
}

// ---- the peer side ---------------------------------------------------------------------------------------------------
function runPeer(peerDir: string, official: string, reps: number, out: string, threads: number): Partial<Record<RowName, number>> & { env?: unknown } {
  const blas = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  // rows not asked for (--rows): the smallest run bench_peer.py allows (it always trains and samples at least once)
  const train = RATIOS.length > 0, sample = wanted(ROWS[7]);
  const cpuClock = CLOCK === "cpu" ? [path.join(__dirname, "..", "..", "bench", "peer-cpu-clock.py")] : [];
  const r = spawnSync("/usr/bin/python3", [
    ...cpuClock, path.join(peerDir, "bench_peer.py"), "--official", official, "--json-out", out,
    ...(train ? ["--ratios", RATIOS.map(([q]) => q).join(","), "--warmup", String(TRAIN_WARMUP), "--steps", String(Math.max(3, 2 * reps))]
      : ["--ratios", "0.125", "--warmup", "0", "--steps", "1"]),
    ...(SIZES.length > 0 ? ["--sample-res", SIZES.map(([q]) => q).join(",")] : ["--sample-res", "28"]),
    "--step-reps", String(Math.max(3, reps)), "--ddim-repeats", "1", "--threads", String(threads),
    ...(sample ? [] : ["--ddim-steps", "10"]),
  ], { encoding: "utf8", env: { ...process.env, ...(fs.existsSync(blas) ? { LD_LIBRARY_PATH: blas } : {}) }, timeout: 3 * 3600000 });
  if (r.status !== 0) throw new Error(`bench_peer.py failed (exit ${r.status}): ${(r.stderr || "").split("\n").slice(-5).join(" ")}`);
  const j = JSON.parse(fs.readFileSync(out, "utf8")) as {
    env: unknown; train_step: Array<{ ratio: number; median_ms: number }>; ddim_step: Array<{ res: number; median_ms: number }>;
    ddim_sample: { total_s_median: number };
  };
  const ms: Partial<Record<RowName, number>> & { env?: unknown } = { env: j.env };
  for (const [ratio, row] of RATIOS) ms[row] = j.train_step.find((x) => x.ratio === ratio)?.median_ms;
  for (const [res, row] of SIZES) ms[row] = j.ddim_step.find((x) => x.res === res)?.median_ms;
  if (wanted(ROWS[7])) ms[ROWS[7]] = j.ddim_sample.total_s_median * 1000;
  return ms;
}

function runLab(mode: string, reps: number, out: string): LabResult {
  const two = mode === "t2" || mode === "t2s" || mode === "n2";
  const env = { ...process.env, INFTY_WASM_THREADS: two ? "2" : "1", INFTY_NATIVE_THREADS: two ? "2" : "1" };
  const r = spawnSync(process.execPath, [__filename, "--lab", mode, "--reps", String(reps), "--out", out, "--clock", CLOCK, ...(rowPrefixes.length ? ["--rows", rowPrefixes.join(",")] : [])],
    { encoding: "utf8", env, timeout: 3600000 });
  if (r.status !== 0) throw new Error(`lab mode ${mode} failed (exit ${r.status}): ${(r.stderr || "").split("\n").slice(-8).join(" ")}`);
  return JSON.parse(fs.readFileSync(out, "utf8")) as LabResult;
}

async function main(): Promise<void> {
  if (argv.includes("--lab")) return labChild(opt("lab", "t1"), Number(opt("reps", "2")), opt("out", ""));
  const rounds = Number(opt("rounds", "2")), reps = Number(opt("reps", "2"));
  const modes = opt("modes", "n1,n2,nw2,t2").split(",");
  const official = opt("official", process.env.INFTY_DIFF_DIR ?? "/work/official");
  const peerDir = opt("peer-dir", process.env.INFTY_PEER_BENCH ?? "/work/shared/peer-bench");
  // the peer at each of these torch thread counts; its best per row is what the lab is compared with (on a loaded
  // 2-core machine, 2 OpenMP threads spinning for cores they do not get can make PyTorch several times slower)
  const peerThreads = opt("peer-threads", "2,1").split(",").map(Number);
  if (peerThreads.some((t) => !(Number.isInteger(t) && t >= 1))) throw new Error("--peer-threads: a list of thread counts, e.g. 2,1");
  if (!fs.existsSync(path.join(peerDir, "bench_peer.py"))) throw new Error(`no bench_peer.py in ${peerDir} (give --peer-dir)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "infty-vs-peer-"));
  const file = opt("out", path.join(__dirname, "..", "..", "bench", "vs-peer.json"));
  const perRound: PerRound[] = [];
  let peerEnv: unknown = null;
  // --append: add rounds to the existing file (same modes), so a run can be continued later or after a kill
  if (argv.includes("--append") && fs.existsSync(file)) {
    const old = JSON.parse(fs.readFileSync(file, "utf8")) as { perRound: PerRound[]; peer: { env: unknown } };
    perRound.push(...old.perRound);
    peerEnv = old.peer.env;
  }
  const first = perRound.length + 1;
  for (let round = first; round < first + rounds; round++) {
    const l0 = load();
    // alternate who goes first, so a load trend does not favour one side
    const peers = peerThreads.map((t) => `peer@${t}`);
    const order = round % 2 ? [...peers, ...modes] : [...modes, ...peers];
    const peerByThreads: Record<string, Record<string, number | undefined>> = {};
    const lab: LabResult[] = [];
    for (const who of order) {
      console.error(`[round ${round}/${first + rounds - 1}] ${who} (load ${load()[0]})`);
      if (who.startsWith("peer@")) {
        const t = Number(who.slice(5));
        const { env, ...ms } = runPeer(peerDir, official, reps, path.join(tmp, `peer-${t}-${round}.json`), t);
        peerEnv = { ...(env as object), threads: peerThreads };
        peerByThreads[t] = ms;
      } else lab.push(runLab(who, reps, path.join(tmp, `lab-${who}-${round}.json`)));
    }
    // peer = its fastest thread count per row in this round
    const peer: Record<string, number | undefined> = {};
    for (const row of SELECTED) {
      const v = Object.values(peerByThreads).map((m) => m[row] ?? NaN).filter(Number.isFinite);
      peer[row] = v.length ? Math.min(...v) : undefined;
    }
    perRound.push({ round, loadBefore: l0, loadAfter: load(), peer, peerByThreads, lab });
    write(file, perRound, modes, peerEnv, reps);
  }
}

interface PerRound {
  round: number; loadBefore: number[]; loadAfter: number[];
  /** per row: the peer's best over the thread counts run */
  peer: Record<string, number | undefined>;
  peerByThreads?: Record<string, Record<string, number | undefined>>;
  lab: LabResult[];
}

function write(file: string, perRound: PerRound[], modes: string[], peerEnv: unknown, reps: number): void {
  const threadKeys = [...new Set(perRound.flatMap((r) => Object.keys(r.peerByThreads ?? {})))];
  const rows = SELECTED.map((row) => {
    const peerMs = median(perRound.map((r) => r.peer[row] ?? NaN));
    const lab: Record<string, number> = {};
    for (const m of modes) lab[m] = median(perRound.map((r) => r.lab.find((x) => x.mode === m)?.ms[row] ?? NaN));
    const best = Object.entries(lab).filter(([, v]) => Number.isFinite(v)).sort((a, b) => a[1] - b[1])[0];
    return {
      row, peerMs: Math.round(peerMs),
      peerMsByThreads: Object.fromEntries(threadKeys.map((t) => {
        const v = median(perRound.map((r) => r.peerByThreads?.[t]?.[row] ?? NaN));
        return [t, Number.isFinite(v) ? Math.round(v) : null];
      })),
      labMs: Object.fromEntries(Object.entries(lab).map(([k, v]) => [k, Number.isFinite(v) ? Math.round(v) : null])),
      bestLab: best ? best[0] : null, ratio: best ? Number((peerMs / best[1]).toFixed(2)) : null,
    };
  });
  const cpus = os.cpus();
  const out = {
    date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model ?? "unknown", cores: cpus.length, memGb: Number((os.totalmem() / 2 ** 30).toFixed(1)), platform: `${os.platform()} ${os.release()}`, node: process.version },
    peer: { code: "samb-t/infty-diff @ abf04d8 (torch_dense backend), /work/shared/peer-bench/bench_peer.py", env: peerEnv },
    modes: Object.fromEntries(modes.map((m) => [m, ({
      t1: "wasm, 1 thread", t2: "wasm, 2 XNNPACK threads (INFTY_WASM_THREADS=2), the lab's kernels on 2 threads (parallel pool), the lab's Concat",
      t2s: "wasm, 2 XNNPACK threads, the lab's kernels on the main thread only and tfjs-wasm's Concat (parallel pool and lab Concat off)",
      w2: "wasm 1 thread + 2 workers (training, whole sample)",
      n1: "native (oneDNN kernels on the wasm heap), 1 OpenMP thread, wasm 1 thread",
      n2: "native, 2 OpenMP threads, wasm with 2 XNNPACK threads and the lab's pool",
      nw2: "native, 1 thread + 2 workers (training, whole sample)",
    } as Record<string, string>)[m] ?? m])),
    ...(rowPrefixes.length ? { rowsSelected: rowPrefixes } : {}),
    clock: CLOCK === "cpu" ? "CPU ms of each side's process (all its threads)" : "wall ms",
    rounds: perRound.length, repsPerRound: reps,
    note: "ratio = peer ms ÷ best lab ms (> 1: lab faster); peer ms = the peer's fastest torch thread count per row (peerMsByThreads has each). Each cell is the median over rounds of each round's median; lab and peer alternate within a round on the same (shared, loaded) machine.",
    rows,
    labPeakRssMb: Object.fromEntries(modes.map((m) => [m, {
      trainBatch32: Math.max(...perRound.map((r) => r.lab.find((x) => x.mode === m)?.trainPeakRssMb ?? 0)),
      wholeProcess: Math.max(...perRound.map((r) => r.lab.find((x) => x.mode === m)?.peakRssMb ?? 0)),
    }])),
    perRound,
  };
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  const fmt = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? "—" : v.toLocaleString("en-US"));
  console.log(`\n| row | ${modes.map((m) => `lab ${m}`).join(" | ")} | ${threadKeys.map((t) => `peer, ${t} thread${t === "1" ? "" : "s"}`).join(" | ")} | best lab ÷ best peer speed |`);
  console.log(`|---|${modes.map(() => "---|").join("")}${threadKeys.map(() => "---|").join("")}---|`);
  for (const r of rows) console.log(`| ${r.row} | ${modes.map((m) => fmt(r.labMs[m])).join(" | ")} | ${threadKeys.map((t) => fmt(r.peerMsByThreads[t])).join(" | ")} | ${r.ratio ?? "—"} |`);
  console.log(`(ms; ${perRound.length} round(s); load ${perRound.map((r) => r.loadBefore[0]).join(", ")} at the start of each)`);
  console.error(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
