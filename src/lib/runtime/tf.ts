/**
 * The TensorFlow.js namespace and kernel lookups on their own: backend.ts re-exports them, and the kernel modules
 * backend.ts loads lazily (webgpu-kernels/, native/, and what they import) import them from here, so no module imports
 * the one that loads it (no import cycle; dependency-cruiser checks it).
 */
import * as tf from "@tensorflow/tfjs";

export { tf };

/** A backend that cannot be used as asked (unknown name, no adapter, missing kernel): the user's to fix, one line. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

/** Throws a one-line error when `kernelName` has no implementation on the current backend. */
export function requireKernel(kernelName: string): void {
  const be = tf.getBackend();
  if (tf.getKernel(kernelName, be) == null) {
    throw new BackendError(`kernel ${kernelName} is not implemented on the '${be}' backend (the lab has it on wasm, cpu and webgpu)`);
  }
}
