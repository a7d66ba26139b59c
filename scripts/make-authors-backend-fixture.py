#!/usr/bin/env python3
"""Makes tests/fixtures/authors-backends/: the authors' SparseUNet (samb-t/infty-diff @ abf04d8, run unchanged) with
their published default backend, torchsparse (their fork samb-t/torchsparse @ 1628e58, its Python run unchanged on
the CPU stand-in scripts/authors-standins/torchsparse_backend.py), and with torch_dense, in a configuration the other
fixture does not use (3 channels, 16 px, kernel 5, UNO 8 px with mults 1/2). Records:

  - ts.safetensors / td.safetensors: both models' state_dicts (scripts/export-authors-weights.py);
  - io.safetensors: their outputs — torchsparse: sparse path (ratio-¼ subsets, kNN ties left in), dense path at r₀ and
    off r₀ (32 and 8 px, kernels resampled by get_torch_kernel); torch_dense: dense path at 32 and 8 px (kernel kept);
    the kNN indices pytorch3d's CPU kernel picks on full grids full of ties (28 px onto 16, K = 3; 16 onto 8, K = 4);
    torch.linspace(0, 1, n) for n = 2…120;
  - tsz.safetensors: the torchsparse model with z_dim 6 (their published configs' z-conditioned decoder) and its
    outputs for a given z on the sparse path and the dense path at 16 and 32 px;
  - enc_ts.safetensors / enc_td.safetensors: their SparseEncoder (z_dim 6) for each backend and the z it gives for
    the dense16 images (full grid) and the sparse path's subsets;
  - keys.json: every state_dict key and shape, in order, of their class for each backend (what
    `infty export --format authors` must write for load_state_dict(strict=True));
  - authors-config.json: the config in their names (backend torchsparse);
  - published.json: their published configurations (ffhq_128; ffhq_256, whose model celeba_256 and churches_256
    share) with their decoders' and encoders' parameter counts; their key lists are in keys.json.

    /usr/bin/python3 scripts/make-authors-backend-fixture.py --official DIR --torchsparse DIR --shims ../shared/peer-bench/shims

DIR: plain checkouts (git archive) of samb-t/infty-diff and samb-t/torchsparse. --shims supplies einops and flash_attn
stand-ins (the peer bench's); pytorch3d's knn comes from scripts/authors-standins (pytorch3d's CPU selection order).
Deterministic: the committed files come back byte for byte.
"""
import argparse
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "authors-backends")
STANDINS = os.path.join(HERE, "authors-standins")

# their published configurations (configs/*.py, model and data groups as infty import reads them): the models'
# key/shape lists go in keys.json, the configs in published.json (ffhq_256, celeba_256 and churches_256 share one)
PUBLISHED = {
    "ffhq_128": {"data": {"img_size": 128, "channels": 3}, "model": {
        "nf": 64, "time_emb_dim": 256, "num_conv_blocks": 3, "knn_neighbours": 3, "depthwise_sparse": True, "kernel_size": 7,
        "backend": "torchsparse", "uno_res": 64, "uno_base_channels": 64, "uno_mults": [1, 2, 4, 8],
        "uno_blocks_per_level": [2, 2, 2, 2], "uno_attn_resolutions": [16, 8], "uno_dropout_from_resolution": 16,
        "uno_dropout": 0.1, "uno_conv_type": "conv", "z_dim": 256}},
    "ffhq_256": {"data": {"img_size": 256, "channels": 3}, "model": {
        "nf": 64, "time_emb_dim": 256, "num_conv_blocks": 3, "knn_neighbours": 3, "depthwise_sparse": True, "kernel_size": 7,
        "backend": "torchsparse", "uno_res": 128, "uno_base_channels": 128, "uno_mults": [1, 2, 4, 8, 8],
        "uno_blocks_per_level": [2, 2, 2, 2, 2], "uno_attn_resolutions": [16, 8], "uno_dropout_from_resolution": 16,
        "uno_dropout": 0.1, "uno_conv_type": "conv", "z_dim": 1024}},
}
Z_DIM = 6
CONFIG = {
    "data": {"img_size": 16, "channels": 3},
    "model": {
        "nf": 8, "time_emb_dim": 16, "num_conv_blocks": 2, "knn_neighbours": 3, "depthwise_sparse": True,
        "kernel_size": 5, "backend": "torchsparse", "uno_res": 8, "uno_base_channels": 8, "uno_mults": [1, 2],
        "uno_blocks_per_level": [1, 1], "uno_attn_resolutions": [4], "uno_dropout_from_resolution": 16,
        "uno_dropout": 0.1, "uno_conv_type": "conv", "z_dim": None,
    },
    "diffusion": {"steps": 1000, "noise_schedule": "cosine", "gaussian_filter_std": 1.0, "model_mean_type": "mollified_epsilon"},
}


def build(SparseUNet, backend, seed, torch, z_dim=None):
    """Their SparseUNet for CONFIG with `backend` and `z_dim`, seeded, every learned tensor perturbed."""
    spec = importlib.util.spec_from_file_location("load_export", os.path.join(HERE, "load-authors-export.py"))
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    torch.manual_seed(seed)
    net = loader.build(SparseUNet, {**CONFIG, "model": {**CONFIG["model"], "backend": backend, "z_dim": z_dim}})
    # perturb every learned tensor so a transposed or ignored weight (a LayerNorm bias, a (h w) swap) shows
    with torch.no_grad():
        for _, p in net.named_parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    return net.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", required=True)
    ap.add_argument("--torchsparse", required=True)
    ap.add_argument("--shims", required=True)
    ap.add_argument("--seed", type=int, default=32)
    a = ap.parse_args()
    sys.path[:0] = [STANDINS, a.shims, a.official]
    import numpy as np
    import torch
    sys.path.insert(0, STANDINS)
    import torchsparse_backend
    torchsparse_backend.install(a.torchsparse)
    from models.model_sparse import SparseUNet
    from pytorch3d.ops import knn_points

    spec = importlib.util.spec_from_file_location("export", os.path.join(HERE, "export-authors-weights.py"))
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    torch.set_num_threads(1)

    ts = build(SparseUNet, "torchsparse", a.seed, torch)
    td = build(SparseUNet, "torch_dense", a.seed + 1, torch)
    C, size = CONFIG["data"]["channels"], CONFIG["data"]["img_size"]
    g = torch.Generator().manual_seed(a.seed + 2)
    B, M = 2, size * size // 4
    sample_lst = torch.stack([torch.randperm(size * size, generator=g)[:M].sort().values for _ in range(B)])
    io = {"sparse/sample_lst": sample_lst.float(), "sparse/x": torch.rand(B, M, C, generator=g) * 2 - 1,
          "sparse/t": torch.tensor([17.0, 640.0])}
    with torch.no_grad():
        io["ts/sparse/out"] = ts(io["sparse/x"], io["sparse/t"], sample_lst=sample_lst)
        for r, t in ((16, [3.0, 901.0]), (32, [250.0, 5.0]), (8, [999.0, 40.0])):
            io[f"dense{r}/x"] = torch.rand(B, C, r, r, generator=g) * 2 - 1
            io[f"dense{r}/t"] = torch.tensor(t)
            io[f"ts/dense{r}/out"] = ts(io[f"dense{r}/x"], io[f"dense{r}/t"])
            io[f"td/dense{r}/out"] = td(io[f"dense{r}/x"], io[f"dense{r}/t"])

    # the stand-in checked against their own code: on the full r₀ grid, the torchsparse sparse path (their Conv3d and
    # kernel map on the stand-in's conv) must equal their dense path (F.conv2d with get_torch_kernel's reading of the
    # same (h w) i o kernel) — a wrong offset order, a transposed kernel or a convolution instead of a correlation would
    # show here
    with torch.no_grad():
        full = torch.arange(size * size).repeat(B, 1)
        x16 = io["dense16/x"]
        y_sparse = ts(x16.reshape(B, C, -1).transpose(1, 2), io["dense16/t"], sample_lst=full)
        y_dense = io["ts/dense16/out"].reshape(B, C, -1).transpose(1, 2)
        standin = float((y_sparse - y_dense).abs().max() / y_dense.abs().max())
    if not standin < 1e-5:
        sys.exit(f"error: the torchsparse stand-in's sparse path differs from their dense path by {standin}")

    # and the other half of their autoencoder: SparseEncoder (z from an image) for both backends, which differ here:
    # without t and z, torchsparse blocks skip both norms and feed the conv's output to the MLP, torch_dense blocks
    # normalise (their code); full grid and the ratio-¼ subsets
    from models.model_sparse import SparseEncoder
    encoders = {}
    for name, backend, seed in (("enc_ts", "torchsparse", a.seed + 4), ("enc_td", "torch_dense", a.seed + 5)):
        m, d = CONFIG["model"], CONFIG["data"]
        torch.manual_seed(seed)
        enc = SparseEncoder(
            out_channels=Z_DIM, channels=d["channels"], nf=m["nf"], img_size=d["img_size"], num_conv_blocks=m["num_conv_blocks"],
            knn_neighbours=m["knn_neighbours"], uno_res=m["uno_res"], uno_mults=tuple(m["uno_mults"]), conv_type=m["uno_conv_type"],
            depthwise_sparse=m["depthwise_sparse"], kernel_size=m["kernel_size"], backend=backend,
            blocks_per_level=tuple(m["uno_blocks_per_level"]), attn_res=m["uno_attn_resolutions"],
            dropout_res=m["uno_dropout_from_resolution"], dropout=m["uno_dropout"], uno_base_nf=m["uno_base_channels"])
        with torch.no_grad():
            for _, p in enc.named_parameters():
                if p.requires_grad:
                    p.add_(0.05 * torch.randn_like(p))
        enc.eval()
        with torch.no_grad():
            io[f"{name}/full/z"] = enc(io["dense16/x"])
            io[f"{name}/sparse/z"] = enc(io["sparse/x"], sample_lst=sample_lst)
        encoders[name] = enc

    # kNN on full grids, as their code calls it: queries the UNO nodes, references the points, both torch.linspace
    ties = {}
    for n, u, k in ((28, 16, 3), (16, 8, 4)):
        lin = lambda s: torch.linspace(0, 1, steps=s)
        pts = torch.stack(torch.meshgrid(lin(n), lin(n), indexing="ij")).reshape(2, -1).T[None]
        nodes = torch.stack(torch.meshgrid(lin(u), lin(u), indexing="ij")).reshape(2, -1).T[None]
        r = knn_points(nodes, pts, K=k + 1)
        io[f"knn/n{n}u{u}k{k}"] = r.idx[..., :k].float()
        ties[f"n{n}u{u}k{k}"] = {"boundary_ties": int((r.dists[..., k - 1] == r.dists[..., k]).sum()),
                                 "nodes": u * u}
    # the sparse path's subsets: their kNN ties (left in: the lab breaks them as pytorch3d's CPU kernel does)
    lin16 = torch.linspace(0, 1, steps=size)
    cells = torch.stack(torch.meshgrid(lin16, lin16, indexing="ij")).reshape(2, -1).T
    kk = CONFIG["model"]["knn_neighbours"]
    r = knn_points(ts.uno_coords.repeat(B, 1, 1), torch.stack([cells[s] for s in sample_lst]), K=kk + 1)
    ties["sparse"] = {"boundary_ties": int((r.dists[..., kk - 1] == r.dists[..., kk]).sum()), "nodes": B * ts.uno_coords.size(1)}
    io["linspace/2-120"] = torch.cat([torch.linspace(0, 1, steps=n) for n in range(2, 121)])

    # their published configurations train a z-conditioned decoder (z_dim 256 / 1024 with train_inf_ae_diffusion.py):
    # the same model with z_dim = Z_DIM, on the sparse path and the dense path at r₀ and 2×, z given
    tsz = build(SparseUNet, "torchsparse", a.seed + 3, torch, z_dim=Z_DIM)
    io["z"] = torch.randn(B, Z_DIM, generator=g)
    with torch.no_grad():
        io["tsz/sparse/out"] = tsz(io["sparse/x"], io["sparse/t"], z=io["z"], sample_lst=sample_lst)
        for r in (16, 32):
            io[f"tsz/dense{r}/out"] = tsz(io[f"dense{r}/x"], io[f"dense{r}/t"], z=io["z"])

    os.makedirs(OUT, exist_ok=True)
    keys = {}
    from models.model_sparse import SparseEncoder as _SE  # noqa: F401 (imported above in the encoder section)
    spec_l = importlib.util.spec_from_file_location("load_export", os.path.join(HERE, "load-authors-export.py"))
    loader = importlib.util.module_from_spec(spec_l)
    spec_l.loader.exec_module(loader)
    published_params = {}
    for pname, pc in PUBLISHED.items():  # built once each (no forward): their key lists at full size
        for which, make in (("decoder", lambda c: loader.build(SparseUNet, c)), ("encoder", lambda c: loader.build_encoder(_SE, c))):
            net = make(pc)
            keys[f"published {pname} {which}"] = [[k, list(v.shape)] for k, v in net.state_dict().items()]
            published_params[f"{pname} {which}"] = sum(p.numel() for p in net.parameters())
            del net
    with open(os.path.join(OUT, "published.json"), "w") as f:
        json.dump({"configs": PUBLISHED, "parameters": published_params}, f, indent=1)
        f.write("\n")
    for name, net in (("ts", ts), ("td", td), ("tsz", tsz), ("enc_ts", encoders["enc_ts"]), ("enc_td", encoders["enc_td"])):
        sd = net.state_dict()
        keys[{"ts": "torchsparse", "td": "torch_dense", "tsz": f"torchsparse z_dim {Z_DIM}", "enc_ts": f"encoder torchsparse z_dim {Z_DIM}",
              "enc_td": f"encoder torch_dense z_dim {Z_DIM}"}[name]] = [[k, list(v.shape)] for k, v in sd.items()]
        export.write_safetensors(os.path.join(OUT, f"{name}.safetensors"), export.to_arrays(sd),
                                 {"format": "pt", "source": "scripts/make-authors-backend-fixture.py"})
    meta = {"config": json.dumps(CONFIG), "seed": str(a.seed), "torch": torch.__version__, "official_commit": "abf04d8",
            "torchsparse_commit": "1628e58", "knn_ties": json.dumps(ties), "standin_vs_dense_forward": f"{standin:.3g}",
            "parameters": json.dumps({"torchsparse": sum(p.numel() for p in ts.parameters()),
                                      "torch_dense": sum(p.numel() for p in td.parameters()),
                                      "torchsparse z": sum(p.numel() for p in tsz.parameters())}),
            "layout": "sparse/x [B,M,C] at sample_lst [B,M] (flat cells r*16+c); denseR/x and …/out [B,C,R,R] (NCHW); "
                      "knn/… [1, U*U, K] point indices (flat cells r*n+c)"}
    export.write_safetensors(os.path.join(OUT, "io.safetensors"),
                             {k: np.ascontiguousarray(v.numpy(), dtype="<f4") for k, v in io.items()}, meta)
    with open(os.path.join(OUT, "keys.json"), "w") as f:  # one key a line, so a diff reads
        f.write("{\n" + ",\n".join(f'  "{b}": [\n' + ",\n".join("    " + json.dumps(e) for e in ks) + "\n  ]"
                                     for b, ks in keys.items()) + "\n}\n")
    with open(os.path.join(OUT, "authors-config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    print(json.dumps({"standin_vs_dense_forward": standin, "knn_ties": ties, "parameters": json.loads(meta["parameters"]),
                      "rms": {k: float(v.pow(2).mean().sqrt()) for k, v in io.items() if k.endswith("out")}}))


if __name__ == "__main__":
    main()
