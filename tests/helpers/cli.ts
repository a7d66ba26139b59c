/** Runs the built CLI (dist/src/cli/infty.js) as a user would, on the wasm backend, and checks its error contract. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const CLI = path.resolve(__dirname, "..", "..", "src", "cli", "infty.js");

export function infty(args: string[], cwd: string, timeoutMs = 240000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, INFTY_BACKEND: "wasm" }, timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bad input: exit 2 and exactly one line on stderr (besides the backend notice), matching `pattern`, no stack. */
export function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("[infty] backend"));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "stack trace printed");
}
