// Makes the lab importable by its own package name (node_modules/infty-diff-lab -> project root),
// so tests, the CLI and tslab notebooks all import it exactly as a user's project would.
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
const name = require(path.join(root, "package.json")).name;
const link = path.join(root, "node_modules", name);
try {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  try { fs.unlinkSync(link); } catch (_) { /* absent */ }
  fs.symlinkSync(path.relative(path.dirname(link), root) || ".", link, "dir");
} catch (err) {
  console.error(`link-self: could not link ${link}: ${err.message}`);
  process.exit(1);
}
