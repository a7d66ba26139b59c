import { strict as assert } from "assert";
import { imageGrid, encodePNG, decodePNG, imageGridView, toByte, sideBySide } from "infty-diff-lab/viz";

describe("viz: image grids → PNG", () => {
  it("maps [−1, 1] to bytes with rounding and clipping", () => {
    assert.deepEqual([-2, -1, 0, 1, 3].map(toByte), [0, 0, 128, 255, 255]);
  });

  it("tiles a [N,H,W,C] batch and survives a PNG round trip pixel for pixel", () => {
    // 3 RGB images 2×3, values a deterministic ramp in [−1, 1]
    const n = 3, h = 2, w = 3, c = 3;
    const data = Float32Array.from({ length: n * h * w * c }, (_, i) => -1 + (2 * i) / (n * h * w * c - 1));
    const grid = imageGrid({ data, shape: [n, h, w, c] }, { cols: 2, pad: 1, background: 7 });
    assert.equal(grid.width, 2 * w + 1);
    assert.equal(grid.height, 2 * h + 1);
    const back = decodePNG(encodePNG(grid));
    assert.equal(back.width, grid.width);
    assert.equal(back.height, grid.height);
    assert.deepEqual(Array.from(back.rgba), Array.from(grid.rgba));
    // image 2 (third) sits at row 1, col 0: its pixel (y=1, x=2) channel 1
    const px = (x: number, y: number) => back.rgba.slice((y * grid.width + x) * 4, (y * grid.width + x) * 4 + 4);
    const src = ((2 * h + 1) * w + 2) * c;
    assert.deepEqual(Array.from(px(2, h + 1 + 1)), [toByte(data[src]), toByte(data[src + 1]), toByte(data[src + 2]), 255]);
    // padding and the empty fourth slot keep the background
    assert.deepEqual(Array.from(px(w, 0)), [7, 7, 7, 7]);
    assert.deepEqual(Array.from(px(w + 1 + 1, h + 1)), [7, 7, 7, 7]);
  });

  it("replicates a single channel to grey and accepts a tensor-like (shape + dataSync)", () => {
    const t = { shape: [1, 1, 2, 1], dataSync: () => Float32Array.from([-1, 1]) };
    const g = imageGrid(t);
    assert.deepEqual(Array.from(g.rgba), [0, 0, 0, 255, 255, 255, 255, 255]);
  });

  it("the inline view is an <img> with a PNG data URL of the grid", () => {
    const v = imageGridView({ data: new Float32Array(4 * 4), shape: [1, 4, 4, 1] }, { scale: 3, title: "a < b" });
    assert.equal(v.kind, "html");
    assert.match(v.html, /<img [^>]*width="12" height="12"[^>]*src="data:image\/png;base64,/);
    assert.match(v.html, /a &lt; b/);
    const b64 = /base64,([^"]+)"/.exec(v.html)![1];
    assert.deepEqual(Buffer.from(b64, "base64"), v.png);
    assert.equal(decodePNG(v.png).rgba[0], 128);
  });

  it("a click zooms the image by CSS alone (zoom× the shown size; zoom 1 turns it off)", () => {
    const v = imageGridView({ data: new Float32Array(28 * 28), shape: [1, 28, 28, 1] }, { scale: 4, zoom: 2 });
    assert.match(v.html, /<img [^>]*width="112" height="112"[^>]*class="infty-zoom" tabindex="0"[^>]*--zoom-w:224px;--zoom-h:224px/);
    assert.match(v.html, /\.infty-zoom:focus\{[^}]*width:var\(--zoom-w\)/);
    const off = imageGridView({ data: new Float32Array(4), shape: [1, 2, 2, 1] }, { zoom: 1 });
    assert.ok(!off.html.includes("infty-zoom"));
  });

  it("rejects a wrong shape with a message", () => {
    assert.throws(() => imageGrid({ data: new Float32Array(5), shape: [1, 2, 2, 1] }), /5 values for shape \[1,2,2,1\]/);
    assert.throws(() => imageGrid({ data: new Float32Array(8), shape: [1, 2, 2, 2] }), /1 or 3 channels/);
  });
});

describe("sideBySide", () => {
  it("pixel-replicates each set to the largest side and interleaves rows", () => {

    const small = { images: Float32Array.from([0.5, -0.5]), shape: [2, 1, 1, 1] };
    const big = { images: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2, 1] };
    const out = sideBySide([small, big]);
    assert.deepEqual(out.shape, [4, 2, 2, 1]);
    assert.deepEqual(Array.from(out.data), [0.5, 0.5, 0.5, 0.5, 1, 2, 3, 4, -0.5, -0.5, -0.5, -0.5, 5, 6, 7, 8]);
    assert.throws(() => sideBySide([{ images: new Float32Array(9), shape: [1, 3, 3, 1] }, big]), /need/);
  });
});

describe("imageGrid from a tensor", () => {
  it("reads a tfjs tensor (which also has a data() method) through dataSync", async () => {
    const { initBackend, tf } = await import("infty-diff-lab");
    await initBackend("cpu", { quiet: true });
    const t = tf.tensor4d([-1, 1], [2, 1, 1, 1]);
    const img = imageGrid(t, { pad: 0, cols: 2 });
    t.dispose();
    assert.deepEqual(Array.from(img.rgba.slice(0, 8)), [0, 0, 0, 255, 255, 255, 255, 255]);
  });
});
