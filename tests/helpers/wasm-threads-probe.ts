/**
 * Run as a script by tests/lib/runtime/wasm-threads.test.ts with INFTY_WASM_THREADS set: computes conv2d, matMul and a tiny
 * ∞-Diff network's training losses and full-grid outputs on the wasm backend and prints them as one JSON line,
 * so the threaded and single-threaded builds (one per process) can be compared value for value.
 */
import { initBackend, tf, Trainer, GridDenoiser, Rng, wasmThreads } from "infty-diff-lab";
import { tinyConfig, tinyData } from "./tiny";

async function main(): Promise<void> {
  await initBackend("wasm", { quiet: true });
  const rng = new Rng(5);
  const x = rng.normalTensor<tf.Rank.R4>([4, 20, 20, 16]), w = rng.normalTensor<tf.Rank.R4>([3, 3, 16, 24]);
  const a = rng.normalTensor<tf.Rank.R2>([300, 200]), b = rng.normalTensor<tf.Rank.R2>([200, 150]);
  const conv = Array.from(tf.conv2d(x, w, 1, "same").dataSync());
  const matMul = Array.from(tf.matMul(a, b).dataSync());
  const trainer = new Trainer(tinyConfig({ coordRatio: 0.5 }), tinyData(16));
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) losses.push(trainer.trainStep().loss);
  const den = new GridDenoiser(trainer.net);
  const t = tf.tensor1d([300, 700], "int32");
  const grid12 = Array.from(den.denoise(rng.normalTensor<tf.Rank.R4>([2, 12, 12, 1]), t).dataSync());
  const grid24 = Array.from(den.denoise(rng.normalTensor<tf.Rank.R4>([2, 24, 24, 1]), t).dataSync());
  den.dispose();
  trainer.dispose();
  process.stdout.write(JSON.stringify({ threads: wasmThreads(), conv, matMul, losses, grid12, grid24 }) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
