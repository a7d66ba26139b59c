/** The diffusion autoencoder's settings, declared once (zod, config/schema.ts), and how checkpoints record them. */
import { deepFreeze, int, num, obj, oneOf, parseWith, z } from "../../config/schema";
import { LATENT_TARGETS } from "./latent";

const AUTOENCODER_SCHEMA = obj({
  /** latent size */
  zDim: int(1),
  /** sparse blocks in the encoder (default: model.sparseBlocks) */
  encoderBlocks: int(0),
  /** KL weight; 0 = deterministic encoder */
  klWeight: num(0),
  /** fraction of pixels the encoder sees per image during training */
  encoderRatio: num(0, 1, { minExclusive: true }),
  latentWidth: int(1),
  latentDepth: int(0),
  /** what the latent model predicts: "v" (default) or "eps" (checkpoints from before the choice existed) */
  latentTarget: oneOf(LATENT_TARGETS),
});

/** The autoencoder's settings (declared once, AUTOENCODER_SCHEMA). */
export type AutoencoderConfig = z.infer<typeof AUTOENCODER_SCHEMA>;

/** The settings the shipped autoencoders were trained with. */
export const DEFAULT_AUTOENCODER: Readonly<AutoencoderConfig> = Object.freeze({
  zDim: 64, encoderBlocks: 1, klWeight: 0, encoderRatio: 0.5, latentWidth: 256, latentDepth: 4, latentTarget: "v",
});


/** Defaults filled in, unknown keys and out-of-range values rejected (one line naming the key; schema.ts). */
export function resolveAutoencoderConfig(raw: unknown = {}): AutoencoderConfig {
  return deepFreeze(parseWith(AUTOENCODER_SCHEMA, raw, "autoencoder", { defaults: DEFAULT_AUTOENCODER }));
}

/** The autoencoder config stored in a checkpoint's meta; those written before `latentTarget` existed trained ε. */
export function autoencoderConfigOf(meta: Record<string, unknown>): AutoencoderConfig {
  return resolveAutoencoderConfig({ latentTarget: "eps", ...(meta.autoencoder as Record<string, unknown>) });
}
