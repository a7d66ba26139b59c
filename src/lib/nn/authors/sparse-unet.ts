/**
 * The authors' ∞-Diff network (samb-t/infty-diff `models/model_sparse.py` SparseUNet with `sparse_conv_block.py`'s
 * residual blocks), layer for layer, on the lab's coordinate sets: one code path serves the sparse path (a subset of
 * the r₀ grid, training) and the dense path (the full grid at any resolution, sampling).
 *
 *   Linear lift → time MLP (authors' sinusoidal embedding → Linear → GELU → Linear) → `num_conv_blocks` sparse
 *   residual blocks → Linear → kNN (K nearest, inverse *squared* distance) onto the UNO's res×res grid → UNO →
 *   bilinear sampling back at the points, with the authors' conventions (below) → Linear → blocks with skips → Linear.
 *
 * Sparse residual block: [skip: 1×1 over concat(x, skip)] → h = ImageLayerNorm(x)·(1 + s₁) + b₁ → depthwise k×k conv
 * (no bias) ÷ (count of present neighbours / k₀²) → x += h → x += MLP(ImageLayerNorm(x)·(1 + s₂) + b₂), MLP C → 2C → C.
 *
 * Conventions copied because the weights were trained with them (docs/divergences.md): a point of an H×W grid at
 * cell (r, c) has position (r/(H−1), c/(W−1)) (torch.linspace(0, 1)), the UNO grid likewise; the grid is read back
 * with grid_sample(align_corners=False, zero padding) taking the *row* position as x and the column as y, both in
 * [0, 1] of grid_sample's [−1, 1] range — the lower-right quadrant of the UNO output, transposed.
 * Both of the authors' behaviours off r₀ are a config value (`kernelResampling`, OFF_GRID_KERNEL): "authors" resamples
 * the k×k kernel to k'×k' (bilinear, their sparse backends' get_torch_kernel), "none" keeps it (their torch_dense
 * path); either way the normaliser counts a k'×k' window. Positions are torch.linspace's float32 values and kNN
 * distances are float32 as pytorch3d's CPU knn_points computes them, so equal distances are equal in both codes;
 * ties go to the lower point index (KNN_TIES).
 */
import type { ModelGrid } from "../../config/grid";
import { tf } from "../../runtime/backend";
import { Rng } from "../../runtime/rng";
import { AuthorsBackend, ModelConfig } from "../../config/config";
import { CoordSet } from "../../coords/coordinates";
import { KernelMap } from "../../operators/kernel-map";
import { PointTable, applyPointTable } from "../../runtime/point-table";
import { sparseDepthwiseConv } from "../../operators/sparse-conv";
import { Params, fanInUniform } from "../params";
import { KindTable, TChannelNorm, TConv2d, TLinear, ZMlp, authorsTimeEmbedding, geluErf, torchParam } from "./layers";
import { AuthorsUno } from "./uno";

/**
 * Bilinear resampling matrix of F.interpolate(mode="bilinear", align_corners=False) from n to m taps: [m, n] (rows sum
 * to 1). Source position of tap a: (a + ½)·n/m − ½, clamped at 0; neighbours floor and floor+1 (capped at n−1).
 */
export function interpolateMatrix(n: number, m: number): Float32Array {
  const R = new Float32Array(m * n);
  for (let a = 0; a < m; a++) {
    const src = Math.max((a + 0.5) * (n / m) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1), i1 = Math.min(i0 + 1, n - 1), l = src - i0;
    R[a * n + i0] += 1 - l;
    R[a * n + i1] += l;
  }
  return R;
}

/** kernel [k,k,C] → [m,m,C] by separable bilinear interpolation (differentiable: two matMuls). */
export function resampleKernelBilinear(kernel: tf.Tensor3D, m: number): tf.Tensor3D {
  const [k, , C] = kernel.shape;
  if (m === k) return kernel;
  const R = tf.tensor2d(interpolateMatrix(k, m), [m, k]);
  const rows = tf.matMul(R, kernel.reshape([k, k * C])).reshape([m, k, C]); // [m, k, C]
  const cols = tf.matMul(R, tf.transpose(rows, [1, 0, 2]).reshape([k, m * C])).reshape([m, m, C]); // [m(col), m(row), C]
  return tf.transpose(cols, [1, 0, 2]) as tf.Tensor3D;
}

/**
 * The authors' two behaviours off the training resolution, as named rules (the values of `model.kernelResampling` this
 * architecture accepts): both divide by the count of present neighbours in the k'×k' window over k₀² (their
 * normalising conv at k', SparseUNet.get_torch_norm_kernel_size); they differ in the kernel.
 *   authors  the k₀×k₀ kernel resampled to k'×k' with F.interpolate(bilinear, align_corners=False): their
 *            torchsparse / spconv blocks' get_torch_kernel (dense_forward)
 *   none     the k₀×k₀ kernel as trained, centred in the k'×k' window: their torch_dense block (nn.Conv2d,
 *            padding "same"), whose interior output then shrinks by k₀²/k'²
 * At r₀ (k' = k₀) both are the same function.
 */
export const OFF_GRID_KERNEL = {
  authors: "resample the kernel to k'×k' (bilinear; torchsparse/spconv get_torch_kernel)",
  none: "keep the k₀×k₀ kernel (torch_dense); the normaliser still counts k'×k'",
} as const;
/** How the authors' code treats kernels off the training grid (a key of `OFF_GRID_KERNEL`). */
export type OffGridKernel = keyof typeof OFF_GRID_KERNEL;

/**
 * The authors' normalised depthwise conv on a coordinate set: Σ κ'·h over present neighbours ÷ (count in the k'×k'
 * window / k₀²), κ' by the off-grid rule (OFF_GRID_KERNEL). The lab's Eq. 20 op divides by the count, so the kernel
 * carries the k₀². h [B,M,C], kernel [k₀,k₀,C] → [B,M,C]; `ratio` [B,M,1] (rule "none" with k' < k₀ only): the k₀
 * window's count over the k' window's, as the numerator then runs over the larger window.
 */
export function authorsDepthwise(h: tf.Tensor3D, kmap: KernelMap, kernel: tf.Tensor3D, rule: OffGridKernel = "authors", ratio: tf.Tensor3D | null = null): tf.Tensor3D {
  const k0 = kernel.shape[0], C = kernel.shape[2], pad = (kmap.k - k0) / 2;
  const kk = rule === "authors" ? resampleKernelBilinear(kernel, kmap.k) : pad > 0 ? tf.pad(kernel, [[pad, pad], [pad, pad], [0, 0]]) as tf.Tensor3D : kernel;
  if (kk.shape[0] !== kmap.k) throw new Error(`authorsDepthwise: a ${kk.shape[0]}×${kk.shape[0]} kernel on a ${kmap.k}×${kmap.k} kernel map`);
  const y = sparseDepthwiseConv(h, kmap, tf.mul(kk, k0 * k0) as tf.Tensor3D, tf.zeros([C]) as tf.Tensor1D);
  return ratio ? tf.mul(y, ratio) as tf.Tensor3D : y;
}

/**
 * torch.linspace(0, 1, n) in float32, bit for bit as Debian's torch 1.13.1 computes it on an AVX2 CPU (checked for
 * every n ≤ 2000): step = float32(1/(n−1)); index i < n/2 gives step·i, the upper half 1 − step·(n−1−i), each with
 * one rounding (the compiler fuses the multiply-add); full blocks of 16 are written as two 8-lane vectors, lane j of a
 * vector = base + float32(j·step) (base = that formula at the vector's first index). Their positions (the UNO grid,
 * the data grid) are these values, so the lab uses them too: kNN ties and grid_sample reads depend on the last bit.
 */
export function torchLinspace01(n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) return out;
  const f = Math.fround, step = f(1 / (n - 1)), half = Math.floor(n / 2);
  const scalar = (i: number) => (i < half ? f(step * i) : f(1 - step * (n - 1 - i)));
  let i = 0;
  for (; i <= n - 16; i += 16) {
    for (const base of [i, i + 8]) {
      const b = scalar(base);
      for (let j = 0; j < 8; j++) out[base + j] = j === 0 ? b : f(b + f(j * step));
    }
  }
  for (; i < n; i++) out[i] = scalar(i);
  return out;
}

const linCache = new Map<number, Float32Array>();
/** torch.linspace(0, 1, n)[i] (torchLinspace01), cached per n */
const lin = (i: number, n: number): number => {
  let v = linCache.get(n);
  if (!v) linCache.set(n, (v = torchLinspace01(n)));
  return v[i];
};

/**
 * How the lab breaks kNN ties, matched to pytorch3d's knn_points on the CPU (csrc/knn/knn_cpu.cpp): points are scanned
 * in index order into a max-heap of (distance, index) that admits a point only when strictly closer than its top, so
 * the K kept are the K smallest (float32 distance, index) pairs in lexicographic order, returned in that order. Their
 * CUDA kernels (MinK in csrc/utils/mink.cuh) also admit only strictly closer points but evict the first slot holding
 * the largest distance, which is not always the highest index: on a GPU a tie at the K-th place can resolve the
 * other way (docs/authors-architecture.md).
 */
export const KNN_TIES = "pytorch3d-cpu: the K smallest (float32 d², index) pairs" as const;

/**
 * kNN onto the U×U grid: for each grid node, its K nearest points by squared distance in the authors' (row, col)
 * positions, weights 1/max(d², 1e−16)^(power/2) normalised to sum 1 (power 2: the authors' inverse squared distance,
 * PointNet++ Eq. 2 — passed explicitly, independent of the lab's own interpolation default). Distances are float32
 * as pytorch3d computes them (d = fl(fl(Δrow²) + fl(Δcol²)), Δ = fl(node − point)); ties: KNN_TIES.
 */
export function authorsKnnTable(set: CoordSet, U: number, K: number, power = 2): PointTable {
  const { B, H, W, M, cells } = set;
  if (K > M) throw new Error(`kNN with ${K} neighbours on a set of ${M} points`);
  const N = U * U, idx = new Int32Array(B * N * K), w = new Float32Array(B * N * K);
  const py = new Float64Array(M), px = new Float64Array(M);
  const bestD = new Float64Array(K), bestI = new Int32Array(K);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < M; j++) {
      const cell = cells[b * M + j], r = Math.floor(cell / W);
      py[j] = lin(r, H);
      px[j] = lin(cell - r * W, W);
    }
    for (let g = 0; g < N; g++) {
      const gy = lin(Math.floor(g / U), U), gx = lin(g % U, U);
      bestD.fill(Infinity);
      bestI.fill(-1);
      for (let j = 0; j < M; j++) {
        const f = Math.fround, dy = f(gy - py[j]), dx = f(gx - px[j]), d = f(f(dy * dy) + f(dx * dx));
        if (d >= bestD[K - 1]) continue; // strict: an equal distance keeps the earlier (lower) index
        let s = K - 1;
        while (s > 0 && bestD[s - 1] > d) {
          bestD[s] = bestD[s - 1];
          bestI[s] = bestI[s - 1];
          s--;
        }
        bestD[s] = d;
        bestI[s] = j;
      }
      let total = 0;
      for (let s = 0; s < K; s++) total += (bestD[s] = Math.max(bestD[s], 1e-16) ** (-power / 2));
      for (let s = 0; s < K; s++) {
        const q = (b * N + g) * K + s;
        idx[q] = bestI[s];
        w[q] = bestD[s] / total;
      }
    }
  }
  return { B, S: M, N, T: K, idx, w };
}

/**
 * F.grid_sample(grid [B,C,U,U], coords as (x, y), bilinear, zeros padding, align_corners=False) at every point, with
 * the authors' coordinates: x = row position r/(H−1), y = column position c/(W−1). Taps outside the grid are absent.
 */
export function authorsGridSampleTable(set: CoordSet, U: number): PointTable {
  const { B, H, W, M, cells } = set;
  const idx = new Int32Array(B * M * 4).fill(-1), w = new Float32Array(B * M * 4);
  const f = Math.fround, unnorm = (g: number) => f(f(f(f(g + 1) * U) - 1) / 2); // align_corners=False, in float32 as torch
  for (let p = 0; p < B * M; p++) {
    const r = Math.floor(cells[p] / W), c = cells[p] - r * W;
    const ix = unnorm(lin(r, H)), iy = unnorm(lin(c, W)); // x indexes the grid's columns, y its rows
    const x0 = Math.floor(ix), y0 = Math.floor(iy), tx = ix - x0, ty = iy - y0;
    const taps: Array<[number, number, number]> = [[y0, x0, (1 - ty) * (1 - tx)], [y0, x0 + 1, (1 - ty) * tx], [y0 + 1, x0, ty * (1 - tx)], [y0 + 1, x0 + 1, ty * tx]];
    taps.forEach(([yy, xx, wt], t) => {
      if (yy >= 0 && yy < U && xx >= 0 && xx < U) {
        idx[p * 4 + t] = yy * U + xx;
        w[p * 4 + t] = wt;
      }
    });
  }
  return { B, S: U * U, N: M, T: 4, idx, w };
}

/** What the authors' network needs about one coordinate set: kernel map at the resampled size, kNN and sampling tables. */
export class AuthorsContext {
  readonly kmap: KernelMap;
  readonly toGrid: PointTable;
  readonly fromGrid: PointTable;
  /** rule "none" below r₀ only: [B,M,1] count in the k₀ window ÷ count in the k' window (authorsDepthwise) */
  readonly ratio: tf.Tensor3D | null = null;
  /** the off-grid rule (OFF_GRID_KERNEL): the grid value's kernelResampling, "authors" or "none" for this arch */
  readonly rule: OffGridKernel;
  /**
   * `grid`: the grid value (config/grid.ts); grid.kernelSize is k', the authors' size at this resolution (their
   * normaliser's window), k0 the trained kernel's size.
   */
  constructor(readonly set: CoordSet, readonly grid: ModelGrid, U: number, K: number, knnPower: number, k0 = grid.kernelSize) {
    this.rule = grid.kernelResampling === "none" ? "none" : "authors";
    // rule "none" sums over the k₀ window: above r₀ that is the k'×k' map with the kernel zero-padded; below, a k₀ map
    // whose counts are rescaled to the k' window's
    const small = this.rule === "none" && k0 > grid.kernelSize;
    this.kmap = KernelMap.build(set, small ? k0 : grid.kernelSize);
    if (small) {
      const norm = KernelMap.build(set, grid.kernelSize), r = new Float32Array(norm.counts.length);
      for (let i = 0; i < r.length; i++) r[i] = this.kmap.counts[i] / norm.counts[i];
      this.ratio = tf.keep(tf.tensor3d(r, [set.B, set.M, 1]));
    }
    this.toGrid = authorsKnnTable(set, U, K, knnPower);
    this.fromGrid = authorsGridSampleTable(set, U);
  }
  /** Frees the context's tensors. */
  dispose(): void {
    this.kmap.dispose();
    this.ratio?.dispose();
  }
}

/** A 1×1 layer on points x [B,M,in] → [B,M,out]: nn.Conv2d(·,·,1) in torch_dense, nn.Linear in torchsparse. */
type Pointwise = { apply(x: tf.Tensor3D): tf.Tensor3D };
function pointwise(p: Params, kinds: KindTable, name: string, cin: number, cout: number, backend: AuthorsBackend): Pointwise {
  if (backend === "torchsparse") {
    const l = new TLinear(p, kinds, name, cin, cout);
    return { apply: (x) => l.apply(x) as tf.Tensor3D };
  }
  const c = new TConv2d(p, kinds, name, cin, cout, 1);
  return { apply: (x) => c.apply(x.reshape([x.shape[0], x.shape[1], 1, cin])).reshape([x.shape[0], x.shape[1], cout]) as tf.Tensor3D };
}

/**
 * The authors' sparse residual block on points (TorchDenseConvResBlock / TorchsparseResBlock: the same function, two
 * layouts). torch_dense: skip and MLP are 1×1 Conv2d, norms ImageLayerNorm (gain `g` [1,C,1,1], no bias), kernel
 * `conv.weight` [C,1,k,k]. torchsparse: nn.Linear, nn.LayerNorm(C) (weight and bias), `conv.kernel` [k·k,1,C].
 * feats [B,M,C]
 */
export class SparseConvResBlock {
  private readonly skip: Pointwise | null;
  private readonly norm1: TChannelNorm;
  private readonly norm2: TChannelNorm;
  private readonly kernel: tf.Variable; // [k, k, C]
  private readonly mlp0: Pointwise;
  private readonly mlp2: Pointwise;
  private readonly t1: TLinear;
  private readonly t2: TLinear;
  private readonly z1: ZMlp | null;
  private readonly z2: ZMlp | null;
  /** torchsparse's forward without t and z: no norms, the MLP reads the conv's output (see apply) */
  private readonly unnormalisedWithoutT: boolean;
  constructor(p: Params, kinds: KindTable, name: string, readonly C: number, readonly k: number, E: number, withSkip: boolean, backend: AuthorsBackend,
    zDim?: number) {
    const n = `${name}.block`, ts = backend === "torchsparse";
    this.unnormalisedWithoutT = ts;
    const norm = (i: number) => (ts ? new TChannelNorm(p, kinds, { weight: `${n}.norm${i}.weight`, bias: `${n}.norm${i}.bias` }, C, "plain") : new TChannelNorm(p, kinds, { weight: `${n}.norm${i}.g` }, C, "channel"));
    // construction order = the state_dict's order (skip, norm1, conv, norm2, mlp, time MLPs) in both backends
    this.skip = withSkip ? pointwise(p, kinds, `${n}.skip_linear`, 2 * C, C, backend) : null;
    this.norm1 = norm(1);
    // torchsparse draws U(±√3·gain/√(C·k²)) (their _custom_kaiming_uniform_), torch_dense U(±1/√(k²)): both ~ fan-in
    this.kernel = ts ? torchParam(p, kinds, `${n}.conv.kernel`, [k * k, 1, C], "tsKernel", fanInUniform(C * k * k))
      : torchParam(p, kinds, `${n}.conv.weight`, [C, 1, k, k], "depthwise", fanInUniform(k * k));
    this.norm2 = norm(2);
    this.mlp0 = pointwise(p, kinds, `${n}.mlp.0`, C, 2 * C, backend);
    this.mlp2 = pointwise(p, kinds, `${n}.mlp.2`, 2 * C, C, backend);
    this.t1 = new TLinear(p, kinds, `${n}.time_mlp1.1`, E, 2 * C);
    this.t2 = new TLinear(p, kinds, `${n}.time_mlp2.1`, E, 2 * C);
    this.z1 = zDim ? new ZMlp(p, kinds, `${n}.z_mlp1`, zDim, C) : null;
    this.z2 = zDim ? new ZMlp(p, kinds, `${n}.z_mlp2`, zDim, C) : null;
  }
  private modulate(x: tf.Tensor3D, norm: TChannelNorm, t: TLinear, temb: tf.Tensor2D, zm: ZMlp | null, z: tf.Tensor2D | null): tf.Tensor3D {
    const B = x.shape[0], C = this.C;
    const ts = t.apply(geluErf(temb)) as tf.Tensor2D;
    const scale = ts.slice([0, 0], [B, C]).reshape([B, 1, C]), shift = ts.slice([0, C], [B, C]).reshape([B, 1, C]);
    const h = tf.add(tf.mul(norm.apply(x), tf.add(scale, 1)), shift) as tf.Tensor3D;
    return zm && z ? tf.mul(h, tf.add(zm.apply(z).reshape([B, 1, C]), 1)) as tf.Tensor3D : h;
  }
  // x, skip [B,M,C] on ctx's set, temb [B,E] → [B,M,C]
  // temb null: their encoder's blocks (no t, no z), where the backends differ: torch_dense normalises without
  // modulating; torchsparse skips both norms and feeds the normalised conv's output, not x, to the MLP
  apply(x: tf.Tensor3D, ctx: AuthorsContext, temb: tf.Tensor2D | null, skip: tf.Tensor3D | null, z: tf.Tensor2D | null): tf.Tensor3D {
    if (this.skip && skip) x = this.skip.apply(tf.concat([x, skip], 2) as tf.Tensor3D);
    if (!temb) {
      const conv = (v: tf.Tensor3D) => authorsDepthwise(v, ctx.kmap, this.kernel as unknown as tf.Tensor3D, ctx.rule, ctx.ratio);
      if (this.unnormalisedWithoutT) {
        const c = conv(x);
        return tf.add(tf.add(x, c), this.mlp2.apply(geluErf(this.mlp0.apply(c)) as tf.Tensor3D)) as tf.Tensor3D;
      }
      const y = tf.add(x, conv(this.norm1.apply(x) as tf.Tensor3D)) as tf.Tensor3D;
      return tf.add(y, this.mlp2.apply(geluErf(this.mlp0.apply(this.norm2.apply(y) as tf.Tensor3D)) as tf.Tensor3D)) as tf.Tensor3D;
    }
    let h = this.modulate(x, this.norm1, this.t1, temb, this.z1, z);
    h = authorsDepthwise(h, ctx.kmap, this.kernel as unknown as tf.Tensor3D, ctx.rule, ctx.ratio);
    x = tf.add(x, h) as tf.Tensor3D;
    h = this.modulate(x, this.norm2, this.t2, temb, this.z2, z);
    return tf.add(x, this.mlp2.apply(geluErf(this.mlp0.apply(h)) as tf.Tensor3D)) as tf.Tensor3D;
  }
}

/**
 * Entries of the authors' state_dict that are fixed, not learned: the UNO grid's positions and the normalising conv
 * (ones / k², a buffer-like Parameter with requires_grad False; torch_dense `weight` [1,1,k,k], torchsparse `kernel`
 * [k·k,1,1]). Skipped on import (the lab recomputes them), written on export (authorsFixedEntries in export.ts).
 */
export const AUTHORS_BUFFERS = ["uno_coords", "normalising_conv.weight", "normalising_conv.kernel"] as const;

/** The authors' SparseUNet over a lab `ModelConfig` with `arch: "authors"` (mapping in `authorsModelConfig`). */
export class AuthorsSparseUNet {
  /** the authors' kNN weights: inverse *squared* distance */
  static readonly KNN_POWER = 2;
  readonly kinds: KindTable = new Map();
  private readonly linIn: TLinear;
  private readonly linOut: TLinear;
  private readonly time1: TLinear;
  private readonly time2: TLinear;
  private readonly down: SparseConvResBlock[] = [];
  private readonly up: SparseConvResBlock[] = [];
  private readonly unoIn: TLinear;
  private readonly unoOut: TLinear;
  private readonly uno: AuthorsUno;

  constructor(p: Params, readonly cfg: ModelConfig) {
    const k = this.kinds, C = cfg.nf, E = cfg.timeEmbDim, U = cfg.unet.baseChannels;
    if (cfg.operator !== "depthwise" || cfg.downsample !== "knn-grid" || cfg.mlpMult !== 2) {
      throw new Error("the authors' architecture has depthwise sparse convs, kNN to a grid and MLP ×2");
    }
    // construction order = the state_dict's order
    this.linIn = new TLinear(p, k, "linear_in", cfg.channels, C);
    this.linOut = new TLinear(p, k, "linear_out", C, cfg.channels);
    this.time1 = new TLinear(p, k, "time_mlp.1", E, E);
    this.time2 = new TLinear(p, k, "time_mlp.3", E, E);
    const backend = cfg.authorsBackend ?? "torch_dense";
    for (let i = 0; i < cfg.sparseBlocks; i++) this.down.push(new SparseConvResBlock(p, k, `down_blocks.${i}`, C, cfg.kernelSize, E, false, backend, cfg.authorsZDim));
    this.unoIn = new TLinear(p, k, "uno_linear_in", C, U);
    this.unoOut = new TLinear(p, k, "uno_linear_out", U, C);
    for (let i = 0; i < cfg.sparseBlocks; i++) this.up.push(new SparseConvResBlock(p, k, `up_blocks.${i}`, C, cfg.kernelSize, E, true, backend, cfg.authorsZDim));
    const u = cfg.unet;
    this.uno = new AuthorsUno(p, k, "uno", {
      nin: U, nout: U, width: U, mults: u.mults, blocksPerLevel: u.mults.map(() => u.blocksPerLevel), embDim: E, res: u.res,
      attnRes: u.attnRes, dropoutRes: u.dropoutRes, dropout: u.dropout, zDim: cfg.authorsZDim,
    });
  }

  /** `grid`: the grid value's model part for set's grid (k' by the authors' size rule; the off-grid rule) */
  context(set: CoordSet, grid: ModelGrid): AuthorsContext {
    return new AuthorsContext(set, grid, this.cfg.unet.res, this.cfg.knnNeighbours, AuthorsSparseUNet.KNN_POWER, this.cfg.kernelSize);
  }

  // x [B,M,channels] at ctx's points, t [B] (timesteps of the 1000-step schedule), z [B, zDim] for their
  // z-conditioned decoder → [B,M,channels]
  /** The network's output at the context's points for x [B, M, C] at timesteps t (z conditions the decoder). */
  apply(x: tf.Tensor3D, ctx: AuthorsContext, t: tf.Tensor1D, dropoutRng: Rng | null, z: tf.Tensor2D | null = null): tf.Tensor3D {
    return tf.tidy(() => {
      const temb = this.time2.apply(geluErf(this.time1.apply(authorsTimeEmbedding(t, this.cfg.timeEmbDim)))) as tf.Tensor2D;
      let h = this.linIn.apply(x) as tf.Tensor3D;
      const skips: tf.Tensor3D[] = [];
      for (const b of this.down) {
        h = b.apply(h, ctx, temb, null, z);
        skips.push(h);
      }
      const U = this.cfg.unet.res, B = x.shape[0];
      const grid = applyPointTable(ctx.toGrid, this.unoIn.apply(h) as tf.Tensor3D).reshape([B, U, U, -1]) as tf.Tensor4D;
      const g = this.uno.apply(grid, temb, dropoutRng, z);
      h = this.unoOut.apply(applyPointTable(ctx.fromGrid, g.reshape([B, U * U, -1]) as tf.Tensor3D)) as tf.Tensor3D;
      for (const b of this.up) h = b.apply(h, ctx, temb, skips.pop() as tf.Tensor3D, z);
      return this.linOut.apply(h) as tf.Tensor3D;
    });
  }
}
