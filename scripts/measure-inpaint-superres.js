// Inpainting (guided vs unguided) and super-resolution (vs bicubic) on the shipped checkpoint, 8 test images:
// node scripts/measure-inpaint-superres.js → data/checkpoints/fashion-mnist.eval/inpaint-superres.json
const L = require("infty-diff-lab");
(async () => {
  await L.initBackend("wasm", { quiet: true });
  const model = L.loadModel("data/checkpoints/fashion-mnist.ckpt");
  const N = 8, truth = L.loadFashionMnist({ split: "test", offset: 100, limit: N });
  const out = { inpaint: [], superres: [] };
  for (const kind of L.MASK_KINDS) {
    const mask = L.makeMask(kind, N, 28, 28, 0);
    for (const lambda of [0, 0.5]) {
      const r = await L.inpaint(model, truth, mask, { lambda, ts: 350, steps: 25, seed: 1 });
      const m = L.inpaintMetrics(r, truth, mask);
      out.inpaint.push({ mask: kind, lambda, psnrKnown: +m.psnrKnown.toFixed(2), psnrMissing: +m.psnrMissing.toFixed(2) });
    }
  }
  for (const scale of [2, 4]) {
    const low = L.areaResize(truth, 28 / scale, 28 / scale);
    const bic = L.resizeImages(low, 28, 28, "bicubic");
    const sr = await L.superResolve(model, low, { scale, steps: 25 });
    out.superres.push({ scale, psnrBicubic: +L.imagePsnr(bic, truth).toFixed(2), psnrModel: +L.imagePsnr(sr.x0, truth).toFixed(2), downsampleError: L.downsampleError(sr.x0, low) });
  }
  require("fs").writeFileSync("data/checkpoints/fashion-mnist.eval/inpaint-superres.json", JSON.stringify(out, null, 2) + "\n");
  console.log(JSON.stringify(out));
})();
