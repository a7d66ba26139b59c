/**
 * Before/after of the wasm backend's f32x4 pointwise kernels (GELU, modulated LayerNorm) and the fused separable
 * resampled depthwise conv on one DDIM step (a full-grid forward of the denoiser), interleaved in one process:
 * "before" switches both off (the float64 JS loops and the op chain), "after" on, alternating rep by rep so load
 * drift hits both alike. Not a test; writes bench/ddim-step.json.
 *
 *   npm run bench:ddim-step -- [--res 28,56,112] [--reps 3] [--sample-batch 16] [--train 1,0.25] [--out bench/ddim-step.json]
 *   INFTY_WASM_THREADS=2 npm run bench:ddim-step -- --compare parallel [--out bench/ddim-step-parallel.json]
 *
 * --compare parallel: "before" = the lab's kernels on the main thread only (setWasmParallel(false)) and tfjs-wasm's
 * own Concat (setWasmConcat(false)), "after" = split across the parallel pool's threads (runtime/wasm-kernels/
 * parallel.ts) and the lab's memory.copy Concat (concat.ts); both with the f32x4 kernels and the fused separable conv,
 * XNNPACK on its wasmThreads() threads either way. Read wall time there: CPU time sums the threads.
 *
 * --compare convgrad: "before" = the conv filter gradient's previous im2col with plane margins, "after" = the exact
 * im2col (runtime/wasm-kernels/conv2d.ts); everything else as the default path. Use with --train (a DDIM step has
 * no filter gradient) and --res "" to skip the sampling rows.
 *
 * --train adds training steps (batch 32, the given coordinate ratios) with the pointwise kernels off/on alternating
 * (GELU and the two norms forward and backward; the separable conv does not run when training at r₀).
 *
 * Medians of process CPU time (the steadier clock on a shared machine) and wall time per step, after one warm-up
 * step of each variant. Also checks that both variants give the same output within float32 rounding.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  initBackend, tf, resolveConfig, Trainer, loadFashionMnist, GridDenoiser, Rng, setWasmPointwise, setFusedResampledDepthwise,
  setWasmParallel, setWasmConcat, setWasmConvGradFast, wasmParallelReady, wasmThreads,
} from "infty-diff-lab";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const resolutions = arg("res", "28,56,112").split(",").filter((v) => v !== "").map(Number), reps = Number(arg("reps", "3")), B = Number(arg("sample-batch", "16"));
  await initBackend("wasm");
  const compare = arg("compare", "kernels");
  const parallel = compare === "parallel", convgrad = compare === "convgrad";
  // the pool's workers join once started: wait, so that no timed "after" step runs without them
  const poolReady = parallel ? await wasmParallelReady() : false;
  if (parallel) console.log(`wasm threads ${wasmThreads()}, parallel pool ready: ${poolReady}`);
  /** Sets the code paths of variant `on` (false: before, true: after). */
  const select = (on: boolean) => {
    if (convgrad) {
      setWasmConvGradFast(on);
      return;
    }
    if (parallel) {
      setWasmParallel(on);
      setWasmConcat(on);
      return;
    }
    setWasmPointwise(on);
    setFusedResampledDepthwise(on);
  };
  const tr = new Trainer(resolveConfig({}), loadFashionMnist({ split: "train-fit", limit: 64 }));
  const den = new GridDenoiser(tr.net);
  const variants = { before: false, after: true } as const;
  const rows: object[] = [];
  for (const r of resolutions) {
    const xt = new Rng(r).normalTensor<tf.Rank.R4>([B, r, r, 1]);
    const t = tf.fill([B], 500, "int32") as tf.Tensor1D;
    const times: Record<string, { cpu: number[]; wall: number[] }> = { before: { cpu: [], wall: [] }, after: { cpu: [], wall: [] } };
    const outs: Record<string, Float32Array> = {};
    const step = (name: keyof typeof variants, record: boolean) => {
      select(variants[name]);
      const w0 = performance.now(), c0 = cpuMs();
      const y = tf.tidy(() => den.denoise(xt, t));
      const v = y.dataSync() as Float32Array;
      if (record) { times[name].cpu.push(cpuMs() - c0); times[name].wall.push(performance.now() - w0); }
      outs[name] = v.slice();
      y.dispose();
    };
    step("before", false); step("after", false);
    for (let i = 0; i < reps; i++) { step("before", true); step("after", true); }
    let diff = 0, scale = 0;
    for (let i = 0; i < outs.after.length; i++) { diff = Math.max(diff, Math.abs(outs.after[i] - outs.before[i])); scale = Math.max(scale, Math.abs(outs.before[i])); }
    const row = {
      resolution: r, batch: B, reps,
      beforeCpuMs: Math.round(median(times.before.cpu)), afterCpuMs: Math.round(median(times.after.cpu)),
      beforeWallMs: Math.round(median(times.before.wall)), afterWallMs: Math.round(median(times.after.wall)),
      speedupCpu: Number((median(times.before.cpu) / median(times.after.cpu)).toFixed(2)),
      speedupWall: Number((median(times.before.wall) / median(times.after.wall)).toFixed(2)),
      maxAbsDiff: diff, maxAbsOutput: scale,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    tf.dispose([xt, t]);
  }
  const trainRows: object[] = [];
  for (const ratio of arg("train", "").split(",").filter((v) => v !== "").map(Number)) {
    const trainer = new Trainer(resolveConfig({ train: { coordRatio: ratio, batchSize: 32 } }), loadFashionMnist({ split: "train-fit", limit: 512 }));
    const times: Record<string, number[]> = { before: [], after: [] }, wall: Record<string, number[]> = { before: [], after: [] };
    trainer.trainStep(); // warm-up
    for (let i = 0; i < reps; i++) {
      for (const name of ["before", "after"] as const) {
        if (parallel || convgrad) select(variants[name]); else setWasmPointwise(variants[name]);
        const c0 = cpuMs(), w0 = performance.now();
        trainer.trainStep();
        times[name].push(cpuMs() - c0);
        wall[name].push(performance.now() - w0);
      }
    }
    const row = { trainRatio: ratio, batch: 32, reps, beforeWallMs: Math.round(median(wall.before)), afterWallMs: Math.round(median(wall.after)), beforeCpuMs: Math.round(median(times.before)), afterCpuMs: Math.round(median(times.after)),
      speedupCpu: Number((median(times.before) / median(times.after)).toFixed(2)),
      speedupWall: Number((median(wall.before) / median(wall.after)).toFixed(2)) };
    console.log(JSON.stringify(row));
    trainRows.push(row);
    trainer.dispose();
  }
  setWasmPointwise(true);
  setFusedResampledDepthwise(true);
  setWasmParallel(true);
  setWasmConcat(true);
  setWasmConvGradFast(true);
  const out = {
    command: (parallel || wasmThreads() > 1 ? `INFTY_WASM_THREADS=${wasmThreads()} ` : "") + "npm run bench:ddim-step -- " + process.argv.slice(2).map((v) => (v === "" ? '""' : v)).join(" "),
    what: convgrad
      ? `training steps on wasm, ${wasmThreads()} XNNPACK thread(s); before = Conv2DBackpropFilter's im2col with plane margins, after = the exact im2col; interleaved rep by rep`
      : parallel
      ? `one DDIM step (GridDenoiser.denoise, full grid) on wasm, ${wasmThreads()} XNNPACK threads; before = the lab's kernels (separable conv, GELU, LayerNorm) on the main thread and tfjs-wasm's Concat, after = split across the parallel pool and the lab's memory.copy Concat (pool ready: ${poolReady}); interleaved rep by rep; read wall time (CPU time sums the threads)`
      : "one DDIM step (GridDenoiser.denoise, full grid) on wasm, 1 thread; before = float64 JS GELU/LayerNorm and the separable op chain, after = f32x4 kernels and the fused separable kernel; interleaved rep by rep",
    date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
    loadavgAtEnd: os.loadavg().map((x) => Number(x.toFixed(2))),
    note: parallel || convgrad
      ? "shared 2-core machine (the training job paused with kill -STOP during the run): absolute times drift 10–20 % between runs; wall time and its ratio are the figures to read"
      : "shared 2-core machine with background jobs: absolute times are noisy; CPU time and the ratio are the figures to read",
    rows,
    trainRows,
  };
  fs.writeFileSync(arg("out", path.join(__dirname, "..", "..", "bench", parallel ? "ddim-step-parallel.json" : convgrad ? "ddim-step-convgrad.json" : "ddim-step.json")), JSON.stringify(out, null, 2) + "\n");
  den.dispose();
  tr.dispose();
}

main().catch((e) => { console.error(e); process.exit(1); });
