/**
 * Seeded, serialisable randomness. Every random draw in the lab goes through an `Rng` passed in by the
 * caller (no Math.random, no unseeded tf.random*), so runs are reproducible and checkpoints can store
 * the generator state and resume the exact stream.
 */
import { tf } from "./backend";

/** sfc32 state: four uint32 words. */
export type RngState = [number, number, number, number];

/** A seeded random source (xoshiro-style): uniform, normal and integer draws, state saved in checkpoints. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** cached second Box–Muller deviate */
  private spare: number | null = null;

  constructor(seed: number | RngState) {
    if (Array.isArray(seed)) {
      [this.a, this.b, this.c, this.d] = seed.map((v) => v >>> 0) as RngState;
    } else {
      // splitmix32 expands one seed into four well-mixed words
      let s = seed >>> 0;
      const mix = () => {
        s = (s + 0x9e3779b9) >>> 0;
        let z = s;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.a = mix(); this.b = mix(); this.c = mix(); this.d = mix();
      for (let i = 0; i < 12; i++) this.nextUint32();
    }
  }

  /** uniform uint32 (sfc32) */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** uniform integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** standard normal (Box–Muller) */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** n standard normals */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** a tensor of standard normals of the given shape */
  normalTensor<R extends tf.Rank = tf.Rank>(shape: number[]): tf.Tensor<R> {
    const n = shape.reduce((p, d) => p * d, 1);
    return tf.tensor(this.normals(n), shape as number[], "float32") as unknown as tf.Tensor<R>;
  }

  /** Fisher–Yates shuffle of 0..n-1 */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }

  /** an independent child stream (for per-worker or per-purpose randomness) */
  fork(): Rng {
    return new Rng([this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32()]);
  }

  /** serialisable state; `new Rng(state)` resumes the same stream */
  state(): RngState {
    // drop the cached deviate so state() fully determines the continuation
    this.spare = null;
    return [this.a, this.b, this.c, this.d];
  }
}
