/**
 * Conv2D gradients on wasm, on the U-Net's own shapes (batch 32, 3×3 SAME stride 1; the shapes one training step
 * runs, with their call counts per step): the filter gradient's two im2col + matMul paths (conv2d.ts: the previous
 * one over padded planes with margins, "im2col", and the exact one, "exact"), the input gradient's two (a padded
 * copy of dy, "inputBefore", against padding inside XNNPACK, "input") and the forward conv for scale, interleaved
 * call by call (setWasmConvGradFast). Not a test; writes bench/conv-grad.json.
 *
 *   node dist/bench/conv-grad.js [--reps 7] [--out bench/conv-grad.json]
 *
 * Median wall ms per call (the kernels are single-threaded unless INFTY_WASM_THREADS > 1), after three warm-ups.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, tf, Rng, setWasmConvGradFast, wasmThreads, maxRelDiff } from "infty-diff-lab";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** [H (= W), Cin, Cout, calls per training step] (logged from Trainer.trainStep at batch 32, 28² images). */
const SHAPES: Array<[number, number, number, number]> = [
  [16, 32, 32, 9], [16, 64, 32, 2], [16, 96, 32, 1],
  [8, 64, 64, 6], [8, 128, 64, 2], [8, 32, 64, 1], [8, 96, 64, 1],
  [4, 64, 64, 11], [4, 128, 64, 3],
];

async function main(): Promise<void> {
  const reps = Number(arg("reps", "7")), B = 32;
  await initBackend("wasm");
  const rng = new Rng(3);
  const rows: object[] = [];
  const total = { im2col: 0, exact: 0, inputBefore: 0, input: 0, forward: 0 };
  for (const [H, Cin, Cout, calls] of SHAPES) {
    const x = tf.tensor4d(rng.normals(B * H * H * Cin), [B, H, H, Cin]);
    const dy = tf.tensor4d(rng.normals(B * H * H * Cout), [B, H, H, Cout]);
    const w = tf.tensor4d(rng.normals(9 * Cin * Cout), [3, 3, Cin, Cout]);
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
    const filterGrad = () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape: [3, 3, Cin, Cout] }) as tf.Tensor;
    const inputGrad = () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, { ...attrs, inputShape: [B, H, H, Cin] }) as tf.Tensor;
    const run: Record<string, () => tf.Tensor> = {
      im2col: () => { setWasmConvGradFast(false); return filterGrad(); },
      exact: () => { setWasmConvGradFast(true); return filterGrad(); },
      inputBefore: () => { setWasmConvGradFast(false); return inputGrad(); },
      input: () => { setWasmConvGradFast(true); return inputGrad(); },
      forward: () => tf.conv2d(x, w, 1, "same"),
    };
    const times: Record<string, number[]> = { im2col: [], exact: [], inputBefore: [], input: [], forward: [] };
    const vals: Record<string, Float32Array> = {};
    for (let r = -3; r < reps; r++) { // 3 warm-ups: the first calls grow the heap
      for (const [name, f] of Object.entries(run)) {
        const t0 = performance.now();
        const y = f();
        const v = y.dataSync() as Float32Array;
        if (r >= 0) times[name].push(performance.now() - t0);
        vals[name] = v.slice();
        y.dispose();
      }
    }
    const ms = (k: string) => Number(median(times[k]).toFixed(2));
    const row = { H, Cin, Cout, callsPerStep: calls, im2colMs: ms("im2col"), exactMs: ms("exact"), inputGradBeforeMs: ms("inputBefore"), inputGradMs: ms("input"), forwardMs: ms("forward"),
      speedup: Number((median(times.im2col) / median(times.exact)).toFixed(2)), maxRelDiff: maxRelDiff(vals.exact, vals.im2col),
      speedupInput: Number((median(times.inputBefore) / median(times.input)).toFixed(2)), maxRelDiffInput: maxRelDiff(vals.input, vals.inputBefore) };
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += calls * median(times[k]);
    console.log(JSON.stringify(row));
    rows.push(row);
    tf.dispose([x, dy, w]);
  }
  setWasmConvGradFast(true);
  const perStep = Object.fromEntries(Object.entries(total).map(([k, v]) => [k, Math.round(v)]));
  console.log("ms per training step (Σ calls × median):", JSON.stringify(perStep));
  const out = {
    command: `${wasmThreads() > 1 ? `INFTY_WASM_THREADS=${wasmThreads()} ` : ""}node dist/bench/conv-grad.js ${process.argv.slice(2).join(" ")}`,
    what: "conv gradients on wasm, interleaved call by call. Conv2DBackpropFilter: im2col with plane margins + XNNPACK matMul (im2colMs) vs exact im2col built with f32x4 strided copies + matMul (exactMs); Conv2DBackpropInput: padded copy of dy + XNNPACK conv (inputGradBeforeMs) vs XNNPACK padding (inputGradMs); forward conv for scale; batch 32, 3×3 SAME stride 1",
    wasmThreads: wasmThreads(), date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
    loadavgAtEnd: os.loadavg().map((v) => Number(v.toFixed(2))),
    note: "shared 2-core machine (the training job paused with kill -STOP during the run; other jobs may still load it): read the before/after ratios, interleaved call by call",
    rows, msPerTrainingStep: perStep,
  };
  fs.writeFileSync(arg("out", path.join(__dirname, "..", "..", "bench", "conv-grad.json")), JSON.stringify(out, null, 2) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
