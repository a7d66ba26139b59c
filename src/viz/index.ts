/**
 * ∞-Diff lab views. Import as `infty-diff-lab/viz` (kept out of the library index so the library does not load
 * plotting code). Views are pure functions from plain arrays to figure specs; `show()` is the tslab adapter.
 */
export * from "./png";
export * from "./plotly";
export * from "./stepper";
export * from "./interactive";
export * from "./fields";
export * from "./vega";
export * from "./tables";
export * from "./html";
export * from "./show";
export * from "./notebook";
