/** Plain arrays for the notebooks' interactive figures: one module per figure, views in src/viz/interactive.ts. */
export * from "./forward-steps";
export * from "./sampler-steps";
export * from "./noise-steps";
export * from "./kernel-steps";
export * from "./subset-steps";
