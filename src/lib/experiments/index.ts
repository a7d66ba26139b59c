/** Rerunnable experiments: declarative specs, a resumable shardable runner, merging and rendering (docs/experiments.md). */
export * from "./spec";
export * from "./runner";
export * from "./merge";
export * from "./render";
export * from "./throughput";
export * from "./rerun";
export * from "./cross-resolution";
export * from "./paper-comparison";
export * from "./kinds";
