/**
 * Locating the lab's committed data. Code runs from src/ (ts-node, tslab) and from dist/src/ (compiled), so the
 * project root is found by walking up to package.json rather than by a fixed number of `..`.
 */
import * as fs from "fs";
import * as path from "path";

let root: string | null = null;

/** The directory holding the lab's package.json (INFTY_ROOT overrides). */
export function projectRoot(): string {
  if (root) return root;
  if (process.env.INFTY_ROOT) return (root = path.resolve(process.env.INFTY_ROOT));
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, "utf8")).name === "infty-diff-lab") return (root = dir);
      } catch {
        /* unreadable package.json: keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the infty-diff-lab package root above ${__dirname}`);
    dir = up;
  }
}

/** Path of a file under the committed data/ directory. */
export function dataPath(...parts: string[]): string {
  return path.join(projectRoot(), "data", ...parts);
}
