/**
 * Runs the CLI's `main` in this process (cwd `dir`), capturing stdout, stderr and the exit code: one process for
 * thousands of cases (the fuzz suite), where spawning node per case would take seconds each.
 */
import { main } from "../../src/cli/infty";

export interface CliResult { code: number; stdout: string; stderr: string }

export async function inProcess(args: string[], dir: string): Promise<CliResult> {
  const cwd = process.cwd();
  const err: string[] = [], out: string[] = [];
  const origErr = console.error, origLog = console.log, origWarn = console.warn;
  const origErrWrite = process.stderr.write.bind(process.stderr), origOutWrite = process.stdout.write.bind(process.stdout);
  console.error = (...a: unknown[]) => { err.push(a.map(String).join(" ") + "\n"); };
  console.warn = console.error;
  console.log = (...a: unknown[]) => { out.push(a.map(String).join(" ") + "\n"); };
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true; }) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
  // as the subprocess helper (helpers/cli.ts) runs it: on wasm unless the caller chose, so no backend notice varies by machine
  const backend = process.env.INFTY_BACKEND;
  process.env.INFTY_BACKEND ??= "wasm";
  process.chdir(dir);
  try {
    let code: number;
    try {
      code = await main(args);
    } catch (e) {
      // main never throws; if it does, that is a failure the caller sees as exit 1 with the stack
      err.push(String((e as Error)?.stack ?? e));
      code = 1;
    }
    return { code, stderr: err.join(""), stdout: out.join("") };
  } finally {
    process.chdir(cwd);
    if (backend === undefined) delete process.env.INFTY_BACKEND;
    console.error = origErr;
    console.warn = origWarn;
    console.log = origLog;
    process.stderr.write = origErrWrite;
    process.stdout.write = origOutWrite;
  }
}

/** stderr's lines, less the backend notice every command prints first. */
export const errorLines = (stderr: string): string[] =>
  stderr.split("\n").filter((l) => l.trim() && !l.startsWith("[infty] backend"));
