/**
 * Benchmark (not a test) of the `authors` architecture at the peer bench's size (1,572,882 parameters with their
 * fixed normalising conv) beside the lab's own network (default config, 1.80 M), in the same process so both see the
 * same machine load: one DDIM step (a full-grid forward) at 28 and 56 px (batch 16) and 112 px (batch 4: batch 16
 * exhausts the wasm heap for either network in one fresh process), and one training step (forward + backward + Adam +
 * EMA, batch 32, ratio 1/4, one thread). The authors' PyTorch times (../shared/peer-bench/README.md, batch 16 at
 * every size) are listed for reference. Medians of `reps` after a warm-up; the load average is recorded.
 *
 *   npm run bench:authors                 # wasm (or INFTY_BACKEND), writes bench/authors.json
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, tf, authorsConfig, resolveConfig, Trainer, GridDenoiser, loadFashionMnist } from "infty-diff-lab";

const argv = process.argv.slice(2);
const reps = (() => {
  const i = argv.indexOf("--reps");
  return i >= 0 ? Number(argv[i + 1]) : 3;
})();
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The authors' PyTorch code, torch_dense backend, 2 threads, fp32 (peer bench), ms. */
const REFERENCE: Record<string, number> = { "ddim 28": 141, "ddim 56": 418, "ddim 112": 1874, "train 0.25": 684 };

const PEER = {
  data: { img_size: 28, channels: 1 },
  model: {
    nf: 32, time_emb_dim: 128, num_conv_blocks: 3, knn_neighbours: 3, kernel_size: 7, uno_res: 16, uno_base_channels: 32,
    uno_mults: [1, 2, 2], uno_blocks_per_level: [2, 2, 2], uno_attn_resolutions: [4], uno_dropout_from_resolution: 16, uno_dropout: 0.1,
  },
};

async function main(): Promise<void> {
  const backend = await initBackend(process.env.INFTY_BACKEND ?? "wasm");
  const configs = { authors: authorsConfig(PEER), lab: resolveConfig({}) };
  const rows: Array<{ what: string; arch: string; wallMs: number; allWallMs: number[]; referenceMs: number; load: number[] }> = [];
  const time = async (what: string, arch: string, key: string, f: () => Promise<void> | void) => {
    await f();
    const wall: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await f();
      wall.push(performance.now() - t0);
    }
    const m = Math.round(median(wall));
    rows.push({ what, arch, wallMs: m, allWallMs: wall.map(Math.round), referenceMs: REFERENCE[key], load: os.loadavg().map((x) => Number(x.toFixed(2))) });
    console.error(`${arch} ${what}: ${m} ms (authors' PyTorch ${REFERENCE[key]} ms${key.endsWith("112") ? " at batch 16" : ""})`);
  };
  const data = loadFashionMnist({ split: "train-fit", limit: 256 });
  for (const [r, B] of [[28, 16], [56, 16], [112, 4]]) {
    for (const [arch, base] of Object.entries(configs)) {
      const tr = new Trainer(base, data);
      const den = new GridDenoiser(tr.net);
      const x = tf.randomNormal([B, r, r, 1], 0, 1, "float32", 1) as tf.Tensor4D, t = tf.fill([B], 500, "int32") as tf.Tensor1D;
      try {
        await time(`DDIM step (full-grid forward), batch ${B}, ${r}×${r}`, arch, `ddim ${r}`, async () => {
          const y = den.denoise(x, t) as tf.Tensor;
          await y.data();
          y.dispose();
        });
      } finally {
        tf.dispose([x, t]);
        den.dispose();
        tr.dispose();
      }
    }
  }
  for (const [arch, base] of Object.entries(configs)) {
    const tr = new Trainer(resolveConfig({ ...base, train: { ...base.train, coordRatio: 0.25 } }), data);
    try {
      await time("train step, batch 32, ratio 0.25", arch, "train 0.25", () => tr.trainStepAsync().then(() => undefined));
    } finally {
      tr.dispose();
    }
  }
  const out = {
    date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length }, backend: backend.name,
    configs: { authors: "the peer bench's SparseUNet, model.arch \"authors\" (1,572,833 learned parameters)", lab: "resolveConfig({}) (1.80 M)" },
    reps, rows, note: "noisy: a 2-core machine shared with other jobs (see load); reference: ../shared/peer-bench (torch 1.13, 2 threads, batch 16)",
  };
  fs.writeFileSync(path.join(__dirname, "..", "..", "bench", "authors.json"), JSON.stringify(out, null, 2) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
