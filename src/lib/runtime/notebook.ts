/**
 * Where the lab's own output goes when it runs inside a tslab notebook kernel: notes on stdout (a notebook shows
 * stderr as red error boxes), progress as one display that updates in place. Outside a kernel (CLI, tests) nothing
 * here is used. tslab is required lazily so the library never depends on it.
 */

/** A display entry that can be rewritten in place (tslab's `newDisplay()`). */
export interface LiveDisplay {
  /** Replaces the entry with HTML. */
  html(s: string): void;
  /** Replaces the entry with plain text. */
  text(s: string): void;
}

type TslabModule = { newDisplay(): LiveDisplay };

/** True when this process is a tslab kernel (its Jupyter module is loaded), i.e. code runs in a notebook cell. */
export function inNotebook(): boolean {
  if (process.env.INFTY_NOTEBOOK === "0") return false;
  return Object.keys(require.cache).some((k) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(k));
}

/** A new updatable display in the current cell, or null outside a notebook. */
export function liveDisplay(): LiveDisplay | null {
  if (!inNotebook()) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require("tslab") as TslabModule).newDisplay();
  } catch {
    return null;
  }
}

/** A one-line note for the user: stdout in a notebook, stderr elsewhere (where stdout may carry data). */
export function note(line: string): void {
  if (inNotebook()) process.stdout.write(line + "\n");
  else process.stderr.write(line + "\n");
}
