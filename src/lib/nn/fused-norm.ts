/**
 * Time-modulated LayerNorm as one kernel (the sparse blocks' `mod(LN(x), t)`, Appendix A):
 *     y[b,m,c] = (x̂[b,m,c]·γ[c] + β[c]) · (1 + scale[b,c]) + shift[b,c],   x̂ = (x − μ_bm) · rstd_bm,
 *     μ_bm = mean_c x[b,m,c],  rstd_bm = 1/√(mean_c (x − μ)² + ε).
 * Why: as a chain of tfjs ops this is 11 ops forward and ~25 backward, and the gradient tape keeps about a dozen
 * [B,M,C] tensors per call alive until the backward pass (tfjs saves both inputs of every Add/Sub/Mul): 4 calls per
 * block made it the largest share of a training step's peak memory. Fused, the backward pass needs only x and the
 * per-row (μ, rstd), and recomputes x̂. Forward and backward are typed kernels in float64, rounded once (float32
 * rounding away from the op chain; tests/lib/runtime/fused.test.ts). Gradients, with a = 1 + scale, z = x̂γ + β:
 *     ∂shift = Σ_m dy,  ∂scale = Σ_m dy·z,  dz = dy·a,  ∂β = Σ_{b,m} dz,  ∂γ = Σ_{b,m} dz·x̂,
 *     ∂x = rstd·(g − mean_c g − x̂·mean_c(g·x̂)),  g = dz·γ.
 */
import { tf } from "../runtime/backend";
import { customOp, registerTypedKernel, runTypedKernel } from "../runtime/typed-kernels";
import { alloc, f32, free, memoryOf, ptr } from "../runtime/wasm-kernels/heap";
import { GN_ROW, wasmPointwise } from "../runtime/wasm-kernels/pointwise";
import { simdFor } from "../runtime/wasm-kernels/simd";
import { JOB } from "../runtime/wasm-kernels/jobs";
import { POINTWISE_SPLIT, splitJob } from "../runtime/wasm-kernels/parallel";

interface Attrs { B: number; M: number; C: number; eps: number }

registerTypedKernel<Attrs>({
  name: "InftyModLayerNorm",
  inputNames: ["x", "gamma", "beta", "scale", "shift"],
  // y [B,M,C] and the per-row statistics [B·M, 2] = (μ, rstd)
  outputs: ([xs], { B, M }) => [xs, [B * M, 2]],
  run: ([x, g, be, sc, sh], [y, stats], { B, M, C, eps }) => {
    for (let b = 0; b < B; b++) {
      const sb = b * C;
      for (let m = 0; m < M; m++) {
        const row = b * M + m, o = row * C;
        let s = 0;
        for (let c = 0; c < C; c++) s += x[o + c];
        const mu = s / C;
        let v = 0;
        for (let c = 0; c < C; c++) { const d = x[o + c] - mu; v += d * d; }
        const rstd = 1 / Math.sqrt(v / C + eps);
        stats[2 * row] = mu;
        stats[2 * row + 1] = rstd;
        for (let c = 0; c < C; c++) {
          const z = (x[o + c] - mu) * rstd * g[c] + be[c];
          y[o + c] = z * (1 + sc[sb + c]) + sh[sb + c];
        }
      }
    }
  },  // wasm: f32x4 rows with float32 sums (wasm-kernels/pointwise.ts), float32 rounding away from this loop
  runWasm: (be, [x, g, bt, sc, sh], [y, stats], { B, M, C, eps }) => {
    const pw = wasmPointwise(be);
    if (pw == null || C % 4 !== 0) return false;
    // rows split across the parallel pool's threads (each row's statistics stay on one thread: the same bits)
    const params = [ptr(be, y), ptr(be, stats), ptr(be, x), ptr(be, g), ptr(be, bt), ptr(be, sc), ptr(be, sh), M, C, eps];
    splitJob(memoryOf(be), JOB.modLayerNorm, params, B * M,
      { minChunk: Math.ceil(POINTWISE_SPLIT.minChunk / C), minTotal: Math.ceil((POINTWISE_SPLIT.minTotal ?? 0) / C) });
    return true;
  },
});

registerTypedKernel<Attrs>({
  name: "InftyModLayerNormGrad",
  inputNames: ["dy", "x", "stats", "gamma", "beta", "scale"],
  outputs: ([, xs], { B, C }) => [xs, [C], [C], [B, 1, C], [B, 1, C]],
  run: ([dy, x, st, g, be, sc], [dx, dg, db, dsc, dsh], { B, M, C }) => {
    const accG = new Float64Array(C), accB = new Float64Array(C), accS = new Float64Array(C), accH = new Float64Array(C);
    const xh = new Float64Array(C), gz = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      const sb = b * C;
      accS.fill(0);
      accH.fill(0);
      for (let m = 0; m < M; m++) {
        const row = b * M + m, o = row * C;
        const mu = st[2 * row], rstd = st[2 * row + 1];
        let mg = 0, mgx = 0;
        for (let c = 0; c < C; c++) {
          const h = (x[o + c] - mu) * rstd, d = dy[o + c];
          xh[c] = h;
          accH[c] += d;
          accS[c] += d * (h * g[c] + be[c]);
          const dz = d * (1 + sc[sb + c]);
          accB[c] += dz;
          accG[c] += dz * h;
          const q = dz * g[c];
          gz[c] = q;
          mg += q;
          mgx += q * h;
        }
        mg /= C;
        mgx /= C;
        for (let c = 0; c < C; c++) dx[o + c] = rstd * (gz[c] - mg - xh[c] * mgx);
      }
      for (let c = 0; c < C; c++) { dsc[sb + c] = accS[c]; dsh[sb + c] = accH[c]; }
    }
    for (let c = 0; c < C; c++) { dg[c] = accG[c]; db[c] = accB[c]; }
  },
});

const fused = (attrs: Attrs) =>
  customOp((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, stats] = runTypedKernel("InftyModLayerNorm", { x, gamma, beta, scale, shift }, attrs) as tf.Tensor[];
    save([x, stats, gamma, beta, scale]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) =>
        runTypedKernel("InftyModLayerNormGrad", { dy, x: s[0], stats: s[1], gamma: s[2], beta: s[3], scale: s[4] }, attrs) as tf.Tensor[],
    };
  });

/**
 * (LN(x)·γ + β)·(1 + scale) + shift, fused (see the module note). x [B,M,C]; gamma, beta [C]; scale, shift [B,1,C].
 * Differentiable in all five. The reference it must equal is `modulatedLayerNormReference`.
 */
export function modulatedLayerNorm(x: tf.Tensor3D, gamma: tf.Tensor, beta: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, eps: number): tf.Tensor3D {
  const [B, M, C] = x.shape;
  const ok = (t: tf.Tensor, shape: number[]) => t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!ok(gamma, [C]) || !ok(beta, [C]) || !ok(scale, [B, 1, C]) || !ok(shift, [B, 1, C])) {
    throw new Error(`modulatedLayerNorm: x [${x.shape}] vs gamma [${gamma.shape}], beta [${beta.shape}], scale [${scale.shape}], shift [${shift.shape}]`);
  }
  const be = tf.getBackend();
  if (x.dtype !== "float32" || tf.getKernel("InftyModLayerNorm", be) == null) return modulatedLayerNormReference(x, gamma, beta, scale, shift, eps);
  return fused({ B, M, C, eps })(x, gamma, beta, scale, shift) as tf.Tensor3D;
}

/** The op chain the fused kernel replaces (LayerNorm.apply then the block's modulation). */
export function modulatedLayerNormReference(x: tf.Tensor3D, gamma: tf.Tensor, beta: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, eps: number): tf.Tensor3D {
  return tf.tidy(() => {
    const mean = tf.mean(x, 2, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), 2, true);
    const y = tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
    return tf.add(tf.mul(y, tf.add(scale, 1)), shift) as tf.Tensor3D;
  });
}

/**
 * The U-Net residual block's GroupNorm → (modulation) → SiLU as one kernel, same reasons and same float64 scheme:
 *     u = (x̂·γ + β)·(1 + scale) + shift,  y = u·σ(u),   x̂ normalised over (H·W, C/G) per image and group.
 * Without modulation scale = shift = 0. Backward recomputes x̂ and u from x and the per-(image, group) (μ, rstd):
 *     du = dy·σ(u)(1 + u(1 − σ(u))), then as above with dz = du·(1 + scale), g = dz·γ and the group means over N·C/G.
 */
interface GnAttrs { B: number; N: number; C: number; G: number; eps: number; mod: boolean }

registerTypedKernel<GnAttrs>({
  name: "InftyGroupNormSilu",
  inputNames: ["x", "gamma", "beta", "scale", "shift"],
  outputs: ([xs], { B, G }) => [xs, [B * G, 2]],
  run: ([x, g, be, sc, sh], [y, stats], { B, N, C, G, eps, mod }) => {
    const cg = C / G, cnt = N * cg;
    for (let b = 0; b < B; b++) {
      for (let q = 0; q < G; q++) {
        const c0 = q * cg;
        let s = 0;
        for (let n = 0; n < N; n++) { const o = (b * N + n) * C + c0; for (let c = 0; c < cg; c++) s += x[o + c]; }
        const mu = s / cnt;
        let v = 0;
        for (let n = 0; n < N; n++) { const o = (b * N + n) * C + c0; for (let c = 0; c < cg; c++) { const d = x[o + c] - mu; v += d * d; } }
        const rstd = 1 / Math.sqrt(v / cnt + eps);
        stats[2 * (b * G + q)] = mu;
        stats[2 * (b * G + q) + 1] = rstd;
        for (let n = 0; n < N; n++) {
          const o = (b * N + n) * C;
          for (let c = c0; c < c0 + cg; c++) {
            let u = (x[o + c] - mu) * rstd * g[c] + be[c];
            if (mod) u = u * (1 + sc[b * C + c]) + sh[b * C + c];
            y[o + c] = u / (1 + Math.exp(-u));
          }
        }
      }
    }
  },
  // wasm: per image, channel sums and centred squares in f32x4 (group totals and rstd in float64 from those C
  // partial sums), then u = (x − μ)·(rstd·γ·(1 + scale)) + (β·(1 + scale) + shift) and u·σ(u) in one f32x4 pass
  runWasm: (be, [x, g, bt, sc, sh], [y, stats], { B, N, C, G, eps, mod }) => {
    const pw = wasmPointwise(be);
    if (pw == null || C % 4 !== 0) return false;
    const simd = simdFor(memoryOf(be));
    const rows = alloc(be, [6, C], "float32", false); // S, Q, M, A, Bv, ones
    const R = ptr(be, rows), X = ptr(be, x), Y = ptr(be, y), c4 = 4 * C;
    const [S, Q, M, A, Bv, one] = [0, 1, 2, 3, 4, 5].map((r) => new Float32Array(f32(be, rows).buffer, R + r * c4, C));
    const gv = f32(be, g), bv = f32(be, bt), scv = f32(be, sc), shv = f32(be, sh), st = f32(be, stats);
    one.fill(1);
    const cg = C / G, cnt = N * cg;
    for (let b = 0; b < B; b++) {
      const Xb = X + b * N * c4;
      simd.rowSet(R, Xb, R + 5 * c4, 1, C, C, C, N, C, 0); // S[c] = Σ_n x[n, c]
      for (let q = 0; q < G; q++) {
        let s = 0;
        for (let c = q * cg; c < (q + 1) * cg; c++) s += S[c];
        M.fill(s / cnt, q * cg, (q + 1) * cg);
      }
      Q.fill(0);
      pw.centeredSq(R + c4, Xb, R + 2 * c4, N, C);
      for (let q = 0; q < G; q++) {
        let v = 0;
        for (let c = q * cg; c < (q + 1) * cg; c++) v += Q[c];
        const rstd = 1 / Math.sqrt(v / cnt + eps);
        st[2 * (b * G + q)] = M[q * cg];
        st[2 * (b * G + q) + 1] = rstd;
        for (let c = q * cg; c < (q + 1) * cg; c++) {
          const a = mod ? 1 + scv[b * C + c] : 1;
          A[c] = rstd * gv[c] * a;
          Bv[c] = mod ? bv[c] * a + shv[b * C + c] : bv[c];
        }
      }
      pw.affineSilu(Y + b * N * c4, Xb, R + 2 * c4, R + 3 * c4, R + 4 * c4, N, C);
    }
    free(be, rows);
    return true;
  },
});

registerTypedKernel<GnAttrs>({
  name: "InftyGroupNormSiluGrad",
  inputNames: ["dy", "x", "stats", "gamma", "beta", "scale", "shift"],
  outputs: ([, xs, , , , scs], { C }) => [xs, [C], [C], scs, scs],
  run: ([dy, x, st, g, be, sc, sh], [dx, dg, db, dsc, dsh], { B, N, C, G, mod }) => {
    const cg = C / G, cnt = N * cg;
    const accG = new Float64Array(C), accB = new Float64Array(C), accS = new Float64Array(C), accH = new Float64Array(C);
    const gz = new Float64Array(N * cg), xh = new Float64Array(N * cg);
    for (let b = 0; b < B; b++) {
      accS.fill(0);
      accH.fill(0);
      for (let q = 0; q < G; q++) {
        const c0 = q * cg, mu = st[2 * (b * G + q)], rstd = st[2 * (b * G + q) + 1];
        let mg = 0, mgx = 0;
        for (let n = 0; n < N; n++) {
          const o = (b * N + n) * C;
          for (let j = 0; j < cg; j++) {
            const c = c0 + j, h = (x[o + c] - mu) * rstd, z = h * g[c] + be[c];
            const a = mod ? 1 + sc[b * C + c] : 1;
            const u = mod ? z * a + sh[b * C + c] : z;
            const sg = 1 / (1 + Math.exp(-u));
            const du = dy[o + c] * sg * (1 + u * (1 - sg));
            accH[c] += du;
            accS[c] += du * z;
            const dz = du * a;
            accB[c] += dz;
            accG[c] += dz * h;
            const k = n * cg + j, qq = dz * g[c];
            gz[k] = qq;
            xh[k] = h;
            mg += qq;
            mgx += qq * h;
          }
        }
        mg /= cnt;
        mgx /= cnt;
        for (let n = 0; n < N; n++) {
          const o = (b * N + n) * C + c0;
          for (let j = 0; j < cg; j++) { const k = n * cg + j; dx[o + j] = rstd * (gz[k] - mg - xh[k] * mgx); }
        }
      }
      if (mod) for (let c = 0; c < C; c++) { dsc[b * C + c] = accS[c]; dsh[b * C + c] = accH[c]; }
    }
    for (let c = 0; c < C; c++) { dg[c] = accG[c]; db[c] = accB[c]; }
  },
  // wasm: the same two passes per image in f32x4 (pointwise.ts gnSiluGrad1/2; per-image channel sums in float32, the
  // group means and the sums over images in float64)
  runWasm: (be, [dy, x, st, g, bt, sc, sh], [dx, dg, db, dsc, dsh], { B, N, C, G, mod }) => {
    const pw = wasmPointwise(be);
    if (pw == null || C % 4 !== 0) return false;
    const rows = alloc(be, [Object.keys(GN_ROW).length, C], "float32", false);
    const R = ptr(be, rows), DX = ptr(be, dx), DY = ptr(be, dy), X = ptr(be, x), c4 = 4 * C;
    const heapRow = (name: keyof typeof GN_ROW) => new Float32Array(f32(be, rows).buffer, R + GN_ROW[name] * c4, C);
    const [M, Rs, Gm, Bt, Av, Sh, accH, accS, accB, accG, accMg, accMgx, MG, MGX] =
      (Object.keys(GN_ROW) as Array<keyof typeof GN_ROW>).map(heapRow);
    const stv = f32(be, st), scv = f32(be, sc), shv = f32(be, sh);
    const dgv = f32(be, dg), dbv = f32(be, db), dscv = f32(be, dsc), dshv = f32(be, dsh);
    Gm.set(f32(be, g));
    Bt.set(f32(be, bt));
    const sumG = new Float64Array(C), sumB = new Float64Array(C);
    const cg = C / G, cnt = N * cg;
    if (!mod) { dscv.fill(0); dshv.fill(0); }
    for (let b = 0; b < B; b++) {
      for (let q = 0; q < G; q++) {
        M.fill(stv[2 * (b * G + q)], q * cg, (q + 1) * cg);
        Rs.fill(stv[2 * (b * G + q) + 1], q * cg, (q + 1) * cg);
      }
      for (let c = 0; c < C; c++) { Av[c] = mod ? 1 + scv[b * C + c] : 1; Sh[c] = mod ? shv[b * C + c] : 0; }
      for (const a of [accH, accS, accB, accG, accMg, accMgx]) a.fill(0);
      const o = b * N * c4;
      pw.gnSiluGrad1(DX + o, DY + o, X + o, R, N, C);
      for (let q = 0; q < G; q++) {
        let mg = 0, mgx = 0;
        for (let c = q * cg; c < (q + 1) * cg; c++) { mg += accMg[c]; mgx += accMgx[c]; }
        MG.fill(mg / cnt, q * cg, (q + 1) * cg);
        MGX.fill(mgx / cnt, q * cg, (q + 1) * cg);
      }
      pw.gnSiluGrad2(DX + o, X + o, R, N, C);
      for (let c = 0; c < C; c++) {
        sumG[c] += accG[c];
        sumB[c] += accB[c];
        if (mod) { dscv[b * C + c] = accS[c]; dshv[b * C + c] = accH[c]; }
      }
    }
    dgv.set(sumG);
    dbv.set(sumB);
    free(be, rows);
    return true;
  },
});

const fusedGn = (attrs: GnAttrs) =>
  customOp((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, stats] = runTypedKernel("InftyGroupNormSilu", { x, gamma, beta, scale, shift }, attrs) as tf.Tensor[];
    save([x, stats, gamma, beta, scale, shift]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) =>
        runTypedKernel("InftyGroupNormSiluGrad", { dy, x: s[0], stats: s[1], gamma: s[2], beta: s[3], scale: s[4], shift: s[5] }, attrs) as tf.Tensor[],
    };
  });

/**
 * SiLU(GroupNorm(x)·(1 + scale) + shift), fused. x [B,H,W,C]; gamma, beta [C]; scale, shift [B,1,1,C] or both null
 * (no modulation). Differentiable in all inputs; the reference is `groupNormSiluReference`.
 */
export function groupNormSilu(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps: number,
  scale: tf.Tensor | null = null, shift: tf.Tensor | null = null): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const bad = (t: tf.Tensor | null, shape: number[]) => t != null && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]));
  if (C % groups !== 0 || bad(gamma, [C]) || bad(beta, [C]) || (scale == null) !== (shift == null) || bad(scale, [B, 1, 1, C]) || bad(shift, [B, 1, 1, C])) {
    throw new Error(`groupNormSilu: x [${x.shape}], ${groups} groups vs gamma [${gamma.shape}], beta [${beta.shape}], scale [${scale?.shape}], shift [${shift?.shape}]`);
  }
  if (x.dtype !== "float32" || tf.getKernel("InftyGroupNormSilu", tf.getBackend()) == null) return groupNormSiluReference(x, gamma, beta, groups, eps, scale, shift);
  const mod = scale != null;
  return tf.tidy(() => {
    // without modulation the kernel still takes (unused) scale/shift inputs: [1] zeros keep their gradients out of the way
    const s = mod ? (scale as tf.Tensor) : tf.zeros([1]), h = mod ? (shift as tf.Tensor) : tf.zeros([1]);
    return fusedGn({ B, N: H * W, C, G: groups, eps, mod })(x, gamma, beta, s, h) as tf.Tensor4D;
  });
}

/** The op chain `groupNormSilu` replaces (GroupNorm.apply, modulation, silu). */
export function groupNormSiluReference(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps: number,
  scale: tf.Tensor | null = null, shift: tf.Tensor | null = null): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const g = x.reshape([B, H * W, groups, C / groups]);
    const mean = tf.mean(g, [1, 3], true);
    const centred = tf.sub(g, mean);
    const variance = tf.mean(tf.square(centred), [1, 3], true);
    let u = tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))).reshape([B, H, W, C]), gamma), beta);
    if (scale && shift) u = tf.add(tf.mul(u, tf.add(scale, 1)), shift);
    return tf.mul(u, tf.sigmoid(u)) as tf.Tensor4D;
  });
}
