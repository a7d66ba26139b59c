/**
 * The one way the lab reads a JSON file a user wrote (configs, specs): a UTF-8 byte-order mark (Windows editors
 * write one) is skipped, a `__proto__` key is refused as the unknown key it is (JSON.parse makes it an own key that a
 * schema walking `in` would silently ignore), and every parse error is one line. No Node modules: the browser
 * bundle parses configs too; reading a file is json-file.ts.
 */
export class JsonTextError extends Error {
  /** the parser's own words, for callers that phrase the message themselves */
  constructor(message: string, readonly detail?: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let where = "";
  try {
    return JSON.parse(body, function (key, value) {
      if (key === "__proto__") {
        where = key;
        throw new Error("prototype key");
      }
      return value;
    });
  } catch (e) {
    if (where) throw new JsonTextError(`${source}: unknown key '__proto__' (not a setting)`);
    const detail = (e as Error).message.replace(/\s+/g, " ").slice(0, 200);
    throw new JsonTextError(`${source}: not valid JSON (${detail})`, detail);
  }
}
