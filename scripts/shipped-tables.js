// The README's tables for the shipped Fashion-MNIST model, printed from the result files (src/lib/eval/shipped-report.ts):
// the quality curve, the quality bar at 28×28, resolution generalisation at matched n and steps, inpainting and
// super-resolution (the shipped model's rows, then the autoencoder's). Paste the blocks into the README.
// Usage: node scripts/shipped-tables.js [EVAL_DIR=data/checkpoints/fashion-mnist.eval]
const path = require("path");
const fs = require("fs");
const L = require("infty-diff-lab");

const dir = process.argv[2] || L.dataPath("checkpoints", "fashion-mnist.eval");
const ae = L.dataPath("checkpoints", "ae-fashion-mnist.eval");
const read = (f) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : null);
const block = (title, md) => console.log(`### ${title}\n\n${md}\n`);
try {
  block("quality curve", L.qualityCurveMarkdown(L.readQualityCurve(L.dataPath("checkpoints", "fashion-mnist.curve"))));
  const recs = L.readEvalDir(dir);
  block("quality bar", L.qualityBarMarkdown(recs, 1000));
  block("resolution generalisation", L.resolutionMarkdown(L.resolutionRows(recs)));
  const inpaint = [read(path.join(dir, "inpaint-fid.json")), read(path.join(ae, "inpaint-fid.json"))];
  if (inpaint[0]) {
    block("inpainting", [L.INPAINT_HEADER, ...L.inpaintMarkdownRows(inpaint[0], "shipped ∞-Diff"),
      ...(inpaint[1] ? L.inpaintMarkdownRows(inpaint[1], "autoencoder") : [])].join("\n"));
  }
  const sr = [read(path.join(dir, "superres.json")), read(path.join(ae, "superres.json"))];
  if (sr[0]) {
    block("super-resolution", [L.SUPERRES_HEADER, ...L.superResMarkdownRows(sr[0], "shipped ∞-Diff", "∞-Diff"),
      ...(sr[1] ? L.superResMarkdownRows(sr[1], "autoencoder", "∞-Diff AE") : [])].join("\n"));
  }
} catch (e) {
  console.error(`shipped-tables: ${e.message}`);
  process.exit(1);
}
