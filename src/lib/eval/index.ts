/** Evaluation: the lab's feature network and FID/KID on its features. */
export * from "./linalg";
export * from "./feature-net";
export * from "./train-feature-net";
export * from "./metrics";
export * from "./image-metrics";
export * from "./quality-curve";
export * from "./steps-curve";
export * from "./eval-records";
export * from "./memorisation";
export * from "./statistics";
