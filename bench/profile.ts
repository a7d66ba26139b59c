/**
 * Profile of one training step (not a test): where the time of `Trainer.trainStep` goes.
 *
 *   npm run build && node dist/bench/profile.js [--ratio 0.25] [--reps 3] [--batch 32]
 *   node dist/bench/profile.js --ddim 112 [--sample-batch 16]   # one DDIM step (full-grid forward) instead
 *
 * Phases are timed by replaying trainStep's parts (batch draw, point context, forward+backward, Adam, EMA) with wall
 * and CPU clocks; one extra step runs under tf.profile to rank kernels by time (kernel time summed by name; the
 * remainder of the step is JS outside kernels: autodiff bookkeeping, tables, dispose). Medians over `reps` steps
 * after one warm-up. The machine is shared: CPU time of this process is the steadier clock.
 */
import * as os from "os";
import { initBackend, tf, resolveConfig, Trainer, loadFashionMnist, mse, learningRate, GridDenoiser, Rng } from "infty-diff-lab";

/** Kernel time of one full-grid forward (a DDIM step) at r×r, batch B, after a warm-up call; kernels ranked by time. */
async function profileDdim(tr: Trainer, r: number, B: number): Promise<void> {
  const den = new GridDenoiser(tr.net);
  const xt = new Rng(r).normalTensor<tf.Rank.R4>([B, r, r, 1]);
  const t = tf.fill([B], 500, "int32") as tf.Tensor1D;
  tf.tidy(() => { den.denoise(xt, t).dataSync(); });
  const w0 = performance.now(), c0 = cpuMs();
  const prof = await tf.profile(() => { tf.tidy(() => { den.denoise(xt, t).dataSync(); }); });
  const wall = performance.now() - w0, cpu = cpuMs() - c0;
  const by = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of prof.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    total += ms;
    const e = by.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms; e.n += 1;
    by.set(k.name, e);
  }
  console.log(`DDIM step ${r}×${r}, batch ${B}: wall ${wall.toFixed(0)} ms, cpu ${cpu.toFixed(0)} ms (profiled), ${prof.kernels.length} kernel calls, kernel time ${total.toFixed(0)} ms; load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log("kernel | ms | calls | share");
  for (const [name, e] of [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
    console.log(`${name} | ${e.ms.toFixed(1)} | ${e.n} | ${((100 * e.ms) / total).toFixed(1)}%`);
  }
  tf.dispose([xt, t]);
  den.dispose();
  tr.dispose();
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const ratio = arg("ratio", 0.25), reps = arg("reps", 3), B = arg("batch", 32);
  await initBackend(process.env.INFTY_BACKEND || undefined); // default: the fastest that loads (native where built)
  const cfg = resolveConfig({ train: { coordRatio: ratio, batchSize: B } });
  const data = loadFashionMnist({ split: "train-fit", limit: 512 });
  const tr = new Trainer(cfg, data);
  const ddim = arg("ddim", 0);
  if (ddim > 0) return profileDdim(tr, ddim, arg("sample-batch", 16));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const T = tr as any;
  const phases: Record<string, { wall: number[]; cpu: number[] }> = {};
  const timed = <R>(name: string, f: () => R): R => {
    const w0 = performance.now(), c0 = cpuMs();
    const r = f();
    (phases[name] ??= { wall: [], cpu: [] }).wall.push(performance.now() - w0);
    phases[name].cpu.push(cpuMs() - c0);
    return r;
  };
  const step = () => {
    const batch = timed("draw batch (RNG, subsets, noise)", () => T.drawBatch(tr.rng));
    const dropRng = tr.rng.fork();
    const ctx = timed("point context (kernel map, kNN/bilinear tables)", () => tr.net.context(batch.set));
    const t = tf.tensor1d(batch.ts, "int32");
    const [xtPts, targetPts] = timed("inputs (q_sample, mollifier, gather)", () => T.pointsOf(batch));
    const { value, grads } = timed("forward+backward (variableGrads)", () => {
      const r = tf.variableGrads(() => mse(tr.net.apply(xtPts, ctx, t, { dropoutRng: dropRng }), targetPts), tr.net.params.variables());
      r.value.dataSync();
      return r;
    });
    timed("Adam (clip norm + update)", () => {
      const byName: Record<string, tf.Tensor> = {};
      const vars = tr.net.params.variables(), names = tr.net.params.names();
      for (let i = 0; i < vars.length; i++) if (grads[vars[i].name]) byName[names[i]] = grads[vars[i].name];
      const norm = tr.adam.apply(byName, learningRate(cfg, tr.step));
      norm.dataSync();
      norm.dispose();
    });
    timed("EMA", () => tr.ema.params.emaUpdate(tr.net.params, cfg.train.emaDecay));
    timed("dispose", () => {
      tf.dispose([value, batch.xi, t, xtPts, targetPts]);
      tf.dispose(Object.values(grads));
      ctx.dispose();
    });
    tr.step += 1;
  };
  const whole: { wall: number[]; cpu: number[] } = { wall: [], cpu: [] };
  tr.trainStep(); // warm-up (kernel compilation, heap growth)
  for (let i = 0; i < reps; i++) {
    const w0 = performance.now(), c0 = cpuMs();
    tr.trainStep();
    whole.wall.push(performance.now() - w0);
    whole.cpu.push(cpuMs() - c0);
  }
  for (const k of Object.keys(phases)) delete phases[k];
  for (let i = 0; i < reps; i++) step();

  const prof = await tf.profile(() => {
    tr.trainStep();
  });
  const byKernel = new Map<string, { ms: number; n: number }>();
  let kernelTotal = 0;
  for (const k of prof.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byKernel.set(k.name, e);
    kernelTotal += ms;
  }
  const load = os.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`train step, batch ${B}, ratio ${ratio}, ${tr.net.params.variables().length} variables, ${tr.net.params.count()} parameters; load ${load}`);
  console.log(`whole trainStep: wall ${median(whole.wall).toFixed(0)} ms, cpu ${median(whole.cpu).toFixed(0)} ms (median of ${reps})`);
  console.log("\nphase | wall ms | cpu ms");
  for (const [name, p] of Object.entries(phases)) console.log(`${name} | ${median(p.wall).toFixed(1)} | ${median(p.cpu).toFixed(1)}`);
  const profiled = prof.kernels.length;
  console.log(`\nprofiled step: ${profiled} kernel calls, kernel time ${kernelTotal.toFixed(0)} ms`);
  console.log("kernel | ms | calls | share");
  const top = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25);
  for (const [name, e] of top) console.log(`${name} | ${e.ms.toFixed(1)} | ${e.n} | ${((100 * e.ms) / kernelTotal).toFixed(1)}%`);
  tr.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
