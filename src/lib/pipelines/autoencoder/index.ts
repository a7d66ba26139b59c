/** The diffusion autoencoder (∞-Diff §5; Preechakul et al. 2022): encoder, latent model, joint trainer. */
export * from "./encoder";
export * from "./latent";
export * from "./config";
export * from "./model";
export * from "./trainer";
export * from "./io";
export * from "./sampling";
