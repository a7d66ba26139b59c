/**
 * ∞-Diff lab — the library's public surface. See docs/API.md for names, tensor shapes and value ranges.
 * Import it by package name: `import * as infty from "infty-diff-lab"`.
 */
export * from "./backend";
export { wasmThreads, defaultWasmThreads } from "./wasm-threads";
export * from "./rng";
export * from "./nn/params";
export * from "./nn/layers";
export * from "./nn/unet";
export * from "./typed-kernels";
export * from "./point-table";
export * from "./coordinates";
export * from "./kernel-map";
export * from "./sparse-conv";
export * from "./kernel-resample";
export * from "./interpolation";
export * from "./config";
export * from "./wasm-kernels";
export * from "./nn/network";
export * from "./nn/fused-norm";
export * from "./nn/lean-ops";
export * from "./resampled-depthwise";
export * from "./schedules";
export * from "./mollifier";
export * from "./forward";
export * from "./posterior";
export * from "./parameterisations";
export * from "./samplers";
export * from "./optim";
export * from "./checkpoint";
export * from "./progress";
export * from "./train";
export * from "./parallel";
export * from "./data";
export * from "./eval";
export * from "./sample";
export * from "./npy";
export * from "./mc-integration";
export * from "./discretisation-invariance";
export * from "./export";
export * from "./experiments";
export * from "./guidance";
export * from "./inpaint";
export * from "./superres";
export * from "./autoencoder";
