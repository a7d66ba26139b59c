/**
 * Release tooling (package subpath `infty-diff-lab/release`): the results page's tables and the model card, written
 * from result files by scripts/shipped-tables.js and scripts/model-card.js. Not part of the library: src/lib never
 * imports it (dependency-cruiser, .dependency-cruiser.cjs).
 */
export * from "./shipped-report";
export * from "./model-card";
