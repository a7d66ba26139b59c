/**
 * Named, seeded trainable parameters. A model owns one `Params`; layers create their variables through it,
 * so the whole model can be counted, saved, loaded, copied into an EMA twin and disposed in one place.
 */
import { tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { registerTypedKernel, runTypedKernel } from "../runtime/typed-kernels";
import type { ParamTensors } from "../runtime/checkpoint";

registerTypedKernel<{ decay: number }>({
  name: "InftyEma",
  inputNames: ["e", "s"],
  outputs: ([es]) => [es],
  run: ([e, s], [out], { decay }) => {
    // f32(f32(e·d) + f32(s·(1−d))) with d and 1−d as float32 scalars: the op chain's roundings
    const d = Math.fround(decay), c = Math.fround(1 - decay);
    for (let i = 0; i < e.length; i++) out[i] = Math.fround(e[i] * d) + Math.fround(s[i] * c);
  },
});

/** How a parameter starts: zeros, ones, uniform in ±limit, or normal with a std. */
export type Init =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "uniform"; limit: number } // U(−limit, limit)
  | { kind: "normal"; std: number };

/** PyTorch's default for Linear/Conv weights: U(±1/√fan_in). */
export const fanInUniform = (fanIn: number): Init => ({ kind: "uniform", limit: 1 / Math.sqrt(fanIn) });

// ParamTensors (name → shape and float32 values) is the checkpoint format's type; the runtime layer owns it.
export type { ParamTensors };

/** A named set of trainable variables (the model's weights), saved and loaded by name. */
export class Params {
  private readonly vars = new Map<string, tf.Variable>();

  constructor(private readonly rng: Rng) {}

  /** Creates a trainable variable; names must be unique. */
  create(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter '${name}' already exists`);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    switch (init.kind) {
      case "zeros":
        break;
      case "ones":
        values.fill(1);
        break;
      case "uniform":
        for (let i = 0; i < n; i++) values[i] = (2 * this.rng.next() - 1) * init.limit;
        break;
      case "normal":
        for (let i = 0; i < n; i++) values[i] = this.rng.normal() * init.std;
        break;
    }
    // tidy: the initial tensor would otherwise stay alive beside the variable (tidy never disposes variables)
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), true, `${name}_${Params.uid++}`));
    this.vars.set(name, v);
    return v;
  }

  private static uid = 0;

  /** The variable of that name (an error naming it when absent). */
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  /** Every parameter name, in creation order. */
  names(): string[] {
    return [...this.vars.keys()];
  }

  /** Every variable, in creation order. */
  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** total number of scalar parameters */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies every value out (one sync read per tensor; call outside hot loops). */
  snapshot(): ParamTensors {
    const out: ParamTensors = {};
    for (const [name, v] of this.vars) out[name] = { shape: v.shape.slice(), values: v.dataSync() as Float32Array };
    return out;
  }

  /** `snapshot` with asynchronous reads: the only way on webgpu (no synchronous read there). */
  async snapshotAsync(): Promise<ParamTensors> {
    const out: ParamTensors = {};
    for (const [name, v] of this.vars) out[name] = { shape: v.shape.slice(), values: (await v.data()) as Float32Array };
    return out;
  }

  /** Loads values by name; every parameter must be present with the same shape, and no extra names. */
  load(tensors: ParamTensors): void {
    const extra = Object.keys(tensors).filter((k) => !this.vars.has(k));
    if (extra.length) throw new Error(`unexpected parameters: ${extra.slice(0, 5).join(", ")}`);
    for (const [name, v] of this.vars) {
      const t = tensors[name];
      if (!t) throw new Error(`missing parameter '${name}'`);
      if (t.shape.join("x") !== v.shape.join("x")) {
        throw new Error(`parameter '${name}' has shape ${t.shape.join("x")}, expected ${v.shape.join("x")}`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.values, t.shape, "float32")));
    }
  }

  /**
   * this ← decay·this + (1−decay)·source, by name (EMA of weights): one fused typed kernel per parameter where the
   * backend has it (wasm, cpu), the same float32 roundings as the op chain (`emaUpdateReference`).
   */
  emaUpdate(source: Params, decay: number): void {
    if (tf.getKernel("InftyEma", tf.getBackend()) == null) return this.emaUpdateReference(source, decay);
    for (const [name, v] of this.vars) {
      const out = runTypedKernel("InftyEma", { e: v, s: source.get(name) }, { decay }) as tf.Tensor;
      v.assign(out);
      out.dispose();
    }
  }

  /** The EMA update as tfjs ops (three per parameter): the reference. */
  emaUpdateReference(source: Params, decay: number): void {
    tf.tidy(() => {
      for (const [name, v] of this.vars) {
        const s = source.get(name);
        v.assign(v.mul(decay).add(s.mul(1 - decay)));
      }
    });
  }

  /** this ← source, by name. */
  copyFrom(source: Params): void {
    tf.tidy(() => {
      for (const [name, v] of this.vars) v.assign(source.get(name));
    });
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
