// Writes a shipped model's card (src/release/model-card.ts) from the checkpoint's record and its result files.
// Usage: node scripts/model-card.js [CKPT=data/checkpoints/fashion-mnist.ckpt] [OUT=docs/model-card.md]
//   EVAL=dir (default: CKPT with .eval for .ckpt) CURVE=dir (default data/checkpoints/fashion-mnist.curve)
const fs = require("fs");
const L = { ...require("infty-diff-lab"), ...require("infty-diff-lab/release") };

const checkpoint = process.argv[2] || "data/checkpoints/fashion-mnist.ckpt";
const out = process.argv[3] || "docs/model-card.md";
try {
  const md = L.modelCardMarkdown({
    root: L.projectRoot(), checkpoint,
    evalDir: process.env.EVAL || checkpoint.replace(/\.ckpt$/, ".eval"),
    curveDir: process.env.CURVE || "data/checkpoints/fashion-mnist.curve",
  });
  L.writeFileAtomic(out, md);
  console.log(`wrote ${out}`);
} catch (e) {
  console.error(`model-card: ${e.message}`);
  process.exit(1);
}
