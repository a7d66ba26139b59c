/**
 * A trained network from a decoded checkpoint: no files, so `loadModel(file)` (sample.ts) and a browser page that
 * fetched the checkpoint's bytes (runtime/checkpoint-bytes.ts) build the same model.
 */
import { Rng } from "../runtime/rng";
import { KernelResampling, LabConfig, resolveConfig, resolveStoredConfig } from "../config/config";
import { InftyDiffNetwork } from "../nn/network";
import type { Checkpoint } from "../runtime/checkpoint-bytes";

/** A checkpoint loaded for sampling: its config, network (EMA weights by default), step and metadata. */
export interface LoadedModel {
  cfg: LabConfig;
  net: InftyDiffNetwork;
  /** training step of the checkpoint */
  step: number;
  meta: Record<string, unknown>;
}

/** How a checkpoint is loaded: which weights, and the kernel rule at other resolutions. */
export interface ModelOptions {
  /** the EMA weights (default) or the raw ones */
  ema?: boolean;
  /** how kernels are resampled at other resolutions (a sampling-time choice: the weights are the same) */
  kernelResampling?: KernelResampling;
}

/** The checkpoint's EMA (default) or raw weights in a fresh network; `label` names the source in errors. */
export function modelFromCheckpoint(ck: Checkpoint, label: string, opts: ModelOptions = {}): LoadedModel {
  let cfg: LabConfig;
  try {
    cfg = resolveStoredConfig(ck.meta.config);
    if (opts.kernelResampling) cfg = resolveConfig({ ...cfg, model: { ...cfg.model, kernelResampling: opts.kernelResampling } });
  } catch (e) {
    throw new Error(`checkpoint ${label} has an invalid config: ${(e as Error).message}`);
  }
  const group = opts.ema === false ? "params" : "ema";
  if (!ck.groups[group]) throw new Error(`checkpoint ${label} has no '${group}' weights`);
  const net = new InftyDiffNetwork(cfg.model, new Rng(0));
  try {
    net.params.load(ck.groups[group]);
  } catch (e) {
    net.dispose();
    throw new Error(`checkpoint ${label} does not match its config: ${(e as Error).message}`);
  }
  return { cfg, net, step: Number(ck.meta.step ?? 0), meta: ck.meta };
}
