/**
 * The library's browser entry point: what a web page can use (sampling at any resolution, DDIM/DDPM, inpainting,
 * super-resolution, the mollifier and noise fields, checkpoints from bytes), with no Node module reachable.
 *
 * Bundle it with the twins swapped in (web/build.js does, through esbuild): a module `X.ts` under src/lib that has a
 * sibling `X.browser.ts` is replaced by it — the backend picks WebGPU then wasm from the page's own folder
 * (runtime/backend), the lab's wasm kernels run on the page's thread (runtime/wasm-kernels/parallel). Everything else is the same code Node runs.
 */
export * from "./runtime/backend";
export * from "./runtime/rng";
export * from "./runtime/checkpoint-bytes";
export * from "./runtime/safetensors";
export * from "./config/config";
export * from "./config/grid";
export * from "./nn/network";
export * from "./diffusion/schedules";
export * from "./diffusion/mollifier";
export * from "./diffusion/forward";
export * from "./diffusion/samplers";
export * from "./pipelines/model";
export * from "./pipelines/sampling";
export * from "./pipelines/guidance";
export { inpaint, fillUnknown, guidedTimesteps, makeMask } from "./pipelines/inpaint";
export type { InpaintOptions, InpaintResult, GuidedModel, MaskKind } from "./pipelines/inpaint";
export { superResolve, resizeImages } from "./pipelines/superres";
export type { SuperResOptions, SuperResResult, UpsampleKind } from "./pipelines/superres";
export { areaResize } from "./data/image-ops";
export type { ImageSet } from "./data/image-ops";
export { registerWasmKernels } from "./runtime/wasm-kernels";

