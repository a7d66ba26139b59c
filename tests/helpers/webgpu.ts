/**
 * Shared set-up of the webgpu tests: SwiftShader when no Vulkan driver was chosen (CI has no GPU; Debian's chromium
 * ships it), the webgpu backend forced, and cpu references computed from the same plain arrays (tensors are never
 * moved between backends: moving data off webgpu would need a synchronous read, which Node lacks).
 */
import { initBackend, tf, useSwiftShader, withBackend, BackendInfo, maxRelDiff } from "infty-diff-lab";

/** Forces webgpu (SwiftShader unless VK_ICD_FILENAMES names another driver); skips only when no adapter exists. */
export async function webgpuOrSkip(ctx: Mocha.Context): Promise<BackendInfo> {
  if (!process.env.VK_ICD_FILENAMES) useSwiftShader();
  try {
    return await initBackend("webgpu", { quiet: true });
  } catch (err) {
    const msg = (err as Error).message;
    if (/no WebGPU adapter|not installed/.test(msg)) {
      console.log(`      skipped: ${msg}`);
      ctx.skip();
    }
    throw err;
  }
}

/** Runs `fn` (which builds its tensors from plain arrays) on cpu and on webgpu; returns both outputs' values. */
export async function onCpuAndWebgpu(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; gpu: Float32Array[] }> {
  const run = async () => {
    const outs = tf.tidy(() => {
      const o = fn();
      return Array.isArray(o) ? o : [o];
    });
    const vals: Float32Array[] = [];
    for (const t of outs) vals.push(Float32Array.from(await t.data() as Float32Array));
    tf.dispose(outs);
    return vals;
  };
  const cpu = await withBackend("cpu", run);
  const gpu = await run();
  return { cpu, gpu };
}

/** max |a − b| / max |b| (b the reference). */
export const relErr = maxRelDiff;

/** Counts the backend's GPU→CPU reads (`read`, `readSync`) while `fn` runs. */
export async function countReads<T>(fn: () => Promise<T>): Promise<{ value: T; reads: number }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const be = tf.backend() as any;
  let reads = 0;
  const own = { read: Object.getOwnPropertyDescriptor(be, "read"), readSync: Object.getOwnPropertyDescriptor(be, "readSync") };
  for (const k of ["read", "readSync"] as const) {
    const orig = be[k];
    be[k] = (...args: unknown[]) => { reads++; return orig.apply(be, args); };
  }
  try {
    const value = await fn();
    return { value, reads };
  } finally {
    for (const k of ["read", "readSync"] as const) {
      // put back the instance's own method (the lab's sync-read guard), or let the prototype's show through again
      if (own[k]) Object.defineProperty(be, k, own[k]!); else delete be[k];
    }
  }
}
