/** `infty inpaint` and `infty superres`: bad input → one line, exit 2, nothing written; tiny happy paths. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, Trainer } from "infty-diff-lab";
import { decodePNG } from "infty-diff-lab/viz";
import { tinyConfig, tinyData } from "../helpers/tiny";
import { infty, expectOneLineError } from "../helpers/cli";

describe("CLI inpaint / superres", function () {
  this.timeout(120000);
  let dir: string;
  before(async () => {
    await initBackend("wasm", { quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-ipsr-"));
    const trainer = new Trainer(tinyConfig(), tinyData(8));
    trainer.save(path.join(dir, "tiny.ckpt"));
    trainer.dispose();
    fs.writeFileSync(path.join(dir, "text.png"), "not a png");
  });

  const cases: Array<[string, string[], RegExp]> = [
    ["no input", ["inpaint", "--checkpoint", "tiny.ckpt"], /exactly one of --input file.png or --index N/],
    ["both inputs", ["superres", "--checkpoint", "tiny.ckpt", "--index", "0", "--input", "x.png"], /exactly one of/],
    ["bad mask", ["inpaint", "--checkpoint", "tiny.ckpt", "--index", "0", "--mask", "circle"], /--mask.*centre, strokes, half/],
    ["missing checkpoint", ["inpaint", "--checkpoint", "nope.ckpt", "--index", "0"], /checkpoint nope.ckpt does not exist/],
    ["t_s out of range", ["inpaint", "--checkpoint", "tiny.ckpt", "--index", "0", "--dataset", "procedural", "--ts", "1000"], /--ts must be in 0…999/],
    ["bad scale", ["superres", "--checkpoint", "tiny.ckpt", "--index", "0", "--scale", "3"], /--scale.*must be 2 or 4/],
    ["negative lambda", ["superres", "--checkpoint", "tiny.ckpt", "--index", "0", "--lambda", "-1"], /--lambda.*must be ≥ 0/],
    ["not a png", ["inpaint", "--checkpoint", "tiny.ckpt", "--input", "text.png"], /input text.png is not a PNG/],
    ["missing png", ["superres", "--checkpoint", "tiny.ckpt", "--input", "none.png"], /input none.png does not exist/],
  ];
  for (const [name, args, pattern] of cases) {
    it(`${name}: one line, exit 2, nothing written`, () => {
      const r = infty([...args, "--out", "err.png"], dir);
      expectOneLineError(r, pattern);
      assert.ok(!fs.existsSync(path.join(dir, "err.png")));
    });
  }

  it("inpaints a dataset image and super-resolves a PNG 2×", () => {
    let r = infty(["inpaint", "--checkpoint", "tiny.ckpt", "--dataset", "procedural", "--index", "2", "--mask", "strokes", "--steps", "3", "--ts", "300", "--out", "ip.png"], dir);
    assert.equal(r.code, 0, r.stderr);
    const ip = decodePNG(fs.readFileSync(path.join(dir, "ip.png")));
    assert.ok(ip.width > 3 * 12 && ip.height >= 12);
    r = infty(["superres", "--checkpoint", "tiny.ckpt", "--input", "ip.png", "--steps", "3", "--out", "sr.png"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /12×12 → 24×24/);
    assert.ok(fs.existsSync(path.join(dir, "sr.png")));
  });
});
