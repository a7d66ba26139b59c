/** Autoencoder checkpoints as models: for sampling, and for guided use (inpainting, super-resolution). */
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { LabConfig, resolveStoredConfig } from "../../config/config";
import { loadCheckpoint } from "../../runtime/checkpoint";
import { loadModel } from "../sample";
import type { GuidedModel } from "../inpaint";
import { AutoencoderConfig, autoencoderConfigOf } from "./config";
import { DiffusionAutoencoder } from "./model";

/** Loads an autoencoder checkpoint into a fresh model (weights as trained). */
export function loadAutoencoder(file: string): { cfg: LabConfig; ae: AutoencoderConfig; model: DiffusionAutoencoder; step: number } {
  const ck = loadCheckpoint(file);
  if (ck.meta.kind !== "infty-diff-autoencoder") throw new Error(`${file} is not an autoencoder checkpoint`);
  const cfg = resolveStoredConfig(ck.meta.config), ae = autoencoderConfigOf(ck.meta);
  const model = new DiffusionAutoencoder(cfg, ae, new Rng(0));
  try {
    model.net.params.load(ck.groups.params);
    model.encoder.params.load(ck.groups.encoder);
    model.latent.params.load(ck.groups.latent);
  } catch (e) {
    model.dispose();
    throw new Error(`checkpoint ${file} does not match its config: ${(e as Error).message}`);
  }
  return { cfg, ae, model, step: Number(ck.meta.step ?? 0) };
}

/**
 * A checkpoint ready for guided use (inpaint, superResolve): an unconditional model, or an autoencoder whose
 * `encode(x) → cond` (the decoder's conditioning from images x [B,H,W,C]) the caller passes along as `cond`.
 */
export function loadGuidedModel(file: string): {
  cfg: LabConfig; model: GuidedModel; step: number;
  /** an autoencoder's z of images [B, H, W, C] → [B, zDim]; absent for a plain model */
  encode?: (x: tf.Tensor4D) => tf.Tensor2D;
  /** frees the model */
  dispose(): void;
} {
  if (loadCheckpoint(file).meta.kind === "infty-diff-autoencoder") {
    const ae = loadAutoencoder(file);
    return {
      cfg: ae.cfg, model: { net: ae.model.net, cfg: ae.cfg }, step: ae.step,
      encode: (x) => tf.tidy(() => ae.model.condition(ae.model.encode(x))),
      dispose: () => ae.model.dispose(),
    };
  }
  const m = loadModel(file);
  return { cfg: m.cfg, model: { net: m.net, cfg: m.cfg }, step: m.step, dispose: () => m.net.dispose() };
}
