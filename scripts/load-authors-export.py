#!/usr/bin/env python3
"""Loads what `infty export --format authors` wrote into the authors' own SparseUNet (samb-t/infty-diff) with
load_state_dict(strict=True), then samples with their DDIM, or runs one forward pass for a check.

    python3 scripts/load-authors-export.py model.safetensors --official DIR [--config model.config.json]
        [--sample N --steps 100 --out samples.npy] [--forward io.safetensors --forward-out y.safetensors]
        [--torchsparse DIR] [--shims DIR]

On a machine with their environment (CUDA, torchsparse, pytorch3d, einops) only --official is needed. On a CPU
without those: --torchsparse (a checkout of samb-t/torchsparse, run on scripts/authors-standins) and --shims
(einops / flash_attn stand-ins, e.g. the peer bench's). Reads safetensors with numpy (no `safetensors` package).
"""
import argparse
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def read_safetensors(path):
    import numpy as np
    import torch
    b = open(path, "rb").read()
    n, = struct.unpack("<Q", b[:8])
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():  # the file's order is their state_dict's
        s, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(v["shape"]).copy())
    return out, meta


def build(SparseUNet, c):
    d, m = c["data"], c["model"]
    return SparseUNet(
        channels=d["channels"], nf=m["nf"], time_emb_dim=m["time_emb_dim"], img_size=d["img_size"],
        num_conv_blocks=m["num_conv_blocks"], knn_neighbours=m["knn_neighbours"], uno_res=m["uno_res"],
        uno_mults=tuple(m["uno_mults"]), z_dim=m["z_dim"], conv_type=m["uno_conv_type"],
        depthwise_sparse=m["depthwise_sparse"], kernel_size=m["kernel_size"], backend=m["backend"],
        blocks_per_level=tuple(m["uno_blocks_per_level"]), attn_res=m["uno_attn_resolutions"],
        dropout_res=m["uno_dropout_from_resolution"], dropout=m["uno_dropout"], uno_base_nf=m["uno_base_channels"])


def build_encoder(SparseEncoder, c):
    d, m = c["data"], c["model"]
    return SparseEncoder(
        out_channels=m["z_dim"], channels=d["channels"], nf=m["nf"], img_size=d["img_size"], num_conv_blocks=m["num_conv_blocks"],
        knn_neighbours=m["knn_neighbours"], uno_res=m["uno_res"], uno_mults=tuple(m["uno_mults"]), conv_type=m["uno_conv_type"],
        depthwise_sparse=m["depthwise_sparse"], kernel_size=m["kernel_size"], backend=m["backend"],
        blocks_per_level=tuple(m["uno_blocks_per_level"]), attn_res=m["uno_attn_resolutions"],
        dropout_res=m["uno_dropout_from_resolution"], dropout=m["uno_dropout"], uno_base_nf=m["uno_base_channels"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("--config", help="default: WEIGHTS with .safetensors → .config.json")
    ap.add_argument("--official", required=True)
    ap.add_argument("--torchsparse")
    ap.add_argument("--shims")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--out", default="samples.npy")
    ap.add_argument("--forward", help="safetensors with x [B,C,R,R] and t [B]: writes the model's output")
    ap.add_argument("--forward-out")
    a = ap.parse_args()
    sys.path[:0] = [p for p in (os.path.join(HERE, "authors-standins"), a.shims, a.official) if p]
    import numpy as np
    import torch
    if a.torchsparse:
        import torchsparse_backend
        torchsparse_backend.install(a.torchsparse)
    from models.model_sparse import SparseUNet

    reads = {os.path.realpath(p) for p in (a.weights, a.config, a.forward) if p}
    for w in (a.forward_out if a.forward else None, a.out if a.sample else None):
        if w and os.path.realpath(w) in reads:
            sys.exit(f"error: {w} is one of the files being read; choose another path")
    cfg_path = a.config or (a.weights[:-len(".safetensors")] if a.weights.endswith(".safetensors") else a.weights) + ".config.json"
    c = json.load(open(cfg_path))
    state, _ = read_safetensors(a.weights)
    model = build(SparseUNet, c)
    model.load_state_dict(state, strict=True)  # the point: every key, no extra, same shapes
    model.eval()
    print(f"strict load ok: {len(state)} tensors into SparseUNet(backend={c['model']['backend']!r})", file=sys.stderr)
    enc_path = a.weights[:-len(".safetensors")] + ".encoder.safetensors" if a.weights.endswith(".safetensors") else None
    encoder = None
    if enc_path and os.path.exists(enc_path):  # their autoencoder's other half, written beside it
        from models.model_sparse import SparseEncoder
        enc_state, _ = read_safetensors(enc_path)
        encoder = build_encoder(SparseEncoder, c)
        encoder.load_state_dict(enc_state, strict=True)
        encoder.eval()
        print(f"strict load ok: {len(enc_state)} tensors into SparseEncoder", file=sys.stderr)

    if a.forward:
        io, _ = read_safetensors(a.forward)
        with torch.no_grad():
            z = encoder(io["x"]) if encoder is not None else None  # a reconstruction's z, from the same images
            y = model(io["x"], io["t"], z=z)
        sys.path.insert(0, HERE)
        import importlib.util
        spec = importlib.util.spec_from_file_location("export", os.path.join(HERE, "export-authors-weights.py"))
        ex = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ex)
        ex.write_safetensors(a.forward_out, {"y": np.ascontiguousarray(y.numpy(), dtype="<f4"),
                                            **({"z": np.ascontiguousarray(z.numpy(), dtype="<f4")} if z is not None else {})})

    if a.sample:
        import diffusion as gd
        from diffusion import SpacedDiffusion, get_named_beta_schedule, space_timesteps
        d, df = c["data"], c["diffusion"]
        r = d["img_size"]  # their sampler's mollifier is built for the training grid
        betas = get_named_beta_schedule(df["noise_schedule"], df["steps"], resolution=d["img_size"])
        sdiff = SpacedDiffusion(
            space_timesteps(df["steps"], f"ddim{a.steps}"), betas=betas, model_mean_type=gd.ModelMeanType.MOLLIFIED_EPSILON,
            model_var_type=gd.ModelVarType.FIXED_LARGE, loss_type=gd.LossType.MSE, gaussian_filter_std=df["gaussian_filter_std"],
            img_size=d["img_size"], rescale_timesteps=True, multiscale_loss=False, multiscale_max_img_size=d["img_size"] // 2,
            mollifier_type="dct")
        if c["model"]["z_dim"] is not None:
            sys.exit("error: a z-conditioned decoder samples given z (their generate_recons.py: z = encoder(images))")
        with torch.no_grad():
            x, _ = sdiff.ddim_sample_loop(model, (a.sample, d["channels"], r, r), progress=False)
        np.save(a.out, x.numpy())
        print(f"wrote {a.out}: {a.sample} samples at {r}×{r}, range [{float(x.min()):.2f}, {float(x.max()):.2f}]", file=sys.stderr)


if __name__ == "__main__":
    main()
