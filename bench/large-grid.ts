/**
 * One DDIM step (a full-grid forward of the default Fashion-MNIST network, r₀ = 28) at a large grid, in its own
 * process so that its peak RSS is its own (issue 14: 224² at batch 16 and 448² at batch 1 within 4 GB).
 *
 *   node dist/bench/large-grid.js --res 224 --batch 16 [--reps 1]    # prints one JSON line
 * (--reps 0: only the first call, which includes building the grid's context)
 *
 * The 7×7 kernel becomes (7·r/28 rounded to odd)² taps: 57×57 at 224, 113×113 at 448. The forward runs the dense
 * depthwise path on the full grid in chunks of whole images (GridDenoiser), so memory is flat in the batch.
 */
import * as os from "os";
import { initBackend, tf, resolveConfig, InftyDiffNetwork, GridDenoiser, Rng, resampledKernelSize, wasmThreads } from "infty-diff-lab";

const argv = process.argv.slice(2);
const num = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};

async function main(): Promise<void> {
  const res = num("res", 224), batch = num("batch", 1), reps = num("reps", 1);
  const backend = await initBackend(process.env.INFTY_BACKEND ?? "wasm", { quiet: true });
  const cfg = resolveConfig({});
  const net = new InftyDiffNetwork(cfg.model, new Rng(1)); // untrained: timing does not depend on the weights
  const den = new GridDenoiser(net);
  const xt = new Rng(res).normalTensor<tf.Rank.R4>([batch, res, res, cfg.model.channels]);
  const t = tf.fill([batch], 500, "int32") as tf.Tensor1D;
  const times: number[] = [];
  let finite = true;
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    tf.tidy(() => {
      const y = den.denoise(xt, t).dataSync();
      for (let j = 0; j < y.length; j += 97) if (!Number.isFinite(y[j])) finite = false;
    });
    times.push(performance.now() - t0);
    process.stderr.write(`  ${res}² batch ${batch}: call ${i + 1}/${reps + 1} ${(times[i] / 1000).toFixed(1)} s\n`);
  }
  den.dispose();
  tf.dispose([xt, t]);
  net.dispose();
  const out = {
    date: new Date().toISOString(), loadAvg: os.loadavg().map((x) => Number(x.toFixed(2))), res, batch, kernel: resampledKernelSize(cfg.model.kernelSize, cfg.model.resolution, res), backend: backend.name, threads: wasmThreads(),
    // the first call also builds the context (kernel-map counts, kNN and bilinear tables) for the grid
    firstCallMs: Math.round(times[0]),
    stepMs: reps > 0 ? Math.round(times.slice(1).sort((a, b) => a - b)[Math.floor((times.length - 1) / 2)]) : null,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), finite,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
