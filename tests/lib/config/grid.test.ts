import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  DEFAULT_CONFIG, DiffusionAutoencoder, InftyDiffNetwork, KernelMap, LabConfig, ModelGrid, Rng, diffusionProcess, fullGrid,
  gridOf, gridResolution, modelGrid, resampledKernelSize, resolveAutoencoderConfig, resolveConfig, tf, ddimTimesteps,
} from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

describe("the grid value (grid.ts: one derivation, one meaning of resolution)", () => {
  const cfg = DEFAULT_CONFIG; // r₀ = 28, σ = 1 px at r₀, k = 7, coordRatio = 1/4

  it("pins the table for 14/28/56/112/224 (the paper's default config)", () => {
    // σ and c scale as r/r₀; points are round(HW/4); kernel sizes follow kernel-resample.ts's rule (pinned there)
    const table = [14, 28, 56, 112, 224].map((r) => {
      const d = gridOf(cfg, r);
      return [r, d.resolution, d.scale, d.mollifierStdPx[0], d.mollifierStdPx[1], d.noiseMultiplier, d.pointsPerImage];
    });
    assert.deepEqual(table, [
      [14, 14, 0.5, 0.5, 0.5, 0.5, 49],
      [28, 28, 1, 1, 1, 1, 196],
      [56, 56, 2, 2, 2, 2, 784],
      [112, 112, 4, 4, 4, 4, 3136],
      [224, 224, 8, 8, 8, 8, 12544],
    ]);
    for (const r of [14, 28, 56, 112, 224]) assert.equal(gridOf(cfg, r).kernelSize, resampledKernelSize(7, 28, r));
    assert.equal(gridOf(cfg).kernelSize, 7);
  });

  it("a non-square grid: σ per axis, c = √(HW)/r₀, kernel at r = √(HW), points round(ratio·HW); transposing swaps only σ", () => {
    const d = gridOf(cfg, [28, 56]);
    assert.equal(d.H, 28);
    assert.equal(d.W, 56);
    assert.ok(Math.abs(d.resolution - Math.sqrt(28 * 56)) < 1e-12);
    assert.deepEqual(d.mollifierStdPx, [1, 2]);
    assert.ok(Math.abs(d.noiseMultiplier - Math.SQRT2) < 1e-12);
    assert.equal(d.kernelSize, resampledKernelSize(7, 28, Math.sqrt(28 * 56)));
    assert.equal(d.pointsPerImage, 392);
    const t = gridOf(cfg, [56, 28]);
    assert.deepEqual(t.mollifierStdPx, [2, 1]);
    assert.deepEqual([t.resolution, t.noiseMultiplier, t.kernelSize, t.pointsPerImage], [d.resolution, d.noiseMultiplier, d.kernelSize, d.pointsPerImage]);
  });

  it("T = I has noise multiplier 1 at every grid; odd ratios round half up as coordinate subsets do", () => {
    const white = resolveConfig({ diffusion: { mollifierStd: 0 } });
    assert.deepEqual([14, 56, 224].map((r) => gridOf(white, r).noiseMultiplier), [1, 1, 1]);
    assert.deepEqual(gridOf(white, 56).mollifierStdPx, [0, 0]);
    const third = resolveConfig({ train: { coordRatio: 0.3 } });
    assert.equal(gridOf(third, 5).pointsPerImage, 8); // 7.5 → 8
    assert.equal(gridOf(third, [3, 5]).pointsPerImage, 5); // 4.5 → 5
  });

  it("what the pipelines use agrees with the table: the process's mollifier", () => {
    const tiny = tinyConfig();
    const { mollifier, schedule } = diffusionProcess(tiny);
    assert.equal(schedule.T, tiny.diffusion.timesteps);
    try {
      for (const [H, W] of [[12, 12], [24, 24], [6, 6], [12, 24], [24, 12]] as const) {
        const d = gridOf(tiny, [H, W]);
        assert.deepEqual(mollifier.stdAt(H, W), d.mollifierStdPx);
        assert.equal(mollifier.noiseMultiplier(H, W), d.noiseMultiplier);
        assert.equal(gridResolution(H, W), d.resolution);
      }
    } finally {
      mollifier.dispose();
    }
  });

  it("the DDIM step grid is the config's: stride by default, even where the config (or an old checkpoint) says so", () => {
    const g = gridOf(DEFAULT_CONFIG, 56);
    assert.equal(g.ddimGrid, "ddim-stride");
    assert.deepEqual(g.ddimTimesteps(50).slice(0, 3), [980, 960, 940]);
    const even = gridOf(resolveConfig({ diffusion: { ddimGrid: "even" } }), [28, 56]);
    assert.deepEqual(even.ddimTimesteps(4), ddimTimesteps("even", 1000, 4));
  });

  // The network, the autoencoder's encoder, the authors' architecture and the cross-resolution experiment (which
  // reports modelGrid(cfg.model, r).kernelSize) build their kernel maps from the grid value: every mode, square and
  // non-square grids, every sparse-downsample level.
  const GRIDS = [[12, 12], [24, 24], [6, 6], [12, 24], [24, 12], [36, 12], [18, 30]] as const;
  for (const mode of ["extent", "per-tap", "authors", "none"] as const) {
    it(`network, encoder and sparse-downsample levels use the grid value's kernel sizes (${mode})`, () => {
      const cfg = tinyConfig({}, { kernelResampling: mode });
      const before = tf.memory().numTensors;
      const net = new InftyDiffNetwork(cfg.model, new Rng(0));
      const sparse = new InftyDiffNetwork(tinyConfig({}, { kernelResampling: mode, downsample: "sparse" }).model, new Rng(0));
      const ae = new DiffusionAutoencoder(cfg, resolveAutoencoderConfig({ zDim: 4, latentWidth: 8, latentDepth: 1 }), new Rng(1));
      try {
        for (const [H, W] of GRIDS) {
          const g = gridOf(cfg, [H, W]);
          const r = Math.sqrt(H * W);
          assert.equal(g.kernelResampling, mode);
          assert.equal(g.kernelSize, resampledKernelSize(3, 12, r, mode), `${H}×${W}`);
          assert.equal(g.knnScale, r / 8);
          const set = fullGrid(1, H, W);
          const sizes = (ctx: { kmap: KernelMap; levels?: { ctx: { kmap: KernelMap } }[] }) => [ctx.kmap.k, ...(ctx.levels ?? []).map((l) => l.ctx.kmap.k)];
          const ctx = net.context(set), ectx = ae.encoder.context(set), sctx = sparse.context(set);
          try {
            assert.deepEqual(sizes(ctx), [g.kernelSize], `network ${H}×${W}`);
            assert.deepEqual(sizes(ectx), [g.kernelSize], `encoder ${H}×${W}`);
            // levels l = 0, 1 have kernels (k−1)·2^l + 1 = 3, 5 at r₀
            assert.deepEqual(sizes(sctx), [3, 5].map((k) => g.kernelSizeOf(k)), `sparse levels ${H}×${W}`);
            assert.equal(ctx.grid.resolution, g.resolution);
          } finally {
            ctx.dispose(); ectx.dispose(); sctx.dispose();
          }
        }
        // a grid value for another grid is refused
        assert.throws(() => net.context(fullGrid(1, 12, 24), modelGrid(cfg.model, [24, 12])), /grid value for 24×12 given for a set on 12×24/);
      } finally {
        net.dispose(); sparse.dispose(); ae.dispose();
      }
      assert.equal(tf.memory().numTensors, before, "contexts and networks leave no tensor behind");
    });
  }

  it("the authors' architecture sizes by the authors' rule and keeps one of their two kernel rules, at r = √(H·W)", () => {
    for (const mode of ["extent", "authors", "none"] as const) {
      const cfg: LabConfig = tinyConfig({}, { arch: "authors", kernelResampling: mode, unet: { res: 8, baseChannels: 8, mults: [1, 2], blocksPerLevel: 1, attnRes: [], dropoutRes: 4, dropout: 0, groups: 4 } });
      const net = new InftyDiffNetwork(cfg.model, new Rng(0));
      try {
        for (const [H, W] of GRIDS) {
          const g: ModelGrid = modelGrid(cfg.model, [H, W]);
          assert.equal(g.kernelResampling, mode === "none" ? "none" : "authors");
          assert.equal(g.kernelSize, resampledKernelSize(3, 12, Math.sqrt(H * W), "authors"));
          const ctx = net.context(fullGrid(1, H, W));
          // the kept kernel (rule "none") below r₀ sums over its own 3×3 window, the normaliser over k'
          assert.equal(ctx.kmap.k, mode === "none" ? Math.max(3, g.kernelSize) : g.kernelSize, `${mode} ${H}×${W}`);
          ctx.dispose();
        }
      } finally {
        net.dispose();
      }
    }
    assert.throws(() => tinyConfig({}, { arch: "authors", kernelResampling: "per-tap" }), /"authors" \(resampled kernel\) or "none" \(kept kernel\)/);
  });


  it("the grid value is the only caller of the grid rules in src (kernel size, resolution, σ, noise multiplier, DDIM grid)", () => {
    // each rule and the files that may call it: grid.ts, the rule's own module, and the diffusion/ operators that take
    // a bare Mollifier (their defaults are the mollifier's own formula) and the notebook steppers that show it
    const rules: Array<[RegExp, RegExp]> = [
      [/\bresampledKernelSize\(/, /^lib\/(config\/grid|operators\/(kernel-resample|resampled-depthwise))\.ts$/],
      [/\bgridResolution\(/, /^lib\/config\/grid\.ts$/],
      [/(?<![.\w])ddimTimesteps\(/, /^lib\/(config\/grid|diffusion\/schedules)\.ts$/],
      [/\.(noiseMultiplier|stdAt)\(/, /^lib\/(config\/grid\.ts|diffusion\/|pipelines\/interactive\/(noise|forward)-steps\.ts)/],
    ];
    const root = path.join(__dirname, "..", "..", "..", "..", "src");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith(".ts")) files.push(path.relative(root, p).split(path.sep).join("/"));
      }
    };
    walk(root);
    assert.ok(files.length > 50, `read ${files.length} files under ${root}`);
    const offenders: string[] = [];
    for (const f of files) {
      const code = fs.readFileSync(path.join(root, f), "utf8").split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
      for (const [rule, allowed] of rules) if (rule.test(code) && !allowed.test(f)) offenders.push(`${f} calls ${rule.source}`);
    }
    assert.deepEqual(offenders, []);
  });

  it("rejects a grid side that is not a positive integer", () => {
    assert.throws(() => gridOf(cfg, 0), /resolution must be a positive integer, got 0/);
    assert.throws(() => gridOf(cfg, [28, 2.5]), /positive integer, got 2.5/);
  });
});
