/**
 * WGSL implementations, for the `webgpu` backend, of every kernel the lab registers as a typed (JS) kernel on wasm
 * and cpu: point tables (gather and its transpose), the sparse depthwise conv of ∞-Diff Eq. 20 and its gradients,
 * neighbourhood patches and their gradient, fused Adam, fused EMA and fused GELU. Each computes what its typed twin
 * computes (same formula, same summation order where it matters); tests/webgpu/ holds them to the cpu backend.
 *
 * Tables (neighbour lists, tap weights) are plain JS attributes, uploaded once per table (program.ts). The kernels
 * never read from the GPU, so a training or sampler step stays on the device.
 */
import { tf } from "../tf";
import type { KernelMapView as KernelMap } from "../typed-kernels";
import type { PointTable } from "../point-table";
import { gpuTable, runProgram, Uniform, WebgpuBackend } from "./program";

type Inputs = Record<string, tf.TensorInfo>;
type Impl = (be: WebgpuBackend, inputs: Inputs, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[];

const i32 = (name: string, v: number): Uniform => [name, "i32", v];
const f32u = (name: string, v: number): Uniform => [name, "f32", v];
const lastDim = (t: tf.TensorInfo) => t.shape[t.shape.length - 1];

// ---- point tables: out[b, n, :] = Σ_t w[b, n, t] · src[b, idx[b, n, t], :] ------------------------------------

/** The transposed table as CSR over source rows: for row b·S + j, the taps q = (b·N + n)·T + t that read it. */
interface Transposed { start: Int32Array; taps: Int32Array }
const transposed = new WeakMap<PointTable, Transposed>();
function transposeTable(tb: PointTable): Transposed {
  let tr = transposed.get(tb);
  if (tr) return tr;
  const { B, S, N, T, idx } = tb;
  const start = new Int32Array(B * S + 1);
  for (let q = 0; q < idx.length; q++) if (idx[q] >= 0) start[Math.floor(q / (N * T)) * S + idx[q] + 1]++;
  for (let r = 0; r < B * S; r++) start[r + 1] += start[r];
  const fill = start.slice(0, B * S);
  const taps = new Int32Array(Math.max(1, start[B * S])); // ≥ 1 element: WebGPU rejects empty bindings
  // q ascending, as the typed kernel's loop visits them: the same summation order per row
  for (let q = 0; q < idx.length; q++) if (idx[q] >= 0) taps[fill[Math.floor(q / (N * T)) * S + idx[q]]++] = q;
  tr = { start, taps };
  transposed.set(tb, tr);
  return tr;
}

const tableGather: Impl = (be, { src }, attrs) => {
  const tb = attrs.table as PointTable, C = lastDim(src);
  return runProgram(be, "table_gather", ["src", "idx", "wts"], [src, gpuTable(be, tb.idx), gpuTable(be, tb.w)], [tb.B, tb.N, C],
    [i32("nS", tb.S), i32("nN", tb.N), i32("nT", tb.T), i32("nC", C)], `
      let c = index % uniforms.nC;
      let bn = index / uniforms.nC;
      let b = bn / uniforms.nN;
      var acc = 0.0;
      for (var t = 0; t < uniforms.nT; t++) {
        let q = bn * uniforms.nT + t;
        let j = idx[q];
        if (j >= 0) { acc = acc + wts[q] * src[(b * uniforms.nS + j) * uniforms.nC + c]; }
      }
      result[index] = acc;`);
};

const tableScatter: Impl = (be, { dy }, attrs) => {
  const tb = attrs.table as PointTable, C = lastDim(dy);
  const { start, taps } = transposeTable(tb);
  return runProgram(be, "table_scatter", ["dy", "start", "taps", "wts"],
    [dy, gpuTable(be, start), gpuTable(be, taps), gpuTable(be, tb.w)], [tb.B, tb.S, C], [i32("nT", tb.T), i32("nC", C)], `
      let c = index % uniforms.nC;
      let r = index / uniforms.nC;
      var acc = 0.0;
      for (var e = start[r]; e < start[r + 1]; e++) {
        let q = taps[e];
        acc = acc + wts[q] * dy[(q / uniforms.nT) * uniforms.nC + c];
      }
      result[index] = acc;`);
};

// ---- sparse depthwise conv, ∞-Diff Eq. 20 with the Appendix A normalisation ------------------------------------

const sparseDwConv: Impl = (be, { x, kernel, bias }, attrs) => {
  const kmap = attrs.kmap as KernelMap, C = lastDim(x);
  // out[p, c] = (Σ_t κ[t, c] · v[nb(p, t), c]) / count[p] + bias[c]
  return runProgram(be, "sparse_dw", ["x", "kern", "bias", "nb", "inv"],
    [x, kernel, bias, gpuTable(be, kmap.neighbours), gpuTable(be, kmap.inverseCounts)], x.shape, [i32("nK", kmap.K), i32("nC", C)], `
      let c = index % uniforms.nC;
      let p = index / uniforms.nC;
      var acc = 0.0;
      for (var t = 0; t < uniforms.nK; t++) {
        let j = nb[p * uniforms.nK + t];
        if (j >= 0) { acc = acc + kern[t * uniforms.nC + c] * x[j * uniforms.nC + c]; }
      }
      result[index] = acc * inv[p] + bias[c];`);
};

/** Points per partial sum of the kernel gradient (then one pass adds the partials: float32 stays accurate). */
const GRAD_CHUNK = 64;

const sparseDwConvBackprop: Impl = (be, { dy, x, kernel }, attrs) => {
  const kmap = attrs.kmap as KernelMap, C = lastDim(dy), K = kmap.K, P = kmap.counts.length;
  const nb = gpuTable(be, kmap.neighbours), inv = gpuTable(be, kmap.inverseCounts);
  // ∂v[j, c] = Σ_t κ[K−1−t, c] · g[nb(j, t), c], g = dy / count: the reverse neighbour of offset δ is −δ
  const dx = runProgram(be, "sparse_dw_dx", ["dy", "kern", "nb", "inv"], [dy, kernel, nb, inv], x.shape, [i32("nK", K), i32("nC", C)], `
      let c = index % uniforms.nC;
      let p = index / uniforms.nC;
      var acc = 0.0;
      for (var t = 0; t < uniforms.nK; t++) {
        let j = nb[p * uniforms.nK + t];
        if (j >= 0) { acc = acc + kern[(uniforms.nK - 1 - t) * uniforms.nC + c] * (dy[j * uniforms.nC + c] * inv[j]); }
      }
      result[index] = acc;`);
  // ∂κ[t, c] = Σ_p g[p, c] · v[nb(p, t), c]: partial sums over chunks of points, then their sum
  const chunks = Math.max(1, Math.ceil(P / GRAD_CHUNK));
  const part = runProgram(be, "sparse_dw_dw_part", ["dy", "x", "nb", "inv"], [dy, x, nb, inv], [chunks, K * C],
    [i32("nK", K), i32("nC", C), i32("nP", P), i32("chunk", GRAD_CHUNK)], `
      let kc = index % (uniforms.nK * uniforms.nC);
      let ch = index / (uniforms.nK * uniforms.nC);
      let t = kc / uniforms.nC;
      let c = kc % uniforms.nC;
      let p1 = min(uniforms.nP, (ch + 1) * uniforms.chunk);
      var acc = 0.0;
      for (var p = ch * uniforms.chunk; p < p1; p++) {
        let j = nb[p * uniforms.nK + t];
        if (j >= 0) { acc = acc + (dy[p * uniforms.nC + c] * inv[p]) * x[j * uniforms.nC + c]; }
      }
      result[index] = acc;`);
  const dw = runProgram(be, "sparse_dw_dw_sum", ["part"], [part], kernel.shape, [i32("nCh", chunks), i32("nKC", K * C)], `
      var acc = 0.0;
      for (var h = 0; h < uniforms.nCh; h++) { acc = acc + part[h * uniforms.nKC + index]; }
      result[index] = acc;`);
  be.disposeData(part.dataId);
  return [dx, dw];
};

const sparsePatches: Impl = (be, { x }, attrs) => {
  const kmap = attrs.kmap as KernelMap, C = lastDim(x);
  // out[p, t·C + c] = v[nb(p, t), c], 0 for an absent tap
  return runProgram(be, "sparse_patches", ["x", "nb"], [x, gpuTable(be, kmap.neighbours)], [x.shape[0], x.shape[1], kmap.K * C],
    [i32("nK", kmap.K), i32("nC", C)], `
      let c = index % uniforms.nC;
      let pt = index / uniforms.nC;
      let j = nb[pt];
      if (j >= 0) { result[index] = x[j * uniforms.nC + c]; } else { result[index] = 0.0; }`);
};

const sparsePatchesBackprop: Impl = (be, { dy }, attrs) => {
  const kmap = attrs.kmap as KernelMap, K = kmap.K, C = lastDim(dy) / K;
  // ∂v[j, c] = Σ_t dy[p, t, c] over the points p whose tap t is j, i.e. p = nb(j, K−1−t)
  return runProgram(be, "sparse_patches_dx", ["dy", "nb"], [dy, gpuTable(be, kmap.neighbours)], [dy.shape[0], dy.shape[1], C],
    [i32("nK", K), i32("nC", C)], `
      let c = index % uniforms.nC;
      let j = index / uniforms.nC;
      var acc = 0.0;
      for (var t = 0; t < uniforms.nK; t++) {
        let p = nb[j * uniforms.nK + (uniforms.nK - 1 - t)];
        if (p >= 0) { acc = acc + dy[(p * uniforms.nK + t) * uniforms.nC + c]; }
      }
      result[index] = acc;`);
};

// ---- optimiser and activations -------------------------------------------------------------------------------

/**
 * Adam (optim.ts): m ← b1·m + (1−b1)·g·s, v ← b2·v + (1−b2)·(g·s)², p ← p − lr·(m/bc1)/(√(v/bc2) + eps), with the
 * clip scale s read from a [1] tensor `scale` when given (so the global norm never leaves the GPU), else attrs.scale.
 */
const adam: Impl = (be, { p, m, v, g, scale }, attrs) => {
  const a = attrs as { scale: number; lr: number; b1: number; b2: number; bc1: number; bc2: number; eps: number };
  const s = scale ?? be.makeTensorInfo([1], "float32", Float32Array.of(a.scale));
  const u: Uniform[] = [f32u("lr", a.lr), f32u("b1", a.b1), f32u("b2", a.b2), f32u("c1", 1 - a.b1), f32u("c2", 1 - a.b2),
    f32u("bc1", a.bc1), f32u("bc2", a.bc2), f32u("eps", a.eps)];
  // 'auto' pipeline layouts drop unused bindings, so each program binds only what it reads
  const gi = "let gi = g[index] * scale[0];";
  const mi = "let mi = m[index] * uniforms.b1 + gi * uniforms.c1;";
  const vi = "let vi = v[index] * uniforms.b2 + (gi * gi) * uniforms.c2;";
  const pOut = runProgram(be, "adam_p", ["p", "m", "v", "g", "scale"], [p, m, v, g, s], p.shape, u, `
      ${gi}
      ${mi}
      ${vi}
      let update = (mi / uniforms.bc1) / (sqrt(vi / uniforms.bc2) + uniforms.eps);
      result[index] = p[index] - update * uniforms.lr;`);
  const mOut = runProgram(be, "adam_m", ["m", "g", "scale"], [m, g, s], p.shape, u, `${gi}
      ${mi}
      result[index] = mi;`);
  const vOut = runProgram(be, "adam_v", ["v", "g", "scale"], [v, g, s], p.shape, u, `${gi}
      ${vi}
      result[index] = vi;`);
  if (scale == null) be.disposeData(s.dataId);
  return [pOut, mOut, vOut];
};

const ema: Impl = (be, { e, s }, attrs) => {
  const decay = attrs.decay as number;
  return runProgram(be, "ema", ["e", "s"], [e, s], e.shape, [f32u("d", decay), f32u("c", 1 - decay)],
    "result[index] = e[index] * uniforms.d + s[index] * uniforms.c;");
};

// GELU, tanh approximation, tanh through one exp as the typed kernel does (saturates to ±1 without NaN)
const GELU = `
      let GELU_C = ${Math.sqrt(2 / Math.PI)};
      let GELU_A = 0.044715;
      let v = x[index];
      let u = GELU_C * (v + GELU_A * v * v * v);
      let th = 1.0 - 2.0 / (exp(clamp(2.0 * u, -80.0, 80.0)) + 1.0);`;

const gelu: Impl = (be, { x }) =>
  runProgram(be, "gelu", ["x"], [x], x.shape, [], `${GELU}
      result[index] = 0.5 * v * (1.0 + th);`);

const geluGrad: Impl = (be, { dy, x }) =>
  runProgram(be, "gelu_grad", ["dy", "x"], [dy, x], x.shape, [], `${GELU}
      result[index] = dy[index] * (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * GELU_C * (1.0 + 3.0 * GELU_A * v * v));`);

// ---- replaced: Sin and Cos -------------------------------------------------------------------------------------

// WGSL only promises sin/cos to an absolute 2⁻¹¹ on [−π, π] (SwiftShader is off by 2e-4 at cos(3)), and the time
// embedding takes sin/cos of arguments up to ~1000 rad; near t = T the sampler divides the network's output by √ᾱ_T
// (≈ 0.006), so such errors become visible pixels. Cody–Waite reduction by π/2 in three parts (the first exact in a
// product with the quadrant number) and Taylor polynomials on [−π/4, π/4]: ≈ 1e-7 absolute for |x| < 8192.
const SINCOS = `
      fn inftySinCos(x : f32, wantCos : bool) -> f32 {
        let k = round(x * 0.63661977236758134);
        let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
        let z = r * r;
        let s = r + r * z * (-0.16666666666666666 + z * (0.008333333333333333 + z * (-0.0001984126984126984 + z * 2.7557319223985893e-6)));
        let c = 1.0 + z * (-0.5 + z * (0.041666666666666664 + z * (-0.001388888888888889 + z * 2.48015873015873e-5)));
        var q = i32(k) & 3;
        if (wantCos) { q = (q + 1) & 3; }
        if (q == 0) { return s; }
        if (q == 1) { return c; }
        if (q == 2) { return -s; }
        return -c;
      }`;

const sinCos = (wantCos: boolean): Impl => (be, { x }) => {
  if (x.dtype !== "float32") throw new Error(`${wantCos ? "Cos" : "Sin"} on webgpu: float32 only, got ${x.dtype}`);
  return runProgram(be, wantCos ? "cos" : "sin", ["x"], [x], x.shape, [],
    `result[index] = inftySinCos(x[index], ${wantCos});`, SINCOS);
};

/** Kernels the lab replaces on webgpu (tfjs-backend-webgpu has them, less accurately). */
export const REPLACED_WEBGPU_KERNELS: Record<string, Impl> = { Sin: sinCos(false), Cos: sinCos(true) };

/** Kernel name → WGSL implementation: the same names as the typed kernels registered for wasm and cpu. */
export const LAB_WEBGPU_KERNELS: Record<string, Impl> = {
  InftyTableGather: tableGather,
  InftyTableScatter: tableScatter,
  InftySparseDwConv: sparseDwConv,
  InftySparseDwConvBackprop: sparseDwConvBackprop,
  InftySparsePatches: sparsePatches,
  InftySparsePatchesBackprop: sparsePatchesBackprop,
  InftyAdam: adam,
  InftyEma: ema,
  InftyGelu: gelu,
  InftyGeluGrad: geluGrad,
};

let registered = false;

/** Registers the lab's WGSL kernels for `webgpu` (idempotent; `initBackend("webgpu")` calls it). */
export function registerWebgpuKernels(): void {
  if (registered) return;
  for (const [kernelName, impl] of Object.entries({ ...LAB_WEBGPU_KERNELS, ...REPLACED_WEBGPU_KERNELS })) {
    if (tf.getKernel(kernelName, "webgpu") != null) tf.unregisterKernel(kernelName, "webgpu");
    tf.registerKernel({
      kernelName,
      backendName: "webgpu",
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs: Record<string, unknown> }) =>
        impl(backend as WebgpuBackend, inputs, attrs)) as unknown as tf.KernelFunc,
    });
  }
  registered = true;
}
