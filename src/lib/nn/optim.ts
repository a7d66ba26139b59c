/**
 * Adam with global-norm gradient clipping, keyed by parameter name so its state saves and loads with a checkpoint
 * (tfjs's optimisers key their state by engine-global variable names, which differ between processes).
 */
import { tf } from "../runtime/backend";
import { Params, ParamTensors } from "./params";
import { registerTypedKernel, runTypedKernel } from "../runtime/typed-kernels";
import { syncReadsAvailable } from "../runtime/backend";

interface AdamAttrs { scale: number; lr: number; b1: number; b2: number; bc1: number; bc2: number; eps: number }

const f32 = Math.fround;

// One pass per parameter instead of ~12 tfjs ops (≈ 4,000 kernel calls per step for the lab's 334 parameters).
// Every operation is rounded to float32 in the order the op chain (`applyReference`) performs it, with the constants
// as the float32 scalars tfjs makes of them: IEEE float32 ×, +, ÷ and √ are correctly rounded, so both paths agree
// to the last bit wherever the backend's ops are IEEE (tested).
registerTypedKernel<AdamAttrs>({
  name: "InftyAdam",
  inputNames: ["p", "m", "v", "g"],
  outputs: ([ps]) => [ps, ps, ps],
  run: ([p, m, v, g], [pOut, mOut, vOut], a) => {
    const scale = f32(a.scale), lr = f32(a.lr), b1 = f32(a.b1), b2 = f32(a.b2), c1 = f32(1 - a.b1), c2 = f32(1 - a.b2);
    const bc1 = f32(a.bc1), bc2 = f32(a.bc2), eps = f32(a.eps);
    for (let i = 0; i < p.length; i++) {
      const gi = f32(g[i] * scale);
      const mi = f32(f32(m[i] * b1) + f32(gi * c1));
      const vi = f32(f32(v[i] * b2) + f32(f32(gi * gi) * c2));
      const update = f32(f32(mi / bc1) / f32(f32(Math.sqrt(f32(vi / bc2))) + eps));
      pOut[i] = p[i] - f32(update * lr);
      mOut[i] = mi;
      vOut[i] = vi;
    }
  },
});

/** Adam's hyper-parameters, gradient clipping and the choice of update kernel. */
export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps?: number;
  /** clip the global gradient norm to this value (0 = off) */
  clipNorm?: number;
  /** false: always the tfjs-op update (the reference); default: the fused kernel where the backend has it */
  fused?: boolean;
}

/** Adam's state as saved in a checkpoint: step and both moment estimates per parameter. */
export interface AdamState {
  step: number;
  m: ParamTensors;
  v: ParamTensors;
}

/** Adam with bias correction and global-norm clipping, as PyTorch's (fused kernel where the backend has it). */
export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  private readonly eps: number;

  constructor(private readonly params: Params, private readonly opts: AdamOptions) {
    this.eps = opts.eps ?? 1e-8;
    for (const name of params.names()) {
      const shape = params.get(name).shape;
      // tidy: the zeros would otherwise stay alive beside the variables (tidy never disposes variables)
      this.m.set(name, tf.tidy(() => tf.variable(tf.zeros(shape), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zeros(shape), false)));
    }
  }

  get stepCount(): number {
    return this.t;
  }

  /**
   * One update with learning rate `lr`. `grads` maps parameter names to gradients (missing = zero). Returns the
   * global gradient norm before clipping, as a scalar tensor the caller disposes (read it lazily: no sync here).
   */
  apply(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    return this.fused ? this.applyFused(grads, lr) : this.applyReference(grads, lr);
  }

  /** the fused kernel where the backend has it (wasm, cpu), unless `opts.fused` is false */
  private get fused(): boolean {
    return this.opts.fused !== false && tf.getKernel("InftyAdam", tf.getBackend()) != null;
  }

  /** The update as tfjs ops: the reference `applyFused` is held to. */
  applyReference(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    this.t += 1;
    const { beta1: b1, beta2: b2 } = this.opts;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    return tf.tidy(() => {
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))) as tf.Scalar;
      const clip = this.opts.clipNorm ?? 0;
      // scale = min(1, clip / norm): the whole gradient shrinks together
      const scale = clip > 0 ? tf.minimum(1, tf.div(clip, tf.add(norm, 1e-12))) : tf.scalar(1);
      for (const n of names) {
        const p = this.params.get(n), m = this.m.get(n)!, v = this.v.get(n)!;
        const g = tf.mul(grads[n], scale);
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
      return tf.keep(norm);
    });
  }

  /**
   * The same update, one typed kernel per parameter. The global norm is summed in float64 from the gradients' values
   * (one read each; the op chain sums in float32, so the norm, and the clip scale, agree to float32 rounding).
   */
  private applyFused(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    if (!syncReadsAvailable()) return this.applyFusedOnDevice(grads, lr);
    this.t += 1;
    const { beta1: b1, beta2: b2 } = this.opts;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    const names = Object.keys(grads);
    let sq = 0;
    for (const n of names) {
      const g = grads[n].dataSync();
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    }
    const norm = f32(Math.sqrt(sq));
    const clip = this.opts.clipNorm ?? 0;
    // scale = min(1, clip / norm) in float32, as the op chain computes it
    const scale = clip > 0 ? Math.min(1, f32(f32(clip) / f32(norm + f32(1e-12)))) : 1;
    const attrs: AdamAttrs = { scale, lr, b1, b2, bc1, bc2, eps: this.eps };
    for (const n of names) {
      const p = this.params.get(n), m = this.m.get(n)!, v = this.v.get(n)!;
      const outs = runTypedKernel("InftyAdam", { p, m, v, g: grads[n] }, attrs) as tf.Tensor[];
      p.assign(outs[0]);
      m.assign(outs[1]);
      v.assign(outs[2]);
      tf.dispose(outs);
    }
    return tf.scalar(norm);
  }

  /**
   * The fused update where reading the gradients would stall the device (webgpu): the global norm and the clip
   * scale stay tensors (summed in float32, as the op chain sums), the kernel reads the scale from a [1] tensor.
   */
  private applyFusedOnDevice(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    this.t += 1;
    const { beta1: b1, beta2: b2 } = this.opts;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    const names = Object.keys(grads);
    const clip = this.opts.clipNorm ?? 0;
    const [norm, scale] = tf.tidy(() => {
      // pairwise adds: tfjs-webgpu's AddN binds every input at once and fails past the device's 8 storage buffers
      let sq: tf.Tensor = tf.scalar(0);
      for (const n of names) sq = tf.add(sq, tf.sum(tf.square(grads[n])));
      const nrm = tf.sqrt(sq) as tf.Scalar;
      const s = clip > 0 ? tf.minimum(1, tf.div(clip, tf.add(nrm, 1e-12))) : tf.scalar(1);
      return [nrm, tf.reshape(s, [1])];
    });
    const attrs: AdamAttrs = { scale: 1, lr, b1, b2, bc1, bc2, eps: this.eps };
    for (const n of names) {
      const p = this.params.get(n), m = this.m.get(n)!, v = this.v.get(n)!;
      const outs = runTypedKernel("InftyAdam", { p, m, v, g: grads[n], scale }, attrs) as tf.Tensor[];
      p.assign(outs[0]);
      m.assign(outs[1]);
      v.assign(outs[2]);
      tf.dispose(outs);
    }
    scale.dispose();
    return norm;
  }

  /** A copy of the optimiser state, for a checkpoint. */
  state(): AdamState {
    const dump = (src: Map<string, tf.Variable>) => {
      const out: ParamTensors = {};
      for (const [n, t] of src) out[n] = { shape: t.shape.slice(), values: t.dataSync() as Float32Array };
      return out;
    };
    return { step: this.t, m: dump(this.m), v: dump(this.v) };
  }

  /** `state` with asynchronous reads (webgpu). */
  async stateAsync(): Promise<AdamState> {
    const dump = async (src: Map<string, tf.Variable>) => {
      const out: ParamTensors = {};
      for (const [n, t] of src) out[n] = { shape: t.shape.slice(), values: (await t.data()) as Float32Array };
      return out;
    };
    return { step: this.t, m: await dump(this.m), v: await dump(this.v) };
  }

  /** Restores the optimiser state from a checkpoint. */
  load(state: AdamState): void {
    const put = (dst: Map<string, tf.Variable>, src: ParamTensors, what: string) => {
      for (const [n, t] of dst) {
        const s = src[n];
        if (!s || s.shape.join("x") !== t.shape.join("x")) throw new Error(`optimizer state: ${what} for '${n}' missing or misshapen`);
        tf.tidy(() => t.assign(tf.tensor(s.values, s.shape)));
      }
    };
    put(this.m, state.m, "m");
    put(this.v, state.v, "v");
    this.t = state.step;
  }

  /** Frees the moment estimates. */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
