// Issue-6 measurements on trained checkpoints (glue over the library; every number comes from scoreSuperRes /
// scoreInpainting). Usage:
//   node scripts/measure-autoencoders.js superres <checkpoint> <procedural|textures> <out.json> [n=16] [steps=25]
//       held-out images at the model's resolution r, super-resolved 2× and 4×, PSNR + feature distance vs the exact
//       ground truth, bicubic beside, model with λ = 0.5 and λ = 0; a picture (4 images: input | bicubic | model
//       (λ = 0) | truth at 4×) next to out.json
//   node scripts/measure-autoencoders.js inpaint <checkpoint> <out.json> [n=100] [steps=25] [ts=350]
//       Fashion-MNIST test images 5000…, 3 masks × (mean-filled input, unguided, guided λ = 0.5), FID/KID of the
//       completed images vs the first 1000 test images
//   node scripts/measure-autoencoders.js superres-fmnist <checkpoint> <out.json> [n=100] [steps=25]
//       Fashion-MNIST test images area-downsampled to 14 and 7, super-resolved to 28 (the truth)
// <checkpoint> is unconditional or an autoencoder (then z of each input conditions the decoder).
const fs = require("fs");
const path = require("path");
const L = require("infty-diff-lab");
const V = require("infty-diff-lab/viz");

const bar = (label, total) => new L.Progress({ label, total, unit: "batch", everyMs: 5000 });
const write = (file, obj) => { fs.mkdirSync(path.dirname(file), { recursive: true }); L.writeFileAtomic(file, JSON.stringify(obj, null, 2) + "\n"); console.log(JSON.stringify(obj.rows ?? obj)); };

(async () => {
  const [what, ckpt, ...rest] = process.argv.slice(2);
  await L.initBackend(process.env.INFTY_BACKEND || "wasm", { quiet: true });
  const g = L.loadGuidedModel(ckpt);
  const meta = { checkpoint: ckpt, step: g.step, autoencoder: !!g.encode, backend: L.tf.getBackend(), at: new Date().toISOString() };
  const t0 = Date.now();
  if (what === "superres") {
    const [source, out, n = "16", steps = "25"] = rest;
    const r = g.cfg.model.resolution;
    const truth = L.superResGroundTruth(source, +n, r, [2, 4], 777);
    const pics = {}, rows = [];
    // guidance on the low-resolution image (λ = 0.5) and none (λ = 0: DDIM encoding + decoding + projection only)
    for (const lambda of [0.5, 0]) {
      const part = await L.scoreSuperRes(g.model, truth, { steps: +steps, tEncode: 300, lambda, encode: g.encode, onResult: (s, o) => { if (lambda === 0) pics[s] = o; } });
      rows.push(...part.filter((row) => lambda === 0.5 || row.method === "model").map((row) => ({ ...row, lambda: row.method === "model" ? lambda : null })));
    }
    write(out, { ...meta, source, n: +n, resolution: r, steps: +steps, tEncode: 300, heldOutSeed: 777, picture: "λ = 0", seconds: (Date.now() - t0) / 1000, rows });
    const k = Math.min(4, +n), R = 4 * r, per = R * R, cells = new Float32Array(4 * k * per);
    const low = L.resizeImages(truth.low, R, R, "nearest"), hi = truth.high.get(4);
    for (let i = 0; i < k; i++) {
      [low.images, pics[4].upsampled.images, pics[4].x0.images, hi.images].forEach((src, j) => cells.set(src.subarray(i * per, (i + 1) * per), (i * 4 + j) * per));
    }
    L.writeFileAtomic(out.replace(/\.json$/, ".png"), V.encodePNG(V.imageGrid({ data: cells, shape: [4 * k, R, R, 1] }, { cols: 4 })));
  } else if (what === "inpaint") {
    const [out, n = "100", steps = "25", ts = "350"] = rest;
    const images = L.loadFashionMnist({ split: "test", offset: 5000, limit: +n });
    const reference = L.loadFashionMnist({ split: "test", limit: 1000 });
    const b = bar("inpaint", 3 * 2 * Math.ceil(+n / 50));
    const rows = await L.scoreInpainting(g.model, images, reference, { steps: +steps, ts: +ts, lambda: 0.5, batch: 50, seed: 1, encode: g.encode, onBatch: () => b.tick() });
    write(out, { ...meta, n: +n, steps: +steps, ts: +ts, lambda: 0.5, reference: "first 1000 test images", inputs: "test images 5000…", seconds: (Date.now() - t0) / 1000, rows });
  } else if (what === "superres-fmnist") {
    const [out, n = "100", steps = "25"] = rest;
    const truth = L.loadFashionMnist({ split: "test", offset: 100, limit: +n });
    const rows = [];
    for (const s of [2, 4]) {
      const low = L.areaResize(truth, 28 / s, 28 / s);
      // the model runs at any resolution: the 14×14 (7×7) input is encoded and decoded at 28×28
      for (const lambda of [0.5, 0]) {
        const part = await L.scoreSuperRes(g.model, { source: "fashion-mnist", low, high: new Map([[s, truth]]) }, { steps: +steps, tEncode: 300, lambda, encode: g.encode });
        rows.push(...part.filter((row) => lambda === 0.5 || row.method === "model").map((row) => ({ ...row, lambda: row.method === "model" ? lambda : null })));
      }
    }
    write(out, { ...meta, n: +n, steps: +steps, tEncode: 300, inputs: "test images 100…, area-downsampled", seconds: (Date.now() - t0) / 1000, rows });
  } else {
    console.error("usage: measure-autoencoders.js superres|inpaint|superres-fmnist <checkpoint> …");
    process.exit(2);
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
