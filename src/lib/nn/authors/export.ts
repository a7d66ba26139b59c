/**
 * The way back: a lab model of the authors' architecture → the state_dict their `SparseUNet` loads with
 * `load_state_dict(strict=True)` for a chosen backend, and their config values. Every learned tensor is the lab's,
 * permuted back to PyTorch's layout (the inverse of TORCH_PERM, so lab → authors → lab is bit-exact); the fixed entries
 * (`uno_coords`, the normalising conv) are written as their constructor makes them. Keys come in their state_dict's
 * order. Between backends only names and size-1 axes change, except the torchsparse LayerNorm bias, which
 * torch_dense's ImageLayerNorm does not have: zeros going to torchsparse, refused unless all zero going back.
 */
import { AuthorsBackend, LabConfig, resolveConfig } from "../../config/config";
import { Rng } from "../../runtime/rng";
import { SafeTensor } from "../../runtime/safetensors";
import { ParamTensors, Params } from "../params";
import { tf } from "../../runtime/backend";
import { KindTable } from "./layers";
import { AuthorsSparseUNet } from "./sparse-unet";
import { TORCH_PERM, torchView } from "./layers";
import { permute, AuthorsImportError } from "./import";
import { torchLinspace01 } from "./sparse-unet";
import { AuthorsEncoder } from "./encoder";

/** Their config values ({data, model, diffusion}, the names `infty import --config` reads) for a lab config. */
export function authorsConfigValues(cfg: LabConfig, backend: AuthorsBackend): Record<string, Record<string, unknown>> {
  const m = cfg.model, u = m.unet, d = cfg.diffusion;
  if (m.arch !== "authors") {
    throw new AuthorsImportError('only models of the authors\' architecture (model.arch "authors") export to their SparseUNet; the lab\'s own network has other layers');
  }
  if (d.timesteps !== 1000 || d.parameterisation !== "mollifiedEps") {
    throw new AuthorsImportError(`their network expects 1000 steps and mollified ε (this model: ${d.timesteps} steps, ${d.parameterisation})`);
  }
  return {
    data: { img_size: m.resolution, channels: m.channels },
    model: {
      nf: m.nf, time_emb_dim: m.timeEmbDim, num_conv_blocks: m.sparseBlocks, knn_neighbours: m.knnNeighbours, depthwise_sparse: true,
      kernel_size: m.kernelSize, backend, uno_res: u.res, uno_base_channels: u.baseChannels, uno_mults: [...u.mults],
      uno_blocks_per_level: u.mults.map(() => u.blocksPerLevel), uno_attn_resolutions: [...u.attnRes], uno_dropout_from_resolution: u.dropoutRes,
      uno_dropout: u.dropout, uno_conv_type: "conv", z_dim: m.authorsZDim ?? null,
    },
    diffusion: { steps: 1000, noise_schedule: d.schedule, gaussian_filter_std: d.mollifierStd, model_mean_type: "mollified_epsilon" },
  };
}

/** The lab name of a block tensor in `from`'s layout for its name in `to`'s (null: a bias torch_dense lacks). */
function sourceName(name: string, from: AuthorsBackend, to: AuthorsBackend): string | null {
  if (from === to) return name;
  if (to === "torchsparse") {
    if (/\.block\.norm[12]\.bias$/.test(name)) return null;
    return name.replace(/\.block\.norm([12])\.weight$/, ".block.norm$1.g").replace(/\.block\.conv\.kernel$/, ".block.conv.weight");
  }
  return name.replace(/\.block\.norm([12])\.g$/, ".block.norm$1.weight").replace(/\.block\.conv\.weight$/, ".block.conv.kernel");
}

/** Params that make no tensors of their own (one shared placeholder): enough to build a layer table. */
class TableOnlyParams extends Params {
  readonly placeholder = tf.tidy(() => tf.variable(tf.zeros([1]), false));
  override create(): tf.Variable {
    return this.placeholder;
  }
}

/** The parameter table (names, kinds, PyTorch shapes, in their order) of their class for `cfg`, without weights. */
export function authorsKinds(cfg: LabConfig, which: "decoder" | "encoder" = "decoder"): KindTable {
  const p = new TableOnlyParams(new Rng(0));
  try {
    return which === "encoder" ? new AuthorsEncoder(cfg.model, new Rng(0), p).kinds : new AuthorsSparseUNet(p, cfg.model).kinds;
  } finally {
    p.placeholder.dispose();
  }
}

/**
 * Every key and shape of their state_dict for `cfg` and `backend` (`model.backend`), in their order — what their
 * class's load_state_dict(strict=True) demands — without building weights: the check of a published configuration.
 */
export function authorsKeyList(cfg: LabConfig, backend: AuthorsBackend, which: "decoder" | "encoder" = "decoder"): Array<[string, number[]]> {
  const target = resolveConfig({ ...cfg, model: { ...cfg.model, authorsBackend: backend } });
  const m = target.model, k = m.kernelSize, out: Array<[string, number[]]> = [["uno_coords", [1, m.unet.res * m.unet.res, 2]]];
  const norm: [string, number[]] = backend === "torchsparse" ? ["normalising_conv.kernel", [k * k, 1, 1]] : ["normalising_conv.weight", [1, 1, k, k]];
  for (const [name, info] of authorsKinds(target, which)) {
    if (name.startsWith("down_blocks.0.")) if (!out.some(([n]) => n === norm[0])) out.push(norm);
    out.push([name, [...info.torchShape]]);
  }
  if (!out.some(([n]) => n === norm[0])) out.push(norm);
  return out;
}

/**
 * A lab model's parameters (`params`, for `cfg`) → their state_dict for `backend`, as [name, tensor] in their order.
 * Throws AuthorsImportError (one line) when the model cannot be that class's weights.
 */
export function authorsStateDict(cfg: LabConfig, params: ParamTensors, backend: AuthorsBackend, which: "decoder" | "encoder" = "decoder"): Array<[string, SafeTensor]> {
  authorsConfigValues(cfg, backend); // the same refusals
  const from: AuthorsBackend = cfg.model.authorsBackend ?? "torch_dense";
  const target = resolveConfig({ ...cfg, model: { ...cfg.model, authorsBackend: backend } });
  const kinds = authorsKinds(target, which);
  const m = cfg.model, U = m.unet.res, k = m.kernelSize;
  const out: Array<[string, SafeTensor]> = [];
  // their constructor: uno_coords = meshgrid(linspace, linspace) as [1, U·U, 2] (row position, column position)
  const lin = torchLinspace01(U), coords = new Float32Array(U * U * 2);
  for (let i = 0; i < U * U; i++) {
    coords[2 * i] = lin[Math.floor(i / U)];
    coords[2 * i + 1] = lin[i % U];
  }
  out.push(["uno_coords", { shape: [1, U * U, 2], values: coords }]);
  for (const [name, info] of kinds) {
    const src = sourceName(name, from, backend);
    let values: Float32Array;
    if (src === null) {
      values = new Float32Array(info.torchShape.reduce((a, b) => a * b, 1));
    } else {
      const t = params[src];
      if (!t) throw new AuthorsImportError(`the model has no tensor '${src}' (is its config the one it was trained with?)`);
      const view = torchView(info.kind, info.torchShape), perm = TORCH_PERM[info.kind];
      if (perm) {
        const inv = perm.map((_, j) => perm.indexOf(j));
        values = permute(t.values, perm.map((i) => view[i]), inv);
      } else {
        values = Float32Array.from(t.values);
      }
      if (values.length !== view.reduce((a, b) => a * b, 1)) throw new AuthorsImportError(`tensor '${src}' has ${values.length} values, '${name}' needs [${info.torchShape}]`);
    }
    if (name.startsWith("down_blocks.0.") && !out.some(([n]) => n.startsWith("normalising_conv."))) {
      // their module order: …, (time_mlp,) normalising_conv, down_blocks, …
      const ones = new Float32Array(k * k).fill(Math.fround(1 / (k * k)));
      out.push(backend === "torchsparse" ? ["normalising_conv.kernel", { shape: [k * k, 1, 1], values: ones }] : ["normalising_conv.weight", { shape: [1, 1, k, k], values: ones }]);
    }
    out.push([name, { shape: [...info.torchShape], values }]);
  }
  if (!out.some(([n]) => n.startsWith("normalising_conv."))) { // no sparse blocks: their constructor still makes it
    const ones = new Float32Array(k * k).fill(Math.fround(1 / (k * k)));
    out.push(backend === "torchsparse" ? ["normalising_conv.kernel", { shape: [k * k, 1, 1], values: ones }] : ["normalising_conv.weight", { shape: [1, 1, k, k], values: ones }]);
  }
  if (from === "torchsparse" && backend === "torch_dense") {
    for (const [name, t] of Object.entries(params)) {
      if (!/\.norm[12]\.bias$/.test(name)) continue;
      const big = t.values.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      if (big !== 0) {
        throw new AuthorsImportError(`'${name}' is not zero (max |b| ${big.toPrecision(3)}) and torch_dense's ImageLayerNorm has no bias: export with --backend torchsparse`);
      }
    }
  }
  return out;
}
