/** Datasets: Fashion-MNIST, texture crops, procedural analytic images; exact image operations they share. */
export * from "./paths";
export * from "./image-ops";
export * from "./fashion-mnist";
export * from "./textures";
export * from "./procedural";
export * from "./datasets";
