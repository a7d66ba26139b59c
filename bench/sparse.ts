/**
 * Benchmark (issue 4): sparse depthwise conv (∞-Diff Eq. 20), k = 7, 64 channels, batch 8, at 28², 64², 128²,
 * forward+backward at ratios 1, 1/2, 1/4, 1/8, against the dense tf.depthwiseConv2d forward+backward on the same
 * backend. Targets: speedup over ratio 1 ≥ 2.5× at 1/4 and ≥ 4× at 1/8; ratio 1 ≤ 1.5× dense.
 * Prints a table and writes bench/sparse.json. Timings are min over reps (shared, loaded machine: noisy).
 * Usage: npm run bench:sparse [-- --backend cpu] [--reps 3]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, tf, Rng, fullGrid, uniformSubset, KernelMap, sparseDepthwiseConv } from "infty-diff-lab";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def; };

function timeIt(reps: number, f: () => void): number {
  f(); // warm-up (kernel compilation, allocation)
  let best = Infinity;
  for (let i = 0; i < reps; i++) { const t0 = process.hrtime.bigint(); f(); best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6); }
  return best;
}

async function main(): Promise<void> {
  const backend = await initBackend(opt("backend", "wasm"), { quiet: true });
  const reps = Number(opt("reps", "2"));
  const B = 8, C = 64, k = 7, rng = new Rng(0);
  const rows: Array<Record<string, number | string>> = [];
  const load0 = os.loadavg()[0];
  for (const H of [28, 64, 128]) {
    const w = rng.normalTensor<tf.Rank.R3>([k, k, C]), b = tf.zeros([C]) as tf.Tensor1D;
    const img = rng.normalTensor<tf.Rank.R4>([B, H, H, C]);
    const dense = timeIt(reps, () => {
      const g = tf.grads((x: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.depthwiseConv2d(x as tf.Tensor4D, tf.expandDims(ww, 3) as tf.Tensor4D, 1, "same")))([img, w]);
      g.forEach((t) => t.dataSync()); tf.dispose(g);
    });
    const denseFwd = timeIt(reps, () => { const y = tf.depthwiseConv2d(img, tf.expandDims(w, 3) as tf.Tensor4D, 1, "same"); y.dataSync(); y.dispose(); });
    img.dispose();
    let t1 = NaN;
    for (const ratio of [1, 1 / 2, 1 / 4, 1 / 8]) {
      const set = ratio === 1 ? fullGrid(B, H, H) : uniformSubset(rng, B, H, H, { ratio });
      const t0 = process.hrtime.bigint();
      const km = KernelMap.build(set, k);
      const kmapMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const x = rng.normalTensor<tf.Rank.R3>([B, set.M, C]);
      const fwd = timeIt(reps, () => { const y = sparseDepthwiseConv(x, km, w, b); y.dataSync(); y.dispose(); });
      const fb = timeIt(reps, () => {
        const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(sparseDepthwiseConv(xx as tf.Tensor3D, km, ww as tf.Tensor3D, bb as tf.Tensor1D)))([x, w, b]);
        g.forEach((t) => t.dataSync()); tf.dispose(g);
      });
      if (ratio === 1) t1 = fb;
      rows.push({
        res: H, ratio: `1/${Math.round(1 / ratio)}`, M: set.M, kmapMs: +kmapMs.toFixed(1), fwdMs: +fwd.toFixed(1),
        fwdBwdMs: +fb.toFixed(1), speedup: +(t1 / fb).toFixed(2), denseFwdBwdMs: +dense.toFixed(1), denseFwdMs: +denseFwd.toFixed(1),
        vsDense: +(fb / dense).toFixed(2),
      });
      console.log(Object.values(rows[rows.length - 1]).join("\t"));
      x.dispose(); km.dispose();
    }
    tf.dispose([w, b]);
  }
  console.table(rows);
  const out = {
    what: "sparse depthwise conv k=7, C=64, B=8, forward+backward (tf.grads), min over reps; vsDense = sparse / dense tf.depthwiseConv2d fwd+bwd",
    targets: { speedupAtQuarter: 2.5, speedupAtEighth: 4, ratio1VsDenseMax: 1.5 },
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, backend: backend.name, loadavg1minAtStart: load0, loadavg1minAtEnd: os.loadavg()[0], note: "shared 2-core machine, other jobs running: timings noisy" },
    date: new Date().toISOString(), reps, rows,
  };
  fs.writeFileSync(path.join(__dirname, "..", "..", "bench", "sparse.json"), JSON.stringify(out, null, 2) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
