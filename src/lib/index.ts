/**
 * ∞-Diff lab — the library's public surface. See docs/API.md for names, tensor shapes and value ranges.
 * Import it by package name: `import * as infty from "infty-diff-lab"`.
 */
export * from "./backend";
export * from "./rng";
export * from "./nn/params";
export * from "./schedules";
export * from "./mollifier";
export * from "./wasm-kernels";
export * from "./data";
export * from "./eval";
