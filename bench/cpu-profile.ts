/**
 * CPU-time profile by kernel (not a test): where a training step or a DDIM step spends this process's CPU time, on
 * the backend asked for. Each kernel call is wrapped (outermost calls only) and timed with process.cpuUsage(), so on a
 * shared machine the figures do not depend on the load as wall times do. Run it with one thread
 * (INFTY_NATIVE_THREADS=1 INFTY_WASM_THREADS=1): CPU time of other threads (a second OpenMP or XNNPACK thread, V8's
 * GC) would be charged to whichever kernel was running.
 *
 *   INFTY_NATIVE_THREADS=1 INFTY_WASM_THREADS=1 node dist/bench/cpu-profile.js [--backend native] [--ratio 0.25]
 *     [--ddim 28] [--reps 3]
 *
 * Prints CPU ms per step in kernels (by name) and outside them (autodiff bookkeeping, tables, JS glue).
 */
import * as os from "os";
import { initBackend, tf, resolveConfig, Trainer, loadFashionMnist, GridDenoiser, Rng, describeBackend } from "infty-diff-lab";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};

async function main(): Promise<void> {
  const info = await initBackend(opt("backend", process.env.INFTY_BACKEND || "native"), { quiet: true });
  if (info.tfName !== "wasm") throw new Error("cpu-profile wraps the wasm backend's kernels: use --backend native or wasm");
  const ratio = Number(opt("ratio", "0.25")), ddim = Number(opt("ddim", "0")), reps = Number(opt("reps", "3"));
  const tr = new Trainer(resolveConfig({ train: { coordRatio: ratio } }), loadFashionMnist({ split: "train-fit", limit: 256 }));
  const den = ddim ? new GridDenoiser(tr.net) : null;
  const xt = ddim ? new Rng(ddim).normalTensor<tf.Rank.R4>([16, ddim, ddim, 1]) : null;
  const t = ddim ? (tf.fill([16], 500, "int32") as tf.Tensor1D) : null;
  const step = () => (den ? tf.tidy(() => { den.denoise(xt!, t!).dataSync(); }) : tr.trainStep());
  step(); // warm-up: primitives, tables, JIT
  step();
  const stats = new Map<string, { us: number; n: number }>();
  let depth = 0;
  for (const k of tf.getKernelsForBackend("wasm")) {
    const orig = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
        if (depth > 0) return orig(args);
        depth++;
        const c0 = process.cpuUsage();
        try {
          return orig(args);
        } finally {
          depth--;
          const c = process.cpuUsage(c0);
          const e = stats.get(k.kernelName) ?? { us: 0, n: 0 };
          e.us += c.user + c.system;
          e.n++;
          stats.set(k.kernelName, e);
        }
      }) as tf.KernelFunc,
    });
  }
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) step();
  const c = process.cpuUsage(c0);
  const total = (c.user + c.system) / 1000 / reps;
  const rows = [...stats.entries()].map(([k, e]) => ({ k, ms: e.us / 1000 / reps, n: e.n / reps })).sort((a, b) => b.ms - a.ms);
  const inKernels = rows.reduce((a, r) => a + r.ms, 0);
  const what = ddim ? `DDIM step (one full-grid forward), batch 16, ${ddim}²` : `train step, batch 32, ratio ${ratio}`;
  console.log(`# node dist/bench/cpu-profile.js ${argv.join(" ")} — ${describeBackend(info)}`);
  console.log(`${what}: CPU ${total.toFixed(0)} ms per step (mean of ${reps}), in kernels ${inKernels.toFixed(0)} ms, ` +
    `outside kernels ${(total - inKernels).toFixed(0)} ms; load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  console.log("kernel | CPU ms per step | calls | share of the step");
  for (const r of rows.filter((r) => r.ms >= 0.5)) console.log(`${r.k} | ${r.ms.toFixed(1)} | ${r.n} | ${((100 * r.ms) / total).toFixed(1)}%`);
  console.log(`(outside kernels) | ${(total - inKernels).toFixed(1)} | — | ${((100 * (total - inKernels)) / total).toFixed(1)}%`);
  den?.dispose();
  xt?.dispose();
  t?.dispose();
  tr.dispose();
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
