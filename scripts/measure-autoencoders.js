// The README's autoencoder, super-resolution and inpainting measurements: writes the records of the library's
// measureSuperRes / measureInpainting / measureSuperResFashionMnist (src/lib/experiments/measurements.ts). Usage:
//   node scripts/measure-autoencoders.js superres <checkpoint> <procedural|textures> <out.json> [n=16] [steps=25]
//       (+ out.png: input | bicubic | model (λ = 0) | truth at 4×, for 4 images)
//   node scripts/measure-autoencoders.js inpaint <checkpoint> <out.json> [n=100] [steps=25] [ts=350]
//   node scripts/measure-autoencoders.js superres-fmnist <checkpoint> <out.json> [n=100] [steps=25]
const fs = require("fs");
const path = require("path");
const L = require("infty-diff-lab");
const V = require("infty-diff-lab/viz");

const write = (file, obj) => { fs.mkdirSync(path.dirname(file), { recursive: true }); L.writeFileAtomic(file, JSON.stringify(obj, null, 2) + "\n"); console.log(JSON.stringify(obj.rows)); };
const opt = (v) => (v === undefined ? undefined : +v);

(async () => {
  const [what, ckpt, ...rest] = process.argv.slice(2);
  if (!["superres", "inpaint", "superres-fmnist"].includes(what) || !ckpt) {
    console.error("usage: measure-autoencoders.js superres|inpaint|superres-fmnist <checkpoint> …");
    process.exit(2);
  }
  await L.initBackend(process.env.INFTY_BACKEND || "wasm", { quiet: true });
  const g = L.loadGuidedModel(ckpt);
  if (what === "superres") {
    const [source, out, n, steps] = rest;
    const { record, picture } = await L.measureSuperRes(ckpt, g, source, { n: opt(n), steps: opt(steps) });
    write(out, record);
    L.writeFileAtomic(out.replace(/\.json$/, ".png"), V.encodePNG(V.imageGrid(V.sideBySide(picture), { cols: 4 })));
  } else if (what === "inpaint") {
    const [out, n, steps, ts] = rest;
    const bar = new L.Progress({ label: "inpaint", total: 3 * 2 * Math.ceil((opt(n) ?? 100) / 50), unit: "batch", everyMs: 5000 });
    write(out, await L.measureInpainting(ckpt, g, { n: opt(n), steps: opt(steps), ts: opt(ts), onBatch: () => bar.tick() }));
  } else {
    const [out, n, steps] = rest;
    write(out, await L.measureSuperResFashionMnist(ckpt, g, { n: opt(n), steps: opt(steps) }));
  }
  g.dispose();
})().catch((e) => { console.error(e.message); process.exit(1); });
