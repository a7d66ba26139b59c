/**
 * Sparse convolution operators on coordinate sets (∞-Diff §4.2, Eqs. 18–20, Appendix A).
 *
 * sparseDepthwiseConv — ∞-Diff Eq. 20 discretised on the sampled points, per channel, normalised by the number of
 * present neighbours (Appendix A: "the output normalised by the total number of coordinates in each local region"):
 *     out[p, c] = (Σ_t κ[t, c] · v[nb(p, t), c]) / count[p] + bias[c]
 * Forward and backward are typed kernels (O(B·M·K·C), wasm and cpu); the gradients are explicit (tf.customGrad):
 *     ∂v[j, c]  = Σ_{p,t: nb(p,t)=j} κ[t, c] · g[p, c]/count[p]   (tap t of p is tap K−1−t, offset −δ, of j)
 *     ∂κ[t, c]  = Σ_p g[p, c]/count[p] · v[nb(p, t), c]
 *     ∂bias[c]  = Σ_p g[p, c]
 * The dense reference (STYLE.md §7) is `sparseDepthwiseConvDense`: scatter → depthwise conv → ÷ conv of the mask →
 * gather; tests hold the fast path to it.
 */
import { tf } from "../runtime/backend";
import { KernelMap } from "./kernel-map";
import { gatherPoints, scatterPoints } from "../coords/coordinates";
import { customOp, registerTypedKernel, runTypedKernel } from "../runtime/typed-kernels";

interface Attrs { kmap: KernelMap }

/**
 * Σ_t κ[t', c] · v[nb(p, t), c] for every point, with t' = t (forward) or K−1−t (input gradient: the reverse
 * neighbour of offset δ is −δ), then out[p, c] = acc · rowScale[p] + bias[c]. Channels in blocks of 8 held in locals:
 * V8 keeps them in registers, ≈ 2.5× faster than accumulating into the output array.
 */
function depthwiseTaps(
  v: Float32Array | Int32Array, w: Float32Array | Int32Array, nb: Int32Array, K: number, C: number,
  out: Float32Array, rowScale: Float32Array | null, bias: Float32Array | Int32Array | null, flip: boolean,
): void {
  const P = out.length / C, C8 = C - (C % 8);
  const tapOff = new Int32Array(K); // kernel row offset of each tap, flipped or not (keeps the branch out of the loop)
  for (let t = 0; t < K; t++) tapOff[t] = (flip ? K - 1 - t : t) * C;
  for (let p = 0; p < P; p++) {
    const o = p * C, sc = rowScale ? rowScale[p] : 1;
    for (let cb = 0; cb < C8; cb += 8) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (let t = 0; t < K; t++) {
        const j = nb[p * K + t];
        if (j < 0) continue;
        const s = j * C + cb, u = tapOff[t] + cb;
        a0 += w[u] * v[s]; a1 += w[u + 1] * v[s + 1]; a2 += w[u + 2] * v[s + 2]; a3 += w[u + 3] * v[s + 3];
        a4 += w[u + 4] * v[s + 4]; a5 += w[u + 5] * v[s + 5]; a6 += w[u + 6] * v[s + 6]; a7 += w[u + 7] * v[s + 7];
      }
      const q = o + cb;
      out[q] = a0 * sc; out[q + 1] = a1 * sc; out[q + 2] = a2 * sc; out[q + 3] = a3 * sc;
      out[q + 4] = a4 * sc; out[q + 5] = a5 * sc; out[q + 6] = a6 * sc; out[q + 7] = a7 * sc;
    }
    for (let c = C8; c < C; c++) {
      let a = 0;
      for (let t = 0; t < K; t++) {
        const j = nb[p * K + t];
        if (j >= 0) a += w[tapOff[t] + c] * v[j * C + c];
      }
      out[o + c] = a * sc;
    }
    if (bias) for (let c = 0; c < C; c++) out[o + c] += bias[c];
  }
}

/**
 * acc[t, c] += Σ_p g[p, c] · v[nb(p, t), c] (the kernel gradient), in float64. Points in chunks of 32 so the chunk's
 * rows stay in cache while taps and channel blocks (8 locals) sweep over them.
 */
function depthwiseKernelGrad(g: Float32Array, v: Float32Array | Int32Array, nb: Int32Array, K: number, C: number, acc: Float64Array): void {
  const P = g.length / C, C8 = C - (C % 8), CH = 32;
  for (let p0 = 0; p0 < P; p0 += CH) {
    const pe = Math.min(P, p0 + CH);
    for (let t = 0; t < K; t++) {
      for (let cb = 0; cb < C8; cb += 8) {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        for (let p = p0; p < pe; p++) {
          const j = nb[p * K + t];
          if (j < 0) continue;
          const s = j * C + cb, u = p * C + cb;
          a0 += g[u] * v[s]; a1 += g[u + 1] * v[s + 1]; a2 += g[u + 2] * v[s + 2]; a3 += g[u + 3] * v[s + 3];
          a4 += g[u + 4] * v[s + 4]; a5 += g[u + 5] * v[s + 5]; a6 += g[u + 6] * v[s + 6]; a7 += g[u + 7] * v[s + 7];
        }
        const q = t * C + cb;
        acc[q] += a0; acc[q + 1] += a1; acc[q + 2] += a2; acc[q + 3] += a3;
        acc[q + 4] += a4; acc[q + 5] += a5; acc[q + 6] += a6; acc[q + 7] += a7;
      }
      for (let c = C8; c < C; c++) {
        let a = 0;
        for (let p = p0; p < pe; p++) {
          const j = nb[p * K + t];
          if (j >= 0) a += g[p * C + c] * v[j * C + c];
        }
        acc[t * C + c] += a;
      }
    }
  }
}

registerTypedKernel<Attrs>({
  name: "InftySparseDwConv",
  inputNames: ["x", "kernel", "bias"],
  outputs: ([xs]) => [xs],
  run: ([x, w, bias], [out], { kmap }) => {
    // ∞-Diff Eq. 20, normalised by the present-neighbour count (Appendix A)
    depthwiseTaps(x, w, kmap.neighbours, kmap.K, bias.length, out, kmap.inverseCounts, bias, false);
  },
});

registerTypedKernel<Attrs>({
  name: "InftySparseDwConvBackprop",
  inputNames: ["dy", "x", "kernel"],
  outputs: ([, xs, ws]) => [xs, ws],
  run: ([dy, x, w], [dx, dw], { kmap }) => {
    const { neighbours: nb, K } = kmap;
    const inv = kmap.inverseCounts, P = inv.length, C = dy.length / P;
    const g = new Float32Array(P * C); // g = dy / count
    for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) g[p * C + c] = dy[p * C + c] * inv[p];
    // ∂v: a gather over reverse neighbours (tap K−1−t), so no scatter is needed
    depthwiseTaps(g, w, nb, K, C, dx, null, null, true);
    const acc = new Float64Array(K * C);
    depthwiseKernelGrad(g, x, nb, K, C, acc);
    for (let i = 0; i < acc.length; i++) dw[i] = acc[i];
  },
});

function checkShapes(name: string, feats: tf.Tensor, kmap: KernelMap, kshape: number[]): void {
  kmap.check();
  const { B, M } = kmap.set;
  if (feats.rank !== 3 || feats.shape[0] !== B || feats.shape[1] !== M) {
    throw new Error(`${name}: feats [${feats.shape}] do not match the kernel map's set (B=${B}, M=${M})`);
  }
  if (kshape[0] !== kmap.k || kshape[1] !== kmap.k) {
    throw new Error(`${name}: kernel ${kshape[0]}×${kshape[1]} vs kernel map k=${kmap.k}`);
  }
}

/**
 * ∞-Diff Eq. 20 (Appendix A normalisation). feats [B, M, C], kernel [k, k, C], bias [C] → [B, M, C].
 * Differentiable wrt feats, kernel and bias on wasm and cpu.
 */
export function sparseDepthwiseConv(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D): tf.Tensor3D {
  checkShapes("sparseDepthwiseConv", feats, kmap, kernel.shape);
  const C = feats.shape[2];
  if (kernel.shape[2] !== C || bias.shape[0] !== C) throw new Error(`sparseDepthwiseConv: ${C} channels vs kernel [${kernel.shape}], bias [${bias.shape}]`);
  if (isFullGrid(kmap)) return fullGridDepthwiseConv(feats, kmap, kernel, bias);
  return sparseDepthwiseConvTyped(feats, kmap, kernel, bias);
}

/** The typed gather path of Eq. 20 on any coordinate set (what `sparseDepthwiseConv` runs off the full grid). */
export function sparseDepthwiseConvTyped(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D): tf.Tensor3D {
  checkShapes("sparseDepthwiseConvTyped", feats, kmap, kernel.shape);
  const op = customOp((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, w]);
    return {
      value: runTypedKernel("InftySparseDwConv", { x, kernel: w, bias: b }, { kmap }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dx, dw] = runTypedKernel("InftySparseDwConvBackprop", { dy, x: saved[0], kernel: saved[1] }, { kmap }) as tf.Tensor[];
        return [dx, dw, tf.sum(dy, [0, 1])];
      },
    };
  });
  return op(feats, kernel, bias) as tf.Tensor3D;
}

/** Every cell of the grid is a point (M = H·W; cells are distinct and sorted, so point i is cell i): sampling, ratio 1. */
function isFullGrid(kmap: KernelMap): boolean {
  return kmap.set.M === kmap.set.H * kmap.set.W;
}

const fullGridCounts = new WeakMap<KernelMap, Float32Array>();

/**
 * Eq. 20 on a full grid: the points are the raster cells, so scatter and gather are reshapes and the operator is the
 * backend's dense depthwise conv divided by the (per-image identical) neighbour count. On wasm the lab's SIMD
 * depthwise kernels run it 2.5–10× faster than the typed gather loop (28×28 k=7 … 56×56 k=15); tests hold it to the
 * typed path.
 */
function fullGridDepthwiseConv(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D): tf.Tensor3D {
  const { B, H, W, M } = kmap.set;
  const C = feats.shape[2];
  let counts = fullGridCounts.get(kmap);
  if (!counts) {
    counts = new Float32Array(M);
    for (let i = 0; i < M; i++) counts[i] = kmap.counts[i];
    fullGridCounts.set(kmap, counts);
  }
  const cnt = counts;
  return tf.tidy(() => {
    const sum = tf.depthwiseConv2d(tf.reshape(feats, [B, H, W, C]) as tf.Tensor4D, tf.expandDims(kernel, 3) as tf.Tensor4D, 1, "same");
    const out = tf.div(sum, tf.tensor4d(cnt, [1, H, W, 1]));
    return tf.add(tf.reshape(out, [B, M, C]), bias) as tf.Tensor3D;
  });
}

/**
 * Dense reference of Eq. 20: scatter to the grid → depthwise 'same' conv → ÷ (conv of the mask with ones) → gather.
 * O(H·W) work; for tests and as the definition the fast path must match. Differentiable with plain tfjs ops (its
 * gradient needs the backend's depthwise backprop kernels: use it on cpu).
 */
export function sparseDepthwiseConvDense(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, bias: tf.Tensor1D): tf.Tensor3D {
  checkShapes("sparseDepthwiseConvDense", feats, kmap, kernel.shape);
  const set = kmap.set, k = kmap.k;
  return tf.tidy(() => {
    const grid = scatterPoints(feats, set); // [B, H, W, C], zeros off the set
    const mask = scatterPoints(tf.ones([set.B, set.M, 1]) as tf.Tensor3D, set); // [B, H, W, 1]
    const sum = tf.depthwiseConv2d(grid, tf.expandDims(kernel, 3) as tf.Tensor4D, 1, "same");
    // cells without points have count 0: clamp so 0/0 cannot put NaN into the gradient
    const count = tf.maximum(tf.conv2d(mask, tf.ones([k, k, 1, 1]) as tf.Tensor4D, 1, "same"), 1);
    const out = gatherPoints(tf.div(sum, count) as tf.Tensor4D, set);
    return tf.add(out, bias) as tf.Tensor3D;
  });
}

registerTypedKernel<Attrs>({
  name: "InftySparsePatches",
  inputNames: ["x"],
  outputs: ([xs], { kmap }) => [[xs[0], xs[1], kmap.K * xs[2]]],
  run: ([x], [out], { kmap }) => {
    const { neighbours: nb, K } = kmap;
    const P = kmap.counts.length, C = x.length / P;
    for (let p = 0; p < P; p++) {
      for (let t = 0; t < K; t++) {
        const j = nb[p * K + t];
        if (j < 0) continue; // absent neighbour: zero row
        out.set(x.subarray(j * C, (j + 1) * C), (p * K + t) * C);
      }
    }
  },
});

registerTypedKernel<Attrs>({
  name: "InftySparsePatchesBackprop",
  inputNames: ["dy"],
  outputs: ([ds], { kmap }) => [[ds[0], ds[1], ds[2] / kmap.K]],
  run: ([dy], [dx], { kmap }) => {
    const { neighbours: nb, K } = kmap;
    const P = kmap.counts.length, C = dx.length / P;
    for (let p = 0; p < P; p++) {
      for (let t = 0; t < K; t++) {
        const j = nb[p * K + t];
        if (j < 0) continue;
        const s = j * C, d = (p * K + t) * C;
        for (let c = 0; c < C; c++) dx[s + c] += dy[d + c];
      }
    }
  },
});

/** Neighbourhood patches: feats [B, M, C] → [B, M, K·C] (tap-major, zeros for absent taps); differentiable. */
export function sparsePatches(feats: tf.Tensor3D, kmap: KernelMap): tf.Tensor3D {
  kmap.check();
  const op = customOp((x: tf.Tensor) => ({
    value: runTypedKernel("InftySparsePatches", { x }, { kmap }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor) => runTypedKernel("InftySparsePatchesBackprop", { dy }, { kmap }) as tf.Tensor,
  }));
  return op(feats) as tf.Tensor3D;
}

/** [B, M, 1] present-neighbour counts as a tensor (a constant). */
export function neighbourCounts(kmap: KernelMap): tf.Tensor3D {
  return tf.tensor3d(kmap.counts, [kmap.set.B, kmap.set.M, 1]);
}

/**
 * Regular (full) sparse convolution, the Table 2 "regular convs" ablation, with the same count normalisation:
 * out[p] = (Σ_t v[nb(p,t)] · W[t]) / count[p] + bias. feats [B, M, Cin], kernel [k, k, Cin, Cout], bias [Cout]
 * → [B, M, Cout]. Patches (typed kernel) then one matMul, so the Cin·Cout work runs in wasm's fast GEMM.
 */
export function sparseConv(feats: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor3D {
  checkShapes("sparseConv", feats, kmap, kernel.shape);
  const [B, M, Cin] = feats.shape;
  const [k, , kin, Cout] = kernel.shape;
  if (kin !== Cin || bias.shape[0] !== Cout) throw new Error(`sparseConv: Cin=${Cin} vs kernel [${kernel.shape}], bias [${bias.shape}]`);
  return tf.tidy(() => {
    const P = tf.reshape(sparsePatches(feats, kmap), [B * M, k * k * Cin]);
    const y = tf.matMul(P, tf.reshape(kernel, [k * k * Cin, Cout]));
    const out = tf.div(tf.reshape(y, [B, M, Cout]), neighbourCounts(kmap));
    return tf.add(out, bias) as tf.Tensor3D;
  });
}

/** Weights of the nonlinear kernel (Table 2): two k×k depthwise layers with biases and a nonlinearity between. */
export interface NonlinearKernelParams {
  kernel1: tf.Tensor3D; // [k, k, C]
  bias1: tf.Tensor1D; // [C]
  kernel2: tf.Tensor3D; // [k, k, C]
  bias2: tf.Tensor1D; // [C]
}

/**
 * The Table 2 "nonlinear kernel" ablation (∞-Diff Eq. 18 style: the effective kernel depends on the features),
 * implemented as the paper states: conv → activation → conv, both sparse depthwise (Eq. 20) on the same kernel map.
 * feats [B, M, C] → [B, M, C].
 */
export function nonlinearKernelOp(
  feats: tf.Tensor3D,
  kmap: KernelMap,
  p: NonlinearKernelParams,
  activation: (x: tf.Tensor) => tf.Tensor = (x) => tf.mul(x, tf.sigmoid(x)), // SiLU: smooth, trains on wasm
): tf.Tensor3D {
  return tf.tidy(() => {
    const h = activation(sparseDepthwiseConv(feats, kmap, p.kernel1, p.bias1)) as tf.Tensor3D;
    return sparseDepthwiseConv(h, kmap, p.kernel2, p.bias2);
  });
}
