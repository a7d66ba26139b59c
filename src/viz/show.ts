/**
 * The one adapter between views and tslab: `show(view)` displays a plotly figure, a vega-lite spec or an HTML view
 * as a `text/html` output. tslab is required lazily so the views stay importable (and testable) outside a kernel.
 */
import { bundleHTML, figureHTML, View } from "./html";

type Display = { html(s: string): void };
type Tslab = { display: Display; newDisplay(): Display };

function tslab(): Tslab {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require("tslab") as Tslab;
  } catch (err) {
    throw new Error(`show() needs the tslab kernel (tslab not loadable: ${(err as Error).message})`);
  }
}
const tslabDisplay = (): Display => tslab().display;

/** Displays a view in the notebook. */
export function show(view: View): void {
  tslabDisplay().html(figureHTML(view));
}

/** Displays the offline figure bundle; the first cell of every notebook calls this. */
export function showBundle(): void {
  tslabDisplay().html(bundleHTML());
}

/** Displays raw HTML (captions, small notes). */
export function showHTML(html: string): void {
  tslabDisplay().html(html);
}

/** A view that can be redrawn in place (a table filling in as runs finish): `showLive(v).update(v2)`. */
export function showLive(view: View): {
  /** redraws the display with another view */
  update(view: View): void;
} {
  const d = tslab().newDisplay();
  d.html(figureHTML(view));
  return { update: (v: View) => d.html(figureHTML(v)) };
}
