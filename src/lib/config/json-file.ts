/**
 * Reading a JSON file a user names (configs, specs) from disk: Node only, beside the browser-safe parser json-text.ts.
 */
import * as fs from "fs";
import { parseJsonText } from "./json-text";

/** A file read for `what` could not be read (missing, no permission): one line naming it. */
export class FileReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FileReadError";
  }
}

/**
 * A JSON file a user names, read and parsed as `parseJsonText` does; `source` names it in parse errors (default
 * "<what> <file>"). Throws FileReadError ("cannot read <what> <file>: ENOENT") or JsonTextError.
 */
export function readJsonFile(file: string, what: string, source = `${what} ${file}`): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new FileReadError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseJsonText(text, source);
}
