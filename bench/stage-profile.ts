/**
 * Per-stage profile of one training step of an ablation-size model (not a test): why Table 3's speedup at ratio ⅛ is
 * smaller here than the paper's. For each ratio variant of a spec it times, in CPU ms (median over reps, after a
 * warm-up): the whole `trainStep`; the U-Net's forward + backward alone on the same [B, res, res, U] grid (fixed cost:
 * it never sees the points); the point context (kernel map, kNN and bilinear tables); Adam + EMA (fixed: one update
 * per parameter). What remains is the point-side network (lift, sparse blocks, interpolation), which shrinks with the
 * points. Amdahl's law then predicts the speedup from the fixed fraction at ratio 1.
 *
 *   npm run build && nice -n 10 node dist/bench/stage-profile.js [--spec table3] [--budget full] [--reps 5]
 *       [--shape configs/shape-ffhq128.json] [--batch 4]
 *
 * --shape merges a partial config over each variant's (the variant keeps its ratio): the paper's model shape instead of
 * the ablation size, to say what ratio that shape would get on this machine. --batch overrides the batch size.
 */
import * as fs from "fs";
import { initBackend, tf, Trainer, loadSpec, resolvedConfig, resolveConfig, mergeConfig, loadFashionMnist, learningRate, mse, BudgetName, LabConfig } from "infty-diff-lab";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function timeIt(reps: number, f: () => void): number {
  f(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = cpuMs();
    f();
    xs.push(cpuMs() - c0);
  }
  return median(xs);
}

async function main(): Promise<void> {
  const spec = loadSpec(arg("spec", "table3")), budget = arg("budget", "full") as BudgetName, reps = Number(arg("reps", "5"));
  const shapeFile = arg("shape", ""), batch = arg("batch", "");
  const shape = shapeFile ? (JSON.parse(fs.readFileSync(shapeFile, "utf8")) as Record<string, unknown>) : {};
  const configOf = (v: (typeof spec.variants)[number]): LabConfig => {
    const c = resolvedConfig(spec, budget, v, 0);
    if (!shapeFile && !batch) return c;
    return resolveConfig(mergeConfig(c as unknown as Record<string, unknown>, shape, { train: { coordRatio: c.train.coordRatio, ...(batch ? { batchSize: Number(batch) } : {}) } }));
  };
  await initBackend(process.env.INFTY_BACKEND || undefined); // default: the fastest that loads (native where built)
  const data = loadFashionMnist({ split: "train-fit", limit: 512, size: configOf(spec.variants[0]).model.resolution });
  // every variant is built first and the stages are timed in interleaved rounds (the first round discarded), so JIT
  // warm-up and changes of machine load fall on all ratios alike
  type Stage = "step" | "unet" | "ctx" | "opt";
  const setup = (v: (typeof spec.variants)[number]) => {
    const cfg = configOf(v);
    const tr = new Trainer(cfg, data);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const T = tr as any, net = T.net;
    const B = cfg.train.batchSize, g = cfg.model.unet.res, U = cfg.model.unet.baseChannels;
    const allNames: string[] = net.params.names();
    const unetVars = (net.params.variables() as tf.Variable[]).filter((_, i) => allNames[i].startsWith("unet."));
    if (!unetVars.length) throw new Error("no U-Net parameters found (names start with 'unet.')");
    const grid = tf.randomNormal([B, g, g, U]) as tf.Tensor4D, temb = tf.randomNormal([B, cfg.model.timeEmbDim]) as tf.Tensor2D;
    const vars = net.params.variables(), names = net.params.names();
    const stages: Record<Stage, () => void> = {
      step: () => tr.trainStep(),
      // U-Net alone, forward + backward, on the grid the network feeds it
      unet: () => {
        const r = tf.variableGrads(() => tf.sum(net.unet.apply(grid, temb, {})) as tf.Scalar, unetVars);
        r.value.dataSync();
        tf.dispose([r.value, ...Object.values(r.grads)]);
      },
      ctx: () => {
        const b = T.drawBatch(tr.rng);
        net.context(b.set).dispose();
        tf.dispose([b.xi]);
      },
      // Adam on zero gradients of every parameter, then the EMA update
      opt: () => {
        const byName: Record<string, tf.Tensor> = {};
        for (let i = 0; i < vars.length; i++) byName[names[i]] = tf.zerosLike(vars[i]);
        const norm = tr.adam.apply(byName, learningRate(cfg, tr.step));
        norm.dataSync();
        tf.dispose([norm, ...Object.values(byName)]);
        tr.ema.params.emaUpdate(tr.net.params, cfg.train.emaDecay);
      },
    };
    const times: Record<Stage, number[]> = { step: [], unet: [], ctx: [], opt: [] };
    return { v, cfg, tr, stages, times, dispose: () => { tf.dispose([grid, temb]); tr.dispose(); } };
  };
  const timeRounds = (list: ReturnType<typeof setup>[]) => {
    for (let round = 0; round <= reps; round++) {
      for (const s of list) {
        for (const k of ["step", "unet", "ctx", "opt"] as Stage[]) {
          const c0 = cpuMs();
          s.stages[k]();
          if (round > 0) s.times[k].push(cpuMs() - c0);
        }
      }
    }
  };
  // a large shape does not fit four models in the wasm heap (4 GB): then one variant at a time, not interleaved
  const sequential = !!shapeFile;
  const setups: ReturnType<typeof setup>[] = [];
  if (sequential) {
    for (const v of spec.variants) {
      const s = setup(v);
      timeRounds([s]);
      s.dispose();
      setups.push(s);
    }
  } else {
    setups.push(...spec.variants.map(setup));
    timeRounds(setups);
  }
  void mse; void timeIt;
  const rows = setups.map((s) => ({
    label: s.v.label, ratio: s.cfg.train.coordRatio, step: median(s.times.step), unet: median(s.times.unet), ctx: median(s.times.ctx), opt: median(s.times.opt),
  }));
  if (!sequential) for (const s of setups) s.dispose();
  const base = rows.find((r) => r.ratio === 1) ?? rows[0];
  const fixed = (base.unet + base.opt) / base.step;
  const m = setups[0].cfg.model;
  if (shapeFile) console.log(`shape ${shapeFile}: ${m.resolution} px, nf ${m.nf}, ${m.sparseBlocks} sparse blocks, U-Net ${m.unet.baseChannels}×[${m.unet.mults}] at ${m.unet.res}², batch ${setups[0].cfg.train.batchSize}`);
  console.log(`${spec.name} (${budget}): CPU ms per training step, median of ${reps} ${sequential ? "rounds, one variant after another" : "interleaved rounds"} after a warm-up round (shared machine: noisy)`);
  console.log("ratio | step | U-Net fwd+bwd | point context | Adam+EMA | point-side rest | speedup | Amdahl (fixed = U-Net + Adam/EMA at ratio 1)");
  for (const r of rows) {
    const rest = r.step - r.unet - r.ctx - r.opt;
    const amdahl = 1 / (fixed + (1 - fixed) * (r.ratio / base.ratio));
    console.log(`${r.label} | ${r.step.toFixed(1)} | ${r.unet.toFixed(1)} (${((100 * r.unet) / r.step).toFixed(0)} %) | ${r.ctx.toFixed(1)} | ${r.opt.toFixed(1)} | ${rest.toFixed(1)} | ${(base.step / r.step).toFixed(2)}× | ${amdahl.toFixed(2)}×`);
  }
  console.log(`fixed fraction at ratio 1: ${(100 * fixed).toFixed(0)} %; with no fixed part the ⅛ speedup would be 8×`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
