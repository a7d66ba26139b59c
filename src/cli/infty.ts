#!/usr/bin/env node
/**
 * `infty <command> [options]` — the lab's command line. Each command lives in src/cli/commands/ and is listed in
 * COMMANDS. Bad input prints one line and exits 2; unexpected failures print one line (stack with INFTY_DEBUG=1).
 */
import { Command } from "./command";
import { UsageError } from "./errors";
import { COMMANDS } from "./commands";
import { diskError, DiskWriteError } from "../lib/runtime/atomic-write";

const USER_ERRORS = new Set(["ConfigError", "CheckpointError", "DiskWriteError", "AuthorsImportError", "BackendError"]);
/** errno codes a user fixes (space, permissions, a mistyped path); any write that still reports one raw gets one line, exit 2 */
const USER_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR"]);

function mainHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(16)}${c.summary}`).join("\n");
  return `usage: infty <command> [options]\n\ncommands:\n${rows}\n\n'infty <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  const cmd: Command | undefined = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`infty: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    const e = code && USER_ERRNOS.has(code) && !(err instanceof DiskWriteError) ? diskError(err, (err as NodeJS.ErrnoException).path ?? "a file") : err as Error;
    // bad input named by the library's own error types is the user's to fix: one line, exit 2
    if (e instanceof UsageError || (e && USER_ERRORS.has(e.name))) {
      // one line whatever the message quotes (a file's text, a path with a newline in it)
      console.error(`infty ${name}: ${e.message.replace(/\s*[\r\n]+\s*/g, " ")}`);
      return 2;
    }
    console.error(`infty ${name}: ${e && e.message ? e.message.split("\n")[0] : String(err)}`);
    if (process.env.INFTY_DEBUG) console.error(e.stack);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { console.error(`infty: ${(err as Error).message}`); process.exitCode = 1; },
  );
}
