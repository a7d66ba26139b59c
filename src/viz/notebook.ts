/**
 * The few one-liners notebooks share (plain values only; tensor comparisons are the library's `maxAbsDiff`).
 * Notebooks print what a check measured; the assertions themselves live in tests/.
 */

/** Throws `check failed: what` unless `ok`: a notebook stops at the first number outside its stated range. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** A coordinate ratio as a label: 1 → "1", 0.25 → "1/4". */
export function ratioLabel(r: number): string {
  return r === 1 ? "1" : `1/${Math.round(1 / r)}`;
}
