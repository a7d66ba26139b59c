/**
 * tslab compiles with its own TypeScript 5.0.4 and settings (target ES2022, lib es2022, module ESNext, node10
 * resolution, esModuleInterop, strict off): the library must be acceptable to that compiler, not only to ours.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? tsFiles(p) : d.name.endsWith(".ts") && !d.name.endsWith(".d.ts") ? [p] : [];
  });
}

describe("src/ type-checks with tslab's compiler", function () {
  this.timeout(180000);
  it("typescript-for-tslab (5.0.4) accepts every file under src/ with tslab's settings", () => {
    const tsc = path.join(ROOT, "node_modules", "@tslab", "typescript-for-tslab", "bin", "tsc");
    const version = spawnSync(process.execPath, [tsc, "--version"], { encoding: "utf8" }).stdout.trim();
    assert.equal(version, "Version 5.0.4");
    const files = tsFiles(path.join(ROOT, "src"));
    assert.ok(files.length > 5, `found ${files.length} files`);
    const res = spawnSync(process.execPath, [tsc, "--noEmit", "--target", "ES2022", "--lib", "es2022", "--module", "esnext",
      "--moduleResolution", "node10", "--esModuleInterop", "--skipLibCheck", "--resolveJsonModule", "--experimentalDecorators",
      ...files], { cwd: ROOT, encoding: "utf8" });
    assert.equal(res.status, 0, `tslab's tsc rejected src/:\n${(res.stdout + res.stderr).slice(0, 4000)}`);
  });
});
