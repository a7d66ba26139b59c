/**
 * The API reference (`npm run docs`, TypeDoc) builds offline with no warning: every exported symbol of the library
 * and of the viz entry point has a doc comment, and every {@link} resolves.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

describe("API reference (TypeDoc)", function () {
  this.timeout(180_000);
  it("builds from the doc comments without a warning (undocumented exports fail)", () => {
    const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "typedoc"), ["--emit", "none"], { cwd: ROOT, encoding: "utf8" });
    const out = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
    const warnings = out.split("\n").filter((l) => /\[(warning|error)\]/.test(l));
    assert.deepEqual(warnings, [], `typedoc reported:\n${warnings.join("\n")}`);
    assert.equal(r.status, 0, out);
  });
});
