/**
 * Running a piece of work on another tensor backend and switching back — shared by backend.ts and its browser twin
 * (backend.browser.ts), which differ only in how a backend is initialised.
 */

/**
 * Switches to `name` for the duration of `fn`, then back to `before` (tests: a reference on cpu).
 * @param init the module's `initBackend`
 * @param before the backend chosen before the switch, or null when none was
 */
export async function runOnBackend<N extends string, T>(
  init: (name: N, opts: { quiet?: boolean }) => Promise<unknown>,
  before: { name: N } | null,
  name: N,
  fn: () => Promise<T> | T,
): Promise<T> {
  await init(name, { quiet: true });
  try {
    return await fn();
  } finally {
    if (before) await init(before.name, { quiet: true });
  }
}
