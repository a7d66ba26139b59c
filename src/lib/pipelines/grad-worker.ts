/**
 * Worker-thread side of parallel.ts: a network replica on this thread's own backend instance. Every job first loads
 * the shared weights if they were republished. A gradient job builds the slice's point context, computes the mse loss
 * and its gradients exactly as `Trainer.trainStep` does and sends them back as one flat transferred buffer; a denoise
 * job runs the full-grid denoiser (GridDenoiser, contexts cached per shape) on its slice.
 */
import { parentPort, workerData } from "worker_threads";
import { tf, initBackend } from "../runtime/backend";
import "../runtime/wasm-kernels"; // registers the lab's wasm kernels on backend init, as in the main thread
import { Rng } from "../runtime/rng";
import { CoordSet } from "../coords/coordinates";
import { InftyDiffNetwork, GridDenoiser } from "../nn/network";
import { BatchSliceRng } from "../nn/layers";
import { mse } from "../diffusion/parameterisations";
import type { GradJob } from "./parallel";

interface DenoiseJob {
  kind: "denoise";
  x: Float32Array;
  shape: [number, number, number, number];
  ts: number[];
}

interface Init {
  model: ConstructorParameters<typeof InftyDiffNetwork>[0];
  backend: string;
  shared: SharedArrayBuffer;
  names: string[];
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("grad-worker must run as a worker thread");
  const init = workerData as Init;
  let net: InftyDiffNetwork;
  try {
    await initBackend(init.backend, { quiet: true });
    net = new InftyDiffNetwork(init.model, new Rng(0)); // initial values are overwritten by every job
    const names = net.params.names();
    if (names.length !== init.names.length || names.some((n, i) => n !== init.names[i])) {
      throw new Error("parameter names differ between the main thread and the worker");
    }
  } catch (e) {
    port.postMessage({ kind: "error", error: (e as Error).stack ?? String(e) });
    return;
  }
  const weights = new Float32Array(init.shared);
  const vars = net.params.variables();
  const offsets: number[] = [];
  let total = 0;
  for (const v of vars) {
    offsets.push(total);
    total += v.size;
  }
  port.postMessage({ kind: "ready" });

  let loaded = -1;
  const denoiser = new GridDenoiser(net);
  port.on("message", (msg: (GradJob | DenoiseJob) & { id: number; version: number }) => {
    try {
      if (msg.version !== loaded) {
        // copy (slice) out of the shared buffer: the cpu backend would otherwise keep a view the next publish rewrites
        tf.tidy(() => {
          for (let i = 0; i < vars.length; i++) {
            vars[i].assign(tf.tensor(weights.slice(offsets[i], offsets[i] + vars[i].size), vars[i].shape, "float32"));
          }
        });
        loaded = msg.version;
      }
      if (msg.kind === "denoise") {
        const out = tf.tidy(() => {
          const x = tf.tensor4d(msg.x, msg.shape), t = tf.tensor1d(msg.ts, "int32");
          // a copy we own: it is transferred, and the cpu backend's dataSync hands out its own storage
          return (denoiser.denoise(x, t).dataSync() as Float32Array).slice();
        });
        port.postMessage({ id: msg.id, out }, [out.buffer as ArrayBuffer]);
        return;
      }
      const job = msg;
      const s = job.set;
      const set: CoordSet = Object.freeze({ B: s.B, H: s.H, W: s.W, M: s.M, cells: s.cells });
      const C = job.xt.length / (s.B * s.M);
      const ctx = net.context(set);
      const xt = tf.tensor3d(job.xt, [s.B, s.M, C]), target = tf.tensor3d(job.target, [s.B, s.M, C]);
      const t = tf.tensor1d(job.ts, "int32");
      const dropoutRng = job.drop ? new BatchSliceRng(job.drop, job.start, job.total) : null;
      const { value, grads } = tf.variableGrads(() => mse(net.apply(xt, ctx, t, { dropoutRng }), target), vars);
      const loss = value.dataSync()[0];
      const flat = new Float32Array(total);
      const has = new Uint8Array(vars.length);
      for (let i = 0; i < vars.length; i++) {
        const g = grads[vars[i].name];
        if (!g) continue;
        has[i] = 1;
        flat.set(g.dataSync() as Float32Array, offsets[i]);
      }
      tf.dispose([value, xt, target, t]);
      tf.dispose(Object.values(grads));
      ctx.dispose();
      port.postMessage({ id: job.id, loss, grads: flat, has }, [flat.buffer, has.buffer]);
    } catch (e) {
      port.postMessage({ id: msg.id, error: (e as Error).stack ?? String(e) });
    }
  });
}

void main();
