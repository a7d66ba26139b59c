/**
 * Bringing a model trained with the authors' PyTorch code into the lab: their config values → a lab config with
 * `arch: "authors"`; their state_dict (as safetensors, scripts/export-authors-weights.py) → the lab's parameters by
 * name, each tensor permuted by its kind (TORCH_PERM in layers.ts). Unknown, missing or mis-shaped keys are one-line
 * errors naming the key.
 */
import * as fs from "fs";
import { LabConfig, resolveConfig, ConfigError } from "../../config/config";
import { Rng } from "../../runtime/rng";
import { ParamTensors } from "../params";
import { SafeTensor, decodeSafetensors } from "../../runtime/safetensors";
import { InftyDiffNetwork } from "../network";
import { TORCH_PERM, KindTable, torchView } from "./layers";
import { AUTHORS_BUFFERS } from "./sparse-unet";
import { AuthorsEncoder } from "./encoder";

/** A bad authors' config, weights file or key (user input: reported in one line). */
export class AuthorsImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthorsImportError";
  }
}

/**
 * The authors' config values this mapping reads, grouped as in their config files (`configs/*.py`), with the lab field
 * each one sets; nothing else is accepted (a typo must not fall back to a default).
 */
const AUTHORS_KEYS: Record<string, Record<string, string>> = {
  data: { img_size: "model.resolution", channels: "model.channels" },
  model: {
    nf: "model.nf", time_emb_dim: "model.timeEmbDim", num_conv_blocks: "model.sparseBlocks", knn_neighbours: "model.knnNeighbours",
    kernel_size: "model.kernelSize", depthwise_sparse: "(must be true)", uno_res: "model.unet.res", uno_base_channels: "model.unet.baseChannels",
    uno_mults: "model.unet.mults", uno_blocks_per_level: "model.unet.blocksPerLevel (all equal)", uno_attn_resolutions: "model.unet.attnRes",
    uno_dropout_from_resolution: "model.unet.dropoutRes", uno_dropout: "model.unet.dropout", uno_conv_type: '(must be "conv")',
    z_dim: "model.authorsZDim (their z-conditioned decoder; null: unconditional)", backend: "model.authorsBackend (torch_dense | torchsparse: the state_dict layout)",
  },
  diffusion: {
    steps: "diffusion.timesteps (must be 1000: the network sees t·1000/steps)", noise_schedule: "diffusion.schedule",
    gaussian_filter_std: "diffusion.mollifierStd", model_mean_type: '(must be "mollified_epsilon")',
  },
};

/** The authors' config ({data, model, diffusion} with their names) → a validated lab config with `arch: "authors"`. */
export function authorsConfig(raw: unknown): LabConfig {
  const fail = (why: string): never => {
    throw new AuthorsImportError(`authors' config: ${why}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("must be a JSON object {data, model, diffusion}");
  const o = raw as Record<string, Record<string, unknown>>;
  for (const [group, v] of Object.entries(o)) {
    if (!(group in AUTHORS_KEYS)) fail(`unknown group '${group}' (allowed: ${Object.keys(AUTHORS_KEYS).join(", ")})`);
    if (typeof v !== "object" || v === null) fail(`'${group}' must be an object`);
    for (const k of Object.keys(v)) if (!(k in AUTHORS_KEYS[group])) fail(`unknown key '${group}.${k}' (allowed: ${Object.keys(AUTHORS_KEYS[group]).join(", ")})`);
  }
  const d = o.data ?? {}, m = o.model ?? {}, df = o.diffusion ?? {};
  const need = (group: string, v: Record<string, unknown>, k: string): unknown => (v[k] === undefined ? fail(`missing '${group}.${k}'`) : v[k]);
  if (m.depthwise_sparse === false) fail("model.depthwise_sparse must be true (regular sparse convs are not supported)");
  if (m.uno_conv_type !== undefined && m.uno_conv_type !== "conv") fail(`model.uno_conv_type must be "conv" (got ${JSON.stringify(m.uno_conv_type)})`);
  const zDim = m.z_dim ?? undefined;
  if (zDim !== undefined && !(Number.isInteger(zDim) && (zDim as number) > 0)) fail(`model.z_dim must be a positive integer or null (got ${JSON.stringify(m.z_dim)})`);
  if (df.steps !== undefined && df.steps !== 1000) fail(`diffusion.steps must be 1000 (got ${JSON.stringify(df.steps)})`);
  if (df.model_mean_type !== undefined && df.model_mean_type !== "mollified_epsilon") fail(`diffusion.model_mean_type must be "mollified_epsilon" (got ${JSON.stringify(df.model_mean_type)})`);
  const bpl = need("model", m, "uno_blocks_per_level");
  if (!Array.isArray(bpl) || bpl.length === 0 || bpl.some((b) => b !== bpl[0])) fail(`model.uno_blocks_per_level must be equal per level (got ${JSON.stringify(bpl)})`);
  const mults = need("model", m, "uno_mults") as number[];
  if (Array.isArray(mults) && (bpl as number[]).length !== mults.length) fail(`model.uno_blocks_per_level has ${(bpl as number[]).length} entries for ${mults.length} uno_mults`);
  const backend = m.backend ?? "torch_dense"; // their SparseUNet's default; every config file of theirs says torchsparse
  if (backend === "spconv") fail('model.backend "spconv": their SPConvResBlock asserts depthwise=False ("spconv currently does not support depthwise convolutions") and the lab\'s authors\' architecture is depthwise, so no spconv state_dict of this model exists');
  if (backend === "minkowski") fail('model.backend "minkowski": their MinkowskiConvResBlock raises NotImplementedError in its constructor, so no such state_dict exists');
  if (backend !== "torch_dense" && backend !== "torchsparse") fail(`model.backend must be "torchsparse" or "torch_dense" (got ${JSON.stringify(backend)})`);
  const schedule = df.noise_schedule ?? "cosine";
  const partial = {
    model: {
      arch: "authors", authorsBackend: backend, authorsZDim: zDim,
      // off r₀ the lab computes what their code computes for this backend (OFF_GRID_KERNEL): override with
      // `infty import --off-grid-kernel`
      kernelResampling: backend === "torchsparse" ? "authors" : "none",
      channels: need("data", d, "channels"), resolution: need("data", d, "img_size"), nf: need("model", m, "nf"),
      timeEmbDim: need("model", m, "time_emb_dim"), sparseBlocks: need("model", m, "num_conv_blocks"), kernelSize: m.kernel_size ?? 7,
      mlpMult: 2, knnNeighbours: m.knn_neighbours ?? 3, operator: "depthwise", downsample: "knn-grid",
      unet: {
        res: need("model", m, "uno_res"), baseChannels: need("model", m, "uno_base_channels"), mults, blocksPerLevel: (bpl as number[])[0],
        attnRes: m.uno_attn_resolutions ?? [16, 8], dropoutRes: m.uno_dropout_from_resolution ?? 16, dropout: m.uno_dropout ?? 0.1,
      },
    },
    diffusion: { schedule, timesteps: 1000, parameterisation: "mollifiedEps", mollifierStd: df.gaussian_filter_std ?? 1.0 },
  };
  try {
    return resolveConfig(partial);
  } catch (e) {
    return fail(e instanceof ConfigError ? e.message : String(e));
  }
}

/** Permutes a row-major array of `shape` by `perm` (out axis i = in axis perm[i]). */
export function permute(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const n = shape.length, outShape = perm.map((i) => shape[i]);
  const inStride = new Array<number>(n).fill(1);
  for (let i = n - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * shape[i + 1];
  const out = new Float32Array(values.length), idx = new Array<number>(n).fill(0);
  for (let o = 0; o < values.length; o++) {
    let src = 0;
    for (let i = 0; i < n; i++) src += idx[i] * inStride[perm[i]];
    out[o] = values[src];
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Which of the authors' backends wrote a state_dict, from the keys only their layout has (`normalising_conv.kernel`,
 * `….conv.kernel`, `….norm1.bias`: torchsparse; `normalising_conv.weight`, `….norm1.g`: torch_dense); null when none.
 */
export function detectAuthorsBackend(names: Iterable<string>): "torch_dense" | "torchsparse" | null {
  for (const n of names) {
    if (n === "normalising_conv.kernel" || /\.block\.(conv\.kernel|norm[12]\.(weight|bias))$/.test(n)) return "torchsparse";
    if (n === "normalising_conv.weight" || /\.block\.(conv\.weight|norm[12]\.g)$/.test(n)) return "torch_dense";
  }
  return null;
}

/** A PyTorch state_dict (name → tensor in PyTorch layout) → the lab's parameters for `kinds`; checks every key. */
export function mapAuthorsState(state: Map<string, SafeTensor>, kinds: KindTable): ParamTensors {
  const out: ParamTensors = {};
  for (const [name, t] of state) {
    if ((AUTHORS_BUFFERS as readonly string[]).includes(name)) continue; // fixed buffers, recomputed by the lab
    const info = kinds.get(name);
    if (!info) {
      const other = detectAuthorsBackend([name]);
      if (other && !kinds.has(name)) {
        const mine = detectAuthorsBackend(kinds.keys());
        if (mine && mine !== other) throw new AuthorsImportError(`unknown key '${name}': the weights are the ${other} backend's layout, the config says model.backend "${mine}"`);
      }
      const why = /z_mlp/.test(name) ? " (a z-conditioned decoder: give its model.z_dim in the config)" : /\.attn\.|weights[12]$/.test(name) ? " (not the authors' conv UNO?)" : "";
      throw new AuthorsImportError(`unknown key '${name}'${why}`);
    }
    if (!same(t.shape, info.torchShape)) throw new AuthorsImportError(`key '${name}' has shape [${t.shape}], the config expects [${info.torchShape}]`);
    const perm = TORCH_PERM[info.kind];
    const shape = torchView(info.kind, t.shape);
    out[name] = perm ? { shape: perm.map((i) => shape[i]), values: permute(t.values, shape, perm) } : { shape, values: t.values };
  }
  for (const name of kinds.keys()) if (!out[name]) throw new AuthorsImportError(`missing key '${name}'`);
  return out;
}

/** Reads exported weights (safetensors) and maps them onto a lab network for `cfg`; returns the lab parameters. */
export function importAuthorsWeights(file: string, cfg: LabConfig): ParamTensors {
  return importAuthorsFile(file, cfg, "decoder");
}

/** Their SparseEncoder's weights (`encoder_state_dict`, exported with --which encoder) for `cfg`'s z-conditioned decoder. */
export function importAuthorsEncoder(file: string, cfg: LabConfig): ParamTensors {
  return importAuthorsFile(file, cfg, "encoder");
}

function importAuthorsFile(file: string, cfg: LabConfig, which: "decoder" | "encoder"): ParamTensors {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new AuthorsImportError(`cannot read weights ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let state: Map<string, SafeTensor>;
  try {
    state = decodeSafetensors(buf).tensors;
  } catch (e) {
    throw new AuthorsImportError(`weights ${file}: ${(e as Error).message} (export them with scripts/export-authors-weights.py)`);
  }
  if (which === "encoder") {
    if (!cfg.model.authorsZDim) throw new AuthorsImportError("an encoder goes with a z-conditioned decoder: the config needs model.z_dim");
    const enc = new AuthorsEncoder(cfg.model, new Rng(0));
    try {
      const params = mapAuthorsState(state, enc.kinds);
      enc.params.load(params);
      return params;
    } finally {
      enc.dispose();
    }
  }
  const net = new InftyDiffNetwork(cfg.model, new Rng(0));
  try {
    const params = mapAuthorsState(state, net.authors!.kinds);
    net.params.load(params); // the lab's own shape check, as loadModel will do
    return params;
  } finally {
    net.dispose();
  }
}
