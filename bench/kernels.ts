/**
 * Kernel benchmark (not a test): GFLOP/s per backend for the lab's hot kernels, forward and forward+backward.
 *
 *   npm run bench:kernels                       # native (oneDNN), wasm and cpu
 *   npm run bench:kernels -- --backends wasm --reps 5
 *
 * Prints a table and writes bench/kernels.json. FLOPs: conv 2·B·Ho·Wo·Cout·Cin·k², depthwise 2·B·Ho·Wo·C·k²,
 * matMul 2·M·N·K; forward+backward counts 3× the forward (forward, input gradient, filter gradient). Times are
 * the median of `reps` runs after one warm-up run, each ending in a read-back of every output.
 * Two clocks: wall time, and this process's CPU time (user+system). The kernels are single-threaded, so on a
 * shared, oversubscribed machine the CPU-time rate (best of the reps: `gflopsCpuBest`) is the estimate of an
 * idle core; all are written, with the load average.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, tf, Rng } from "infty-diff-lab";

interface Case {
  name: string;
  flops: number;
  /** builds inputs (kept), returns the timed step, which returns tensors to read back and dispose */
  setup(rng: Rng): { step: () => tf.Tensor[]; dispose: () => void };
}

function randn(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape);
}

function convCase(backward: boolean, B: number): Case {
  const [H, W, C, K, k] = [32, 32, 64, 64, 3];
  const fwd = 2 * B * H * W * K * C * k * k;
  return {
    name: `conv2d 3x3 B=${B} 32x32 64→64 ${backward ? "fwd+bwd" : "fwd"}`,
    flops: backward ? 3 * fwd : fwd,
    setup(rng) {
      const x = randn(rng, [B, H, W, C]) as tf.Tensor4D, w = randn(rng, [k, k, C, K]) as tf.Tensor4D;
      const r = randn(rng, [B, H, W, K]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same");
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), r)));
      return {
        step: () => (backward ? g([x, w]) : [f(x, w)]),
        dispose: () => tf.dispose([x, w, r]),
      };
    },
  };
}

function depthwiseCase(backward: boolean, B: number): Case {
  const [H, W, C, k] = [32, 32, 64, 7];
  const fwd = 2 * B * H * W * C * k * k;
  return {
    name: `depthwise 7x7 B=${B} 32x32 C=64 ${backward ? "fwd+bwd" : "fwd"}`,
    flops: backward ? 3 * fwd : fwd,
    setup(rng) {
      const x = randn(rng, [B, H, W, C]), w = randn(rng, [k, k, C, 1]), r = randn(rng, [B, H, W, C]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same");
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), r)));
      return {
        step: () => (backward ? g([x, w]) : [f(x, w)]),
        dispose: () => tf.dispose([x, w, r]),
      };
    },
  };
}

function matMulCase(): Case {
  const [M, K, N] = [1024, 512, 512];
  return {
    name: "matMul 1024x512 · 512x512",
    flops: 2 * M * K * N,
    setup(rng) {
      const a = randn(rng, [M, K]), b = randn(rng, [K, N]);
      return { step: () => [tf.matMul(a, b)], dispose: () => tf.dispose([a, b]) };
    },
  };
}

/** Whether each issue target is met by wall time and by best CPU time (null when wasm was not run). */
function targetCheck(rows: Array<Record<string, string | number>>): Record<string, { wall: boolean; cpuBest: boolean } | null> {
  const find = (k: string) =>
    rows.find((r) => r.backend === "wasm" && String(r.kernel).startsWith(k) && String(r.kernel).endsWith("fwd+bwd"));
  const check = (k: string, target: number) => {
    const r = find(k);
    return r ? { wall: Number(r.gflops) >= target, cpuBest: Number(r.gflopsCpuBest) >= target } : null;
  };
  return { "wasm conv2d 3x3 fwd+bwd >= 10": check("conv2d", 10), "wasm depthwise 7x7 fwd+bwd >= 3": check("depthwise", 3) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backends = arg("backends", "native,wasm,cpu").split(",");
  const reps = Number(arg("reps", "5"));
  const out = path.join(arg("out-dir", "bench"), "kernels.json");
  const casesFor = (B: number) =>
    [convCase(false, B), convCase(true, B), depthwiseCase(false, B), depthwiseCase(true, B), matMulCase()];
  const rows: Array<Record<string, string | number>> = [];
  for (const be of backends) {
    await initBackend(be, { quiet: true });
    // tfjs-backend-cpu is ~25× slower forward and ~1000× slower through conv gradients (B=16 conv fwd+bwd took
    // 387 s here): batch 1, one timed run and no warm-up are enough to place it
    const slow = be === "cpu";
    const n = slow ? 1 : reps;
    for (const c of casesFor(slow ? 1 : 16)) {
      const rng = new Rng(1);
      const { step, dispose } = c.setup(rng);
      const run = (): [number, number] => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const ys = tf.tidy(step);
        for (const y of ys) y.dataSync();
        const ms = performance.now() - t0;
        const cu = process.cpuUsage(c0);
        tf.dispose(ys);
        return [ms, (cu.user + cu.system) / 1000];
      };
      if (!slow) run(); // warm-up (kernel setup, heap growth)
      const wall: number[] = [], cpu: number[] = [];
      for (let i = 0; i < n; i++) {
        const [w, u] = run();
        wall.push(w);
        cpu.push(u);
      }
      dispose();
      const ms = median(wall), cpuMs = median(cpu), cpuBest = Math.min(...cpu);
      const row = {
        backend: be, kernel: c.name, flops: c.flops, reps: n,
        ms: +ms.toFixed(2), gflops: +(c.flops / ms / 1e6).toFixed(2),
        cpuMs: +cpuMs.toFixed(2), gflopsCpu: +(c.flops / cpuMs / 1e6).toFixed(2),
        cpuMsBest: +cpuBest.toFixed(2), gflopsCpuBest: +(c.flops / cpuBest / 1e6).toFixed(2),
      };
      rows.push(row);
      console.log(`${be.padEnd(5)} ${c.name.padEnd(40)} ${ms.toFixed(1).padStart(9)} ms ${row.gflops.toFixed(2).padStart(7)} GFLOP/s` +
        ` | cpu time: median ${row.gflopsCpu.toFixed(2).padStart(6)}, best ${row.gflopsCpuBest.toFixed(2).padStart(6)} GFLOP/s`);
    }
  }
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    loadavg: os.loadavg().map((v) => +v.toFixed(2)),
    note: "median of reps after a warm-up; gflops from wall time, gflopsCpu from process CPU time (single-threaded kernels: the idle-core estimate when the machine is oversubscribed)",
    targets: { "wasm conv2d 3x3 fwd+bwd": 10, "wasm depthwise 7x7 fwd+bwd": 3 },
    targetsMet: targetCheck(rows),
    results: rows,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  console.log(`load average ${report.loadavg.join(" ")} on ${report.cpus} CPUs; wrote ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
