/**
 * Conv2D gradients for the wasm backend, built on its fast XNNPACK kernels (forward Conv2D, plain BatchMatMul).
 *
 * Filter gradient (wasm has no Conv2DBackpropFilter): dW[i,j,ci,co] = Σ_{b,o} xpad[b, o·s+i, ci] · dy[b, o, co].
 *   dW = col · dy, one matMul with no transpose (wasm's transposeA path runs at <1 GFLOP/s) over an exact im2col
 *   matrix col [K·Cin, B·Ho·Wo] built with f32x4 strided copies (filterGradExact). Measured against the
 *   alternatives on the U-Net's shapes (bench/conv-grad.ts): 1.2–2× faster than the previous im2col with plane
 *   margins (filterGradIm2col), and faster than XNNPACK's forward conv with batch and channels swapped (x as
 *   [Cin, H, W, B], dy as a [Ho, Wo, B, Cout] kernel dilated by the stride), which runs at ~13 GFLOP/s here
 *   against ~35 for the matMul.
 * Input gradient (wasm's Conv2DBackpropInput is ~10× slower than a forward conv): dx is a forward conv of dy
 *   with the flipped kernel (stride 1: XNNPACK pads dy itself, the forward padding mirrored); for stride s a
 *   VALID conv of a padded copy of dy, the s² output phases being the channel blocks of one conv with a
 *   rearranged kernel [⌈k/s⌉, ⌈k/s⌉, Cout, s²·Cin], interleaved back (depth-to-space) in JS.
 */
import { tf } from "../backend";
import { WasmBackend, TensorInfo, alloc, f32, free, ptr, runOriginal } from "./heap";
import type { Simd } from "./simd";

type Conv2DInfo = tf.backend_util.Conv2DInfo;

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

function info(xShape: number[], filterShape: number[], a: ConvAttrs, kernel: string): Conv2DInfo {
  const ci = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat ?? "NHWC"),
  );
  if (ci.dataFormat !== "channelsLast") throw new Error(`wasm ${kernel}: only NHWC is supported`);
  if (ci.dilationHeight !== 1 || ci.dilationWidth !== 1) throw new Error(`wasm ${kernel}: dilations must be 1`);
  return ci;
}

// Reused across calls: a fresh 5 MB Float32Array per call costs more (zeroing, page faults, GC) than the transpose.
let scratch = new Float32Array(0);
function zeroedScratch(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  const v = scratch.subarray(0, n);
  v.fill(0);
  return v;
}

/** Largest im2col matrix (floats) built at once; larger batches are split (the results summed). */
const COL_BUDGET = 24 * 1024 * 1024;

let fastPaths = true;
/**
 * Selects the conv gradients' paths (bench comparisons): true (default) = the filter gradient's exact im2col and the
 * stride-1 input gradient padded inside XNNPACK; false = the previous ones (im2col with plane margins; a padded
 * copy of dy).
 */
export function setWasmConvGradFast(on: boolean): void {
  fastPaths = on;
}

/**
 * Writes images b0 … b0+nb−1 of x [B, H, W, Cin] into stride-phase planes: plane (ph·sw+pw)·Cin + ci (each
 * `planeStride` floats) holds xpad[b, hh·sh+ph, ww·sw+pw, ci] at offset at(b, hh) + ww. One input row at a time
 * (stays in cache), channel by channel, so the writes run along ww; padding positions are left as they are (zero).
 */
function scatterPhasePlanes(
  xs: Float32Array, dst: Float32Array,
  g: { b0: number; nb: number; H: number; W: number; Cin: number; pt: number; pl: number; sh: number; sw: number; Hq: number; Wq: number },
  planeStride: number, at: (b: number, hh: number) => number,
): void {
  const { b0, nb, H, W, Cin, pt, pl, sh, sw, Hq, Wq } = g;
  // column part of each input column's destination (−1: never read); (pw, ww) alternate with the stride
  const wOff = new Int32Array(W);
  for (let w = 0; w < W; w++) {
    const wp = w + pl, ww = Math.floor(wp / sw);
    wOff[w] = ww < Wq ? (wp - ww * sw) * Cin * planeStride + ww : -1;
  }
  for (let b = 0; b < nb; b++) {
    for (let h = 0; h < H; h++) {
      const hp = h + pt, hh = Math.floor(hp / sh);
      if (hh >= Hq) break;
      const row = (((b0 + b) * H + h) * W) * Cin;
      const base = (hp - hh * sh) * sw * Cin * planeStride + at(b, hh);
      for (let ci = 0; ci < Cin; ci++) {
        const d0 = base + ci * planeStride;
        for (let w = 0; w < W; w++) {
          const o = wOff[w];
          if (o >= 0) dst[d0 + o] = xs[row + w * Cin + ci];
        }
      }
    }
  }
}

// dW [kh, kw, Cin, Cout] from x [B, H, W, Cin] and dy [B, Ho, Wo, Cout].
export function conv2dBackpropFilter(be: WasmBackend, simd: Simd, x: TensorInfo, dy: TensorInfo, filterShape: number[], a: ConvAttrs): TensorInfo {
  return fastPaths ? filterGradExact(be, simd, x, dy, filterShape, a) : filterGradIm2col(be, x, dy, filterShape, a);
}

/** The filter gradient's geometry: sizes, strides, padding, and the stride-phase planes' sides Hq × Wq. */
function filterGradGeometry(x: TensorInfo, filterShape: number[], a: ConvAttrs) {
  const c = info(x.shape, filterShape, a, "Conv2DBackpropFilter");
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Cin, outHeight: Ho, outWidth: Wo, outChannels: Cout } = c;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = c;
  const Hq = Ho + Math.floor((kh - 1) / sh), Wq = Wo + Math.floor((kw - 1) / sw);
  return { B, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw, pt: c.padInfo.top, pl: c.padInfo.left, Hq, Wq, K: kh * kw };
}

/**
 * dW = col · dy with an exact im2col matrix col [K·Cin, N], N = B·Ho·Wo (columns ordered (ho, b, wo)):
 * x is rearranged once into stride-phase planes [phase][Cin][Hq][B][Wq]; in that order the Ho·B rows of Wo
 * columns that tap (i,j) needs for one channel lie at a uniform stride Wq, so one f32x4 strided copy (rowSet
 * against a row of ones: ·1 is exact) fills a whole row of col.
 */
function filterGradExact(be: WasmBackend, simd: Simd, x: TensorInfo, dy: TensorInfo, filterShape: number[], a: ConvAttrs): TensorInfo {
  const { B, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw, pt, pl, Hq, Wq, K } = filterGradGeometry(x, filterShape, a);
  const bChunk = Math.max(1, Math.min(B, Math.floor(COL_BUDGET / (K * Cin * Ho * Wo))));
  let out: TensorInfo | null = null;
  for (let b0 = 0; b0 < B; b0 += bChunk) {
    const nb = Math.min(bChunk, B - b0);
    const N = Ho * nb * Wo, PL = Hq * nb * Wq; // PL: one (phase, channel) plane
    const xph = alloc(be, [sh * sw * Cin * PL]);
    const col = alloc(be, [1, K * Cin, N], "float32", false);
    const dyq = alloc(be, [1, N, Cout], "float32", false);
    const ones = alloc(be, [Wo], "float32", false);
    f32(be, ones).fill(1);
    const xs = f32(be, x), xv = f32(be, xph);
    // xph[(ph·sw+pw)·Cin + ci][hh][b][ww] = xpad[b, hh·sh+ph, ww·sw+pw, ci]
    scatterPhasePlanes(xs, xv, { b0, nb, H, W, Cin, pt, pl, sh, sw, Hq, Wq }, PL, (b, hh) => (hh * nb + b) * Wq);
    const xp = ptr(be, xph), cp = ptr(be, col), op1 = ptr(be, ones);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const phase = (i % sh) * sw + (j % sw);
        for (let ci = 0; ci < Cin; ci++) {
          const src = ((phase * Cin + ci) * Hq + Math.floor(i / sh)) * nb * Wq + Math.floor(j / sw);
          simd.rowSet(cp + 4 * ((i * kw + j) * Cin + ci) * N, xp + 4 * src, op1, Ho * nb, Wo, Wo, Wq, 1, 0, 0);
        }
      }
    }
    // dyq[(ho, b, wo), co] = dy[b0 + b, ho, wo, co]
    const dyv = f32(be, dy), dqv = f32(be, dyq), run = Wo * Cout;
    for (let ho = 0; ho < Ho; ho++) {
      for (let b = 0; b < nb; b++) {
        const src = ((b0 + b) * Ho + ho) * run;
        dqv.set(dyv.subarray(src, src + run), (ho * nb + b) * run);
      }
    }
    free(be, xph, ones);
    const part = runOriginal(be, "BatchMatMul", { a: col, b: dyq }, { transposeA: false, transposeB: false });
    free(be, col, dyq);
    if (out == null) out = part;
    else {
      const acc = f32(be, out), pv = f32(be, part);
      for (let k = 0; k < acc.length; k++) acc[k] += pv[k];
      free(be, part);
    }
  }
  out!.shape = filterShape.slice();
  return out!;
}

/**
 * The previous filter gradient, kept for before/after timing (bench/conv-grad.ts, bench/ddim-step.ts): im2col over
 * whole padded phase planes, so every column window is one contiguous copy, at the price of multiplying the
 * planes' margins (zero rows of dy): 1.27× the products at 16², 1.56× at 8², 2.25× at 4².
 */
function filterGradIm2col(be: WasmBackend, x: TensorInfo, dy: TensorInfo, filterShape: number[], a: ConvAttrs): TensorInfo {
  // Phase planes: xph[ph,pw][ci][b][hh][ww] = xpad[b, hh·sh+ph, ww·sw+pw, ci].
  const { B, H, W, Cin, Ho, Wo, Cout, kh, kw, sh, sw, pt, pl, Hq, Wq, K } = filterGradGeometry(x, filterShape, a);
  const plane = Hq * Wq;
  const tail = Math.floor((kh - 1) / sh) * Wq + Math.floor((kw - 1) / sw);
  const bChunk = Math.max(1, Math.min(B, Math.floor(COL_BUDGET / (K * Cin * plane))));

  const out = alloc(be, filterShape);
  for (let b0 = 0; b0 < B; b0 += bChunk) {
    const nb = Math.min(bChunk, B - b0);
    const N = nb * plane;
    const xph = zeroedScratch(sh * sw * Cin * N + tail);
    const xs = f32(be, x);
    scatterPhasePlanes(xs, xph, { b0, nb, H, W, Cin, pt, pl, sh, sw, Hq, Wq }, N, (b, hh) => b * plane + hh * Wq);
    const col = alloc(be, [1, K * Cin, N], "float32", false);
    const dyq = alloc(be, [1, N, Cout]);
    const colv = f32(be, col), dyqv = f32(be, dyq), dyv = f32(be, dy);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const phase = (i % sh) * sw + (j % sw);
        const shift = Math.floor(i / sh) * Wq + Math.floor(j / sw);
        for (let ci = 0; ci < Cin; ci++) {
          const src = (phase * Cin + ci) * N + shift;
          colv.set(xph.subarray(src, src + N), ((i * kw + j) * Cin + ci) * N);
        }
      }
    }
    for (let b = 0; b < nb; b++) {
      for (let ho = 0; ho < Ho; ho++) {
        const src = ((b0 + b) * Ho + ho) * Wo * Cout;
        dyqv.set(dyv.subarray(src, src + Wo * Cout), (b * plane + ho * Wq) * Cout);
      }
    }
    // dW [K·Cin, Cout] = col [K·Cin, N] · dy [N, Cout]
    const part = runOriginal(be, "BatchMatMul", { a: col, b: dyq }, { transposeA: false, transposeB: false });
    free(be, col, dyq);
    const acc = f32(be, out), pv = f32(be, part);
    for (let k = 0; k < acc.length; k++) acc[k] += pv[k];
    free(be, part);
  }
  return out;
}

// dx [B, H, W, Cin] from dy [B, Ho, Wo, Cout] and filter [kh, kw, Cin, Cout].
export function conv2dBackpropInput(be: WasmBackend, dy: TensorInfo, filter: TensorInfo, inputShape: number[], a: ConvAttrs): TensorInfo {
  const c = info(inputShape, filter.shape, a, "Conv2DBackpropInput");
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Cin, outHeight: Ho, outWidth: Wo, outChannels: Cout } = c;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = c;
  const pt = c.padInfo.top, pl = c.padInfo.left;
  const Mh = Math.ceil(kh / sh), Mw = Math.ceil(kw / sw);
  // Output phase rows a ∈ [a0, a0+A) cover q = h + pt for h ∈ [0, H).
  const a0 = Math.floor(pt / sh), A = Math.ceil((pt + H) / sh) - a0;
  const c0 = Math.floor(pl / sw), Aw = Math.ceil((pl + W) / sw) - c0;
  const S = sh * sw;

  // Rearranged kernel wc [Mh, Mw, Cout, S·Cin]: wc[m,n,co,(ph·sw+pw)·Cin+ci] = w[sh·(Mh−1−m)+ph, sw·(Mw−1−n)+pw, ci, co].
  const wc = alloc(be, [Mh, Mw, Cout, S * Cin]);
  {
    const wv = f32(be, filter), wcv = f32(be, wc);
    for (let m = 0; m < Mh; m++) for (let ph = 0; ph < sh; ph++) {
      const i = sh * (Mh - 1 - m) + ph;
      if (i >= kh) continue;
      for (let n = 0; n < Mw; n++) for (let pw = 0; pw < sw; pw++) {
        const j = sw * (Mw - 1 - n) + pw;
        if (j >= kw) continue;
        for (let ci = 0; ci < Cin; ci++) {
          const src = ((i * kw + j) * Cin + ci) * Cout;
          let dst = ((m * Mw + n) * Cout) * S * Cin + (ph * sw + pw) * Cin + ci;
          for (let co = 0; co < Cout; co++, dst += S * Cin) wcv[dst] = wv[src + co];
        }
      }
    }
  }
  if (S === 1 && fastPaths) {
    // stride 1: XNNPACK pads dy itself (no padded copy); the padding is the forward conv's, mirrored
    const top = kh - 1 - pt, left = kw - 1 - pl, bottom = H + pt - Ho, right = W + pl - Wo;
    if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
      const y = runOriginal(be, "Conv2D", { x: dy, filter: wc },
        { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: "NHWC", dilations: [1, 1] });
      free(be, wc);
      return y;
    }
  }
  // dypad[b, r, t] = dy[b, r + a0 − (Mh−1), t + c0 − (Mw−1)], zero outside.
  const Hd = A + Mh - 1, Wd = Aw + Mw - 1;
  const dyp = alloc(be, [B, Hd, Wd, Cout]);
  {
    const src = f32(be, dy), dst = f32(be, dyp);
    const dc = c0 - (Mw - 1);
    const t0 = Math.max(0, -dc), t1 = Math.min(Wd, Wo - dc);
    for (let b = 0; b < B; b++) for (let r = 0; r < Hd; r++) {
      const o = r + a0 - (Mh - 1);
      if (o < 0 || o >= Ho || t1 <= t0) continue;
      const s0 = ((b * Ho + o) * Wo + t0 + dc) * Cout;
      dst.set(src.subarray(s0, s0 + (t1 - t0) * Cout), ((b * Hd + r) * Wd + t0) * Cout);
    }
  }
  const y = runOriginal(be, "Conv2D", { x: dyp, filter: wc },
    { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] });
  free(be, dyp, wc);
  if (S === 1 && A === H && Aw === W) return y; // stride 1: y is dx
  // Depth-to-space and crop: dx[b,h,w,ci] = y[b, ⌊q/sh⌋−a0, ⌊u/sw⌋−c0, ((q mod sh)·sw + u mod sw)·Cin + ci], q=h+pt, u=w+pl.
  const dx = alloc(be, [B, H, W, Cin], "float32", false);
  const yv = f32(be, y), dxv = f32(be, dx);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const q = h + pt, ar = Math.floor(q / sh), ph = q - ar * sh;
    for (let w = 0; w < W; w++) {
      const u = w + pl, ac = Math.floor(u / sw), pw = u - ac * sw;
      const s0 = ((b * A + ar - a0) * Aw + ac - c0) * S * Cin + (ph * sw + pw) * Cin;
      dxv.set(yv.subarray(s0, s0 + Cin), ((b * H + h) * W + w) * Cin);
    }
  }
  free(be, y);
  return dx;
}
