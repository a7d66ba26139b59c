/**
 * The one adapter between views and tslab: `show(view)` displays a plotly figure, a vega-lite spec or an HTML view
 * as a `text/html` output. tslab is required lazily so the views stay importable (and testable) outside a kernel.
 */
import { bundleHTML, figureHTML, View } from "./html";

type Display = { html(s: string): void };

function tslabDisplay(): Display {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require("tslab") as { display: Display }).display;
  } catch (err) {
    throw new Error(`show() needs the tslab kernel (tslab not loadable: ${(err as Error).message})`);
  }
}

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
