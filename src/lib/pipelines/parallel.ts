/**
 * Data-parallel gradients over worker threads: each worker holds a replica of the network on its own tfjs backend
 * instance (its own wasm heap, one core) and computes loss and gradients on its slice of the batch; the caller
 * averages nothing by hand — `lossAndGrads` returns the batch mean, weighted by slice size.
 *
 * Why this is exact (up to float32 summation order): the loss is a mean over B·M·C values and every layer is
 * per-sample (LayerNorm over channels, GroupNorm per image, attention within an image, kernel maps and kNN tables
 * within an image), so L = Σ_i (B_i/B)·L_i and ∇L = Σ_i (B_i/B)·∇L_i. Dropout masks are drawn for the whole batch in
 * the single-worker order and sliced (BatchSliceRng). The caller draws every random number, as before.
 *
 * Weights travel through one SharedArrayBuffer (flat, in `Params.names()` order) written before each step; gradients
 * come back as transferred flat buffers. Workers run the compiled `grad-worker.js` beside this file (dist/).
 */
import * as path from "path";
import { Worker } from "worker_threads";
import { tf, BackendError } from "../runtime/backend";
import { ModelConfig } from "../config/config";
import { CoordSet } from "../coords/coordinates";
import { Params } from "../nn/params";
import { RngState } from "../runtime/rng";

/** One slice's job, as posted to a worker. */
export interface GradJob {
  kind: "grads";
  /** the slice's coordinate set (B = slice rows) */
  set: { B: number; H: number; W: number; M: number; cells: Int32Array };
  /** x_t and the target at the slice's points, [B, M, C] flat */
  xt: Float32Array;
  target: Float32Array;
  ts: number[];
  /** the dropout stream of the whole batch (null: no dropout) and the slice's first row in it */
  drop: RngState | null;
  start: number;
  total: number;
}

/** A worker thread's answer to a gradient request: its loss and flat gradients. */
export interface GradReply {
  loss: number;
  /** flat gradients in parameter order */
  grads: Float32Array;
  /** per parameter: whether it received a gradient */
  has: Uint8Array;
}

/** Rows [b0, b1) of a coordinate set. */
export function sliceCoordSet(set: CoordSet, b0: number, b1: number): GradJob["set"] {
  return { B: b1 - b0, H: set.H, W: set.W, M: set.M, cells: set.cells.slice(b0 * set.M, b1 * set.M) };
}

/** Splits B rows into n contiguous slices as equal as possible: [[b0, b1), …]. */
export function batchSlices(B: number, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push([Math.floor((i * B) / n), Math.floor(((i + 1) * B) / n)]);
  return out.filter(([a, b]) => b > a);
}

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

/** A pool of network workers for one model config (gradients for training, denoising for sampling); `dispose()` ends them. */
export class GradWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly shared: SharedArrayBuffer;
  private readonly weights: Float32Array;
  private readonly offsets: number[] = [];
  private seq = 0;
  /** bumped by every publish: workers reload the shared weights only when it changed */
  private version = 0;
  private readonly ready: Promise<void>;
  private failure: Error | null = null;

  constructor(readonly model: ModelConfig, readonly n: number, params: Params, backend: string) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`workers must be a positive integer, got ${n}`);
    if (backend === "webgpu") {
      throw new BackendError("worker threads split a batch across CPU cores (wasm, cpu); on webgpu the GPU runs the whole batch: use 1 worker");
    }
    let total = 0;
    for (const v of params.variables()) {
      this.offsets.push(total);
      total += v.size;
    }
    this.shared = new SharedArrayBuffer(4 * total);
    this.weights = new Float32Array(this.shared);
    const script = path.join(__dirname, "grad-worker.js");
    const inits: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(script, {
        workerData: { model, backend, shared: this.shared, names: params.names() },
      });
      w.unref(); // a forgotten pool must not keep the process alive
      inits.push(
        new Promise<void>((resolve, reject) => {
          w.once("message", (m: { kind: string; error?: string }) => (m.kind === "ready" ? resolve() : reject(new Error(m.error))));
          w.once("error", reject);
        }),
      );
      w.on("message", (m: { kind: string; id?: number; error?: string }) => {
        if (m.id === undefined) return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new Error(`gradient worker: ${m.error}`));
        else p.resolve(m);
      });
      w.on("error", (e) => {
        this.failure = e;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
    this.ready = Promise.all(inits).then(() => undefined);
  }

  /** Copies the current weights into the shared buffer (read by every worker at its next job). */
  private publish(params: Params): void {
    const vars = params.variables();
    for (let i = 0; i < vars.length; i++) this.weights.set(vars[i].dataSync() as Float32Array, this.offsets[i]);
    this.version++;
  }

  private post<R>(i: number, msg: object, transfer: ArrayBuffer[]): Promise<R> {
    const id = this.seq++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.workers[i].postMessage({ ...msg, id, version: this.version }, transfer);
    });
  }

  /**
   * A full-grid denoiser (the samplers' contract) over the workers with the weights of `params` as they are now:
   * each call splits x_t's batch into contiguous slices, one per worker. The network is per-sample, so the result
   * equals `GridDenoiser(net).denoise` up to float32 summation order.
   */
  denoiser(params: Params): (xt: tf.Tensor4D, t: tf.Tensor1D) => Promise<tf.Tensor4D> {
    let published = false;
    return async (xt, t) => {
      if (this.failure) throw this.failure;
      await this.ready;
      if (!published) {
        this.publish(params);
        published = true;
      }
      const [B, H, W, C] = xt.shape;
      const x = (await xt.data()) as Float32Array, ts = Array.from(await t.data());
      const per = H * W * C;
      const slices = batchSlices(B, this.workers.length);
      const outs = await Promise.all(
        slices.map(([b0, b1], i) => {
          const xs = x.slice(b0 * per, b1 * per);
          return this.post<{ out: Float32Array }>(i, { kind: "denoise", x: xs, shape: [b1 - b0, H, W, C], ts: ts.slice(b0, b1) }, [xs.buffer as ArrayBuffer]);
        }),
      );
      const y = new Float32Array(B * per);
      slices.forEach(([b0], i) => y.set(outs[i].out, b0 * per));
      return tf.tensor4d(y, [B, H, W, C]);
    };
  }

  /**
   * Loss and gradients of the whole batch: `jobs[i]` runs on worker i with the weights of `params`. Returns the
   * loss and gradients weighted by slice rows (the batch mean), gradients by parameter name (a tensor each, owned
   * by the caller), omitting parameters that received none.
   */
  async lossAndGrads(params: Params, jobs: GradJob[]): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
    if (jobs.length > this.workers.length) throw new Error(`${jobs.length} jobs for ${this.workers.length} workers`);
    if (this.failure) throw this.failure;
    await this.ready;
    this.publish(params);
    const replies = await Promise.all(jobs.map((job, i) => this.post<GradReply>(i, job, [job.xt.buffer, job.target.buffer] as ArrayBuffer[])));
    const total = jobs.reduce((s, j) => s + j.set.B, 0);
    const wts = jobs.map((j) => j.set.B / total);
    let loss = 0;
    replies.forEach((r, i) => (loss += wts[i] * r.loss));
    const names = params.names(), vars = params.variables();
    const grads: Record<string, tf.Tensor> = {};
    for (let p = 0; p < vars.length; p++) {
      if (!replies.some((r) => r.has[p])) continue;
      const off = this.offsets[p], size = vars[p].size;
      const g = new Float32Array(size);
      for (let i = 0; i < replies.length; i++) {
        if (!replies[i].has[p]) continue;
        const src = replies[i].grads, w = wts[i];
        for (let k = 0; k < size; k++) g[k] += w * src[off + k];
      }
      grads[names[p]] = tf.tensor(g, vars[p].shape, "float32");
    }
    return { loss, grads };
  }

  /** Ends the workers (pending jobs are rejected). */
  async dispose(): Promise<void> {
    const ws = this.workers.splice(0);
    for (const p of this.pending.values()) p.reject(new Error("gradient worker pool disposed"));
    this.pending.clear();
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
