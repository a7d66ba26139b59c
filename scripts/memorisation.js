// Does the model copy its training images? (src/lib/eval/memorisation.ts) n samples at the training resolution,
// each one's nearest training image (train-fit, the images it was trained on) against held-out images' nearest.
// Writes the report as JSON and, beside it (.png), the k samples nearest to a training image next to that image.
// Usage: node scripts/memorisation.js <checkpoint> <out.json> [n=1000] [steps=25]
const fs = require("fs");
const path = require("path");
const L = require("infty-diff-lab");
const V = require("infty-diff-lab/viz");

(async () => {
  const [ckpt, out, n = "1000", steps = "25"] = process.argv.slice(2);
  if (!ckpt || !out) { console.error("usage: memorisation.js <checkpoint> <out.json> [n] [steps]"); process.exit(2); }
  await L.initBackend(process.env.INFTY_BACKEND || "wasm", { quiet: true });
  const model = L.loadModel(ckpt);
  const r = model.cfg.model.resolution, t0 = Date.now();
  const { x0 } = await L.sampleModel(model.net, model.cfg, { resolution: r, n: +n, steps: +steps, seed: 0, progress: false });
  model.net.dispose();
  const train = L.loadFashionMnist({ split: "train-fit" });
  const holdout = L.loadFashionMnist({ split: "holdout", limit: +n });
  const report = await L.memorisationCheck(x0, train, holdout, 8);
  const record = { checkpoint: ckpt, step: model.step, resolution: r, steps: +steps, seed: 0, backend: L.tf.getBackend(),
    train: "train-fit (the images the model was trained on)", holdout: "holdout (never trained on)", seconds: (Date.now() - t0) / 1000, ...report };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  L.writeFileAtomic(out, JSON.stringify(record, null, 2) + "\n");
  // pairs, nearest first: a sample, then the training image nearest to it
  const per = r * r, k = report.closest.length;
  const pick = (set, idx) => ({ images: Float32Array.from(idx.flatMap((i) => Array.from(set.images.subarray(i * per, (i + 1) * per)))), shape: [idx.length, r, r, 1] });
  const pair = V.sideBySide([pick(x0, report.closest.map((c) => c.sample)), pick(train, report.closest.map((c) => c.train))]);
  L.writeFileAtomic(out.replace(/\.json$/, ".png"), V.encodePNG(V.imageGrid(pair, { cols: 8 })));
  const { closest, ...summary } = record;
  console.log(JSON.stringify(summary));
})().catch((e) => { console.error(`memorisation: ${e.message}`); process.exit(1); });
