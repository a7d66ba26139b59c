/**
 * Adam with global-norm gradient clipping, keyed by parameter name so its state saves and loads with a checkpoint
 * (tfjs's optimisers key their state by engine-global variable names, which differ between processes).
 */
import { tf } from "./backend";
import { Params, ParamTensors } from "./nn/params";

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps?: number;
  /** clip the global gradient norm to this value (0 = off) */
  clipNorm?: number;
}

export interface AdamState {
  step: number;
  m: ParamTensors;
  v: ParamTensors;
}

export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  private readonly eps: number;

  constructor(private readonly params: Params, private readonly opts: AdamOptions) {
    this.eps = opts.eps ?? 1e-8;
    for (const name of params.names()) {
      const shape = params.get(name).shape;
      this.m.set(name, tf.variable(tf.zeros(shape), false));
      this.v.set(name, tf.variable(tf.zeros(shape), false));
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

  state(): AdamState {
    const dump = (src: Map<string, tf.Variable>) => {
      const out: ParamTensors = {};
      for (const [n, t] of src) out[n] = { shape: t.shape.slice(), values: t.dataSync() as Float32Array };
      return out;
    };
    return { step: this.t, m: dump(this.m), v: dump(this.v) };
  }

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

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
