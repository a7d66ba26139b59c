/**
 * A shipped model's card (docs/model-card.md): what the file is, how it was trained, how it scores and what it is not
 * for, written from the checkpoint's own record and its result files so that no number in it is typed by hand.
 * Release tooling: `node scripts/model-card.js` writes it; scripts/ship-next.sh regenerates it when the model changes.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadCheckpoint, memorisationMarkdown, qualityCurveMarkdown, readEvalDir, readQualityCurve, resolutionRows, resolveStoredConfig } from "infty-diff-lab";
import { resolutionMarkdown, qualityBarMarkdown } from "./shipped-report";

export interface ModelCardInputs {
  /** the model file, as a path relative to the project root (it is printed) */
  checkpoint: string;
  /** r<R>-n<N>-s<S>.json results of scripts/evaluate-shipped.sh; absent: no evaluation section */
  evalDir?: string;
  /** step-N.json quality-curve points of the run that made the model */
  curveDir?: string;
  /** n of the quality-bar table (default 1000) */
  qualityN?: number;
  /** the project root the paths are relative to */
  root: string;
}

const int = (x: number) => x.toLocaleString("en-US");

export function modelCardMarkdown(o: ModelCardInputs): string {
  const file = path.join(o.root, o.checkpoint);
  const bytes = fs.readFileSync(file);
  const ck = loadCheckpoint(file);
  const meta = ck.meta as Record<string, unknown>;
  if (meta.kind !== "infty-diff-model") throw new Error(`${o.checkpoint}: not an exported ∞-Diff model (kind '${String(meta.kind)}')`);
  const cfg = resolveStoredConfig(meta.config);
  const { model: m, diffusion: d, train: t } = cfg;
  const params = Object.values(ck.groups.ema ?? {}).reduce((s, x) => s + x.values.length, 0);
  const step = Number(meta.step), hours = Number(meta.wallSeconds) / 3600;
  const commands = (meta.trainedCommands as { at: string; command: string }[] | undefined) ?? [];
  const lines: string[] = [
    `# Model card: \`${o.checkpoint}\``,
    "",
    "*Written by `node scripts/model-card.js` from the checkpoint's record and its result files; no number here is typed by hand.*",
    "",
    "| | |",
    "|---|---|",
    `| file | \`${o.checkpoint}\`: ${(bytes.length / 2 ** 20).toFixed(1)} MiB, safetensors (the EMA weights, float32), sha256 \`${crypto.createHash("sha256").update(bytes).digest("hex")}\` |`,
    `| model | ∞-Diff (Bond-Taylor & Willcocks, ICLR 2024): ${m.sparseBlocks} sparse neural-operator blocks (${m.operator}, k = ${m.kernelSize}) on the pixels given, ` +
      `${m.knnNeighbours}-nearest-neighbour interpolation (${m.knnWeights} weights) to a ${m.unet.res}×${m.unet.res} grid, a U-Net (${m.unet.baseChannels} channels × ${m.unet.mults.join(", ")}, ` +
      `attention at ${m.unet.attnRes.join(", ")} px) and back; ${int(params)} parameters |`,
    `| diffusion | ${d.schedule} schedule, T = ${d.timesteps}, loss ${d.parameterisation}, mollifier σ = ${d.mollifierStd} px at ${m.resolution} px (scaled with the resolution), Wiener inverse SNR ${d.wienerInvSnr}, DDIM grid ${d.ddimGrid}, clip Tx̂₀: ${d.clipTx0} |`,
    `| data | Fashion-MNIST (MIT licence, Zalando SE; \`data/fashion-mnist/SOURCE.md\`): the first 55,000 training images (\`train-fit\`), ${m.resolution}×${m.resolution} grey, in [−1, 1]; the last 5,000 are held out |`,
    `| training | ${int(step)} steps, batch ${t.batchSize}, a fresh random ${t.coordRatio === 0.25 ? "¼" : t.coordRatio} of the pixels per image (${t.coordSampler}), Adam ${t.lr} (β ${t.adamBeta1}/${t.adamBeta2}), ` +
      `warm-up ${t.warmupSteps} steps, gradient clip ${t.gradClip}, EMA ${t.emaDecay}, seed ${t.seed}; ${hours.toFixed(1)} h on the ${String(meta.backend)} backend |`,
    `| record | the loss log and commands beside the file (\`${o.checkpoint.replace(/\.ckpt$/, ".log.jsonl")}\`, \`.commands.jsonl\`); exported ${String(meta.exportedAt ?? "?")} |`,
    "",
    "Trained by:",
    "",
    ...commands.map((c) => `    ${c.command}    # ${c.at}`),
    "",
  ];
  if (o.evalDir && fs.existsSync(path.join(o.root, o.evalDir))) {
    const recs = readEvalDir(path.join(o.root, o.evalDir)).filter((r) => r.step === step);
    lines.push("## Evaluation", "", `FID and KID on the lab's Fashion-MNIST feature net (128-d; not comparable with the paper's FID_CLIP or with Inception FID), ` +
      `samples area-resized to 28×28, against the first test images; results in \`${o.evalDir}/\`.`, "");
    if (recs.some((r) => r.resolution === m.resolution && r.n === (o.qualityN ?? 1000))) lines.push(qualityBarMarkdown(recs, o.qualityN ?? 1000, m.resolution), "");
    const rows = resolutionRows(recs, m.resolution);
    if (rows.length) {
      lines.push("Sampled on finer grids than it was trained on, each against samples at the training grid with the same n and steps:", "", resolutionMarkdown(rows, m.resolution), "");
    }
    const mem = path.join(o.root, o.evalDir, "memorisation.json");
    if (fs.existsSync(mem)) {
      lines.push("Memorisation check: each sample's nearest training image against held-out images' nearest (exact, pixels):", "",
        memorisationMarkdown(JSON.parse(fs.readFileSync(mem, "utf8"))), "");
    }
  }
  if (o.curveDir && fs.existsSync(path.join(o.root, o.curveDir))) {
    const pts = readQualityCurve(path.join(o.root, o.curveDir)).filter((p) => p.step <= step);
    if (pts.length) lines.push("Along training (the run's kept checkpoints):", "", qualityCurveMarkdown(pts), "");
  }
  lines.push(
    "## Use",
    "",
    "    const infty = require(\"infty-diff-lab\");",
    "    await infty.initBackend();",
    `    const model = infty.loadModel(infty.dataPath(${JSON.stringify(path.relative("data", o.checkpoint).split(path.sep)[0])}, ${JSON.stringify(path.basename(o.checkpoint))}));`,
    "    const { x0 } = await infty.sampleModel(model.net, model.cfg, { resolution: 56, n: 8, steps: 100 });",
    "",
    "or `npx infty sample --resolution 56`, `infty inpaint`, `infty superres` (README).",
    "",
    "## Limits",
    "",
    `- A reference model for this lab: small (${int(params)} parameters), trained on one dataset of ${m.resolution}×${m.resolution} grey clothing images, ` +
      "on a CPU budget far below the paper's hundreds of thousands of steps.",
    "- Sampled above its training resolution it draws smooth functions: detail finer than the training grid is the model's invention, with no ground truth to check it against.",
    "- Its scores use the lab's own feature net; compare them only with numbers from the same net, n and sampler steps.",
    "",
  );
  return lines.join("\n");
}
