/**
 * Depthwise conv forward and both gradients for the wasm backend, on the shared-memory SIMD `fma` row primitive
 * (see simd.ts). tfjs 4.22's wasm depthwise runs 7×7 at ~1 GFLOP/s and has no gradient kernels at all.
 *
 * With C' = C·m channels (channel multiplier m; x's channels repeated m times so out channel c·m+q pairs with x
 * channel c, as tfjs orders them), for every output row (b, ho) and kernel row i:
 *   forward        y[b,ho,wo,:]  += Σ_j xpad[b, ho·s+i·d, wo·s+j·d, :] ⊙ w[i,j,:]       (rowFma, sum over j in registers)
 *   filter grad    dW[i,j,:]     += Σ_wo xpad[b, ho·s+i·d, wo·s+j·d, :] ⊙ dy[b,ho,wo,:]  (rowFma, sum over wo in registers)
 *   input grad     stride 1: the forward correlation of dy (padded) with the flipped kernel;
 *                  stride > 1: scatter form dxpad[b, ho·s+i·d, wo·s+j·d, :] += dy[b,ho,wo,:] ⊙ w[i,j,:] (fma)
 */
import { tf } from "../backend";
import { WasmBackend, TensorInfo, alloc, f32, free, ptr } from "./heap";
import { Simd } from "./simd";

interface DwAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  dataFormat?: "NHWC" | "NCHW";
}

interface Geo {
  B: number; H: number; W: number; C: number; m: number; Cp: number;
  Ho: number; Wo: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  pt: number; pl: number; Hp: number; Wp: number;
}

function geometry(xShape: number[], filterShape: number[], a: DwAttrs, kernel: string): Geo {
  if ((a.dataFormat ?? "NHWC") !== "NHWC") throw new Error(`wasm ${kernel}: only NHWC is supported`);
  const c = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true,
  );
  const m = filterShape[3];
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const Ho = c.outHeight, Wo = c.outWidth, kh = c.filterHeight, kw = c.filterWidth;
  return {
    B: c.batchSize, H: c.inHeight, W: c.inWidth, C: c.inChannels, m, Cp: c.inChannels * m,
    Ho, Wo, kh, kw, sh, sw, dh, dw, pt: c.padInfo.top, pl: c.padInfo.left,
    // rows/cols of the padded input that any tap reads
    Hp: (Ho - 1) * sh + (kh - 1) * dh + 1, Wp: (Wo - 1) * sw + (kw - 1) * dw + 1,
  };
}

/** out [B, Hp, Wp, C·m]: src [B, H, W, C] placed at (top, left), each channel repeated m times, zeros elsewhere. */
function padExpand(be: WasmBackend, src: TensorInfo, m: number, top: number, left: number, Hp: number, Wp: number): TensorInfo {
  const [B, H, W, C] = src.shape;
  const Cp = C * m;
  const out = alloc(be, [B, Hp, Wp, Cp]);
  const s = f32(be, src), d = f32(be, out);
  const w0 = Math.max(0, -left), w1 = Math.min(W, Wp - left);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const r = h + top;
    if (r < 0 || r >= Hp || w1 <= w0) continue;
    const s0 = ((b * H + h) * W + w0) * C, d0 = ((b * Hp + r) * Wp + w0 + left) * Cp;
    if (m === 1) {
      d.set(s.subarray(s0, s0 + (w1 - w0) * C), d0);
    } else {
      for (let k = 0, n = (w1 - w0) * C; k < n; k++) for (let q = 0; q < m; q++) d[d0 + k * m + q] = s[s0 + k];
    }
  }
  return out;
}

/** y [B, Ho, Wo, Cp] = depthwise correlation of xp [B, Hp, Wp, Cp] (already padded) with the filter at byte F. */
function correlate(be: WasmBackend, simd: Simd, xp: TensorInfo, F: number, Ho: number, Wo: number,
  kh: number, kw: number, sh: number, sw: number, dh: number, dw: number): TensorInfo {
  const [B, Hp, Wp, Cp] = xp.shape;
  const y = alloc(be, [B, Ho, Wo, Cp]);
  const X = ptr(be, xp), Y = ptr(be, y);
  for (let b = 0; b < B; b++) for (let ho = 0; ho < Ho; ho++) {
    const yRow = Y + (b * Ho + ho) * Wo * Cp * 4;
    for (let i = 0; i < kh; i++) {
      const xRow = X + (b * Hp + ho * sh + i * dh) * Wp * Cp * 4;
      simd.rowFma(yRow, xRow, F + i * kw * Cp * 4, Wo, Cp, Cp, sw * Cp, kw, dw * Cp, Cp);
    }
  }
  return y;
}

/** Sums the m copies of each channel: [B, H, W, C·m] → [B, H, W, C]. */
function sumCopies(be: WasmBackend, t: TensorInfo, m: number): TensorInfo {
  const [B, H, W, Cp] = t.shape;
  const C = Cp / m;
  const out = alloc(be, [B, H, W, C], "float32", false);
  const s = f32(be, t), d = f32(be, out);
  for (let k = 0, n = B * H * W * C; k < n; k++) {
    let acc = 0;
    for (let q = 0; q < m; q++) acc += s[k * m + q];
    d[k] = acc;
  }
  return out;
}

// y [B, Ho, Wo, C·m] from x [B, H, W, C] and filter [kh, kw, C, m].
export function depthwiseForward(be: WasmBackend, simd: Simd, x: TensorInfo, filter: TensorInfo, a: DwAttrs): TensorInfo {
  const g = geometry(x.shape, filter.shape, a, "DepthwiseConv2dNative");
  const xp = padExpand(be, x, g.m, g.pt, g.pl, g.Hp, g.Wp);
  const y = correlate(be, simd, xp, ptr(be, filter), g.Ho, g.Wo, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw);
  free(be, xp);
  return y;
}

// dx [B, H, W, C] from dy [B, Ho, Wo, C·m] and filter [kh, kw, C, m].
export function depthwiseBackpropInput(be: WasmBackend, simd: Simd, dy: TensorInfo, filter: TensorInfo, inputShape: number[], a: DwAttrs): TensorInfo {
  const g = geometry(inputShape, filter.shape, a, "DepthwiseConv2dNativeBackpropInput");
  const { B, H, W, C, m, Cp, Ho, Wo, kh, kw, sh, sw, dh, dw, Hp, Wp, pt, pl } = g;
  const top = (kh - 1) * dh - pt, left = (kw - 1) * dw - pl;
  let dxe: TensorInfo;
  if (sh === 1 && sw === 1 && top >= 0 && left >= 0) {
    // gather form: dx[h] = Σ_i dy[h + pt − i·d] w[i] = correlation of dy (top-padded) with the flipped kernel
    const flip = alloc(be, [kh, kw, Cp], "float32", false);
    const fv = f32(be, flip), wv = f32(be, filter);
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const s0 = ((kh - 1 - i) * kw + (kw - 1 - j)) * Cp;
      fv.set(wv.subarray(s0, s0 + Cp), (i * kw + j) * Cp);
    }
    const dyp = padExpand(be, dy, 1, top, left, H + (kh - 1) * dh, W + (kw - 1) * dw);
    dxe = correlate(be, simd, dyp, ptr(be, flip), H, W, kh, kw, 1, 1, dh, dw);
    free(be, dyp, flip);
  } else {
    // scatter form for strides: dxpad[b, ho·s+i·d, wo·s+j·d] += dy[b,ho,wo] ⊙ w[i,j]
    const dxp = alloc(be, [B, Hp, Wp, Cp]);
    const D = ptr(be, dxp), G = ptr(be, dy), F = ptr(be, filter);
    for (let b = 0; b < B; b++) for (let ho = 0; ho < Ho; ho++) {
      const gRow = G + (b * Ho + ho) * Wo * Cp * 4;
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        const dRow = D + ((b * Hp + ho * sh + i * dh) * Wp + j * dw) * Cp * 4;
        simd.fma(dRow, gRow, F + (i * kw + j) * Cp * 4, Wo, Cp, sw * Cp, Cp, 0);
      }
    }
    // crop the padding
    dxe = alloc(be, [B, H, W, Cp]);
    const src = f32(be, dxp), dst = f32(be, dxe);
    const w0 = Math.max(0, -pl), w1 = Math.min(W, Wp - pl);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      const r = h + pt;
      if (r < 0 || r >= Hp || w1 <= w0) continue;
      const s0 = ((b * Hp + r) * Wp + w0 + pl) * Cp;
      dst.set(src.subarray(s0, s0 + (w1 - w0) * Cp), ((b * H + h) * W + w0) * Cp);
    }
    free(be, dxp);
  }
  if (m === 1) return dxe;
  const dx = sumCopies(be, dxe, m);
  free(be, dxe);
  return dx;
}

// dW [kh, kw, C, m] from x [B, H, W, C] and dy [B, Ho, Wo, C·m].
export function depthwiseBackpropFilter(be: WasmBackend, simd: Simd, x: TensorInfo, dy: TensorInfo, filterShape: number[], a: DwAttrs): TensorInfo {
  const g = geometry(x.shape, filterShape, a, "DepthwiseConv2dNativeBackpropFilter");
  const { B, Cp, Ho, Wo, kh, kw, sh, sw, dh, dw, Hp, Wp } = g;
  const xp = padExpand(be, x, g.m, g.pt, g.pl, Hp, Wp);
  const dW = alloc(be, filterShape);
  const X = ptr(be, xp), G = ptr(be, dy), O = ptr(be, dW);
  for (let b = 0; b < B; b++) for (let ho = 0; ho < Ho; ho++) {
    const gRow = G + (b * Ho + ho) * Wo * Cp * 4;
    for (let i = 0; i < kh; i++) {
      const xRow = X + (b * Hp + ho * sh + i * dh) * Wp * Cp * 4;
      // p = j: dW[i,j,:] += Σ_wo xRow[j·d + wo·s] ⊙ dy[wo]
      simd.rowFma(O + i * kw * Cp * 4, xRow, gRow, kw, Cp, Cp, dw * Cp, Wo, sw * Cp, Cp);
    }
  }
  free(be, xp);
  return dW;
}
