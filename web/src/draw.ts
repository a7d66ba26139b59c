/** Pictures on canvases: one canvas pixel per image pixel, scaled up by CSS (image-rendering: pixelated). */

/** Draws a single-channel field [H·W] on `canvas` (resized to W×H); values lo…hi map to black…white. */
export function drawField(canvas: HTMLCanvasElement, values: ArrayLike<number>, H: number, W: number = H, lo = -1, hi = 1): void {
  if (canvas.width !== W) canvas.width = W;
  if (canvas.height !== H) canvas.height = H;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(W, H);
  const k = 255 / (hi - lo);
  for (let p = 0; p < H * W; p++) {
    const v = Math.max(0, Math.min(255, Math.round((values[p] - lo) * k)));
    img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = v;
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Draws the mask's hole (mask 0) in translucent red over a transparent canvas of the same grid. */
export function drawMask(canvas: HTMLCanvasElement, mask: Float32Array, H: number, W: number = H): void {
  if (canvas.width !== W) canvas.width = W;
  if (canvas.height !== H) canvas.height = H;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(W, H);
  for (let p = 0; p < H * W; p++) {
    if (mask[p] > 0.5) continue;
    img.data[4 * p] = 235; img.data[4 * p + 1] = 64; img.data[4 * p + 2] = 52; img.data[4 * p + 3] = 170;
  }
  ctx.putImageData(img, 0, 0);
}

/** A labelled canvas (figure + caption) appended to `parent`. */
export function figure(parent: HTMLElement, caption: string, cls = ""): HTMLCanvasElement {
  const fig = document.createElement("figure");
  if (cls) fig.className = cls;
  const c = document.createElement("canvas");
  c.width = c.height = 1;
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  fig.append(c, cap);
  parent.append(fig);
  return c;
}
