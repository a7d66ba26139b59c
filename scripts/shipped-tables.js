// docs/results.md's tables for the shipped Fashion-MNIST model, from the result files (src/release/shipped-report.ts):
// the quality curve, the quality bar at 28×28, resolution generalisation at matched n and steps, inpainting and
// super-resolution (with the replaced 2,500-step model's rows beside the new one's), the memorisation check, FID against
// DDIM steps (results/fig7-shipped, scripts/fig7-steps.sh). Prints
// them; with --write, replaces docs/results.md's marked blocks (<!-- table:NAME --> … <!-- /table -->).
// Usage: node scripts/shipped-tables.js [--write] [EVAL_DIR=data/checkpoints/fashion-mnist.eval]
const fs = require("fs");
const path = require("path");
const L = { ...require("infty-diff-lab"), ...require("infty-diff-lab/release") };

const args = process.argv.slice(2);
const write = args.includes("--write");
const evalDir = args.find((a) => a !== "--write") || L.dataPath("checkpoints", "fashion-mnist.eval");
try {
  const tables = L.shippedTables({ ...L.shippedSources(), evalDir });
  if (write) {
    const readme = path.join(L.projectRoot(), "docs", "results.md");
    L.writeFileAtomic(readme, L.replaceMarkedBlocks(fs.readFileSync(readme, "utf8"), tables));
    console.log(`rewrote the marked tables in ${readme}: ${Object.keys(L.markedBlocks(fs.readFileSync(readme, "utf8"))).join(", ")}`);
  } else {
    for (const [name, md] of Object.entries(tables)) console.log(`<!-- table:${name} -->\n${md}\n<!-- /table -->\n`);
  }
} catch (e) {
  console.error(`shipped-tables: ${e.message}`);
  process.exit(1);
}
