#!/usr/bin/env python3
"""Makes tests/fixtures/authors/: the authors' own SparseUNet (samb-t/infty-diff @ abf04d8, run unchanged) at a fixed
seed, its weights exported by scripts/export-authors-weights.py, fixed inputs and the authors' outputs on both paths:

  - sparse: a uniform coordinate subset at ratio 1/4 of the 28×28 grid (`sample_lst`, the training path), with t;
  - dense: the full 28×28 grid as a 4-D image (`dense_forward`, the sampling path), with t.

tests/lib/nn/authors-network.test.ts loads both files into the lab's `authors` architecture and compares. Run once:

    /usr/bin/python3 scripts/make-authors-fixture.py --official /work/official --shims /work/shared/peer-bench/shims

Needs Debian's python3-torch and numpy; `--shims` holds stand-ins for einops, pytorch3d's knn, flash_attn (the
peer bench's; plain-torch versions of the same functions), so the authors' files import without CUDA packages.
"""
import argparse
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "authors")

# small but complete: every layer kind (stride-2 downs, transposed-conv ups, attention at the lowest level and in
# the middle, channel changes with 1×1 residual convs, skip linears) at the peer bench's 28-px setting
CONFIG = {
    "data": {"img_size": 28, "channels": 1},
    "model": {
        "nf": 8, "time_emb_dim": 16, "num_conv_blocks": 2, "knn_neighbours": 3, "depthwise_sparse": True,
        "kernel_size": 7, "uno_res": 8, "uno_base_channels": 8, "uno_mults": [1, 2, 2],
        "uno_blocks_per_level": [2, 2, 2], "uno_attn_resolutions": [2], "uno_dropout_from_resolution": 16,
        "uno_dropout": 0.1, "uno_conv_type": "conv", "z_dim": None,
    },
    "diffusion": {"steps": 1000, "noise_schedule": "cosine", "gaussian_filter_std": 1.0, "model_mean_type": "mollified_epsilon"},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", default=os.environ.get("INFTY_DIFF_DIR"), required=os.environ.get("INFTY_DIFF_DIR") is None)
    ap.add_argument("--shims", required=True)
    ap.add_argument("--seed", type=int, default=19)
    a = ap.parse_args()
    sys.path[:0] = [a.shims, a.official]
    import numpy as np
    import torch
    from models.model_sparse import SparseUNet

    spec = importlib.util.spec_from_file_location("export", os.path.join(HERE, "export-authors-weights.py"))
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)

    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    m, d = CONFIG["model"], CONFIG["data"]
    net = SparseUNet(
        channels=d["channels"], nf=m["nf"], time_emb_dim=m["time_emb_dim"], img_size=d["img_size"],
        num_conv_blocks=m["num_conv_blocks"], knn_neighbours=m["knn_neighbours"], uno_res=m["uno_res"],
        uno_mults=tuple(m["uno_mults"]), z_dim=m["z_dim"], conv_type=m["uno_conv_type"],
        depthwise_sparse=m["depthwise_sparse"], kernel_size=m["kernel_size"], backend="torch_dense",
        optimise_dense=True, blocks_per_level=tuple(m["uno_blocks_per_level"]), attn_res=m["uno_attn_resolutions"],
        dropout_res=m["uno_dropout_from_resolution"], dropout=m["uno_dropout"], uno_base_nf=m["uno_base_channels"],
    )
    # PyTorch's default init leaves LayerNorm gains at 1 and several biases at 0: perturb every tensor a little so a
    # transposed or misnamed weight cannot hide behind a constant
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    net.eval()

    size = d["img_size"]
    B, M = 2, round(0.25 * size * size)
    g = torch.Generator().manual_seed(a.seed + 1)
    lin = torch.linspace(0, 1, size)
    grid = torch.stack(torch.meshgrid(lin, lin, indexing="ij")).reshape(2, -1).T  # the authors' (row, col) in [0,1]

    # the kNN step must not hinge on a tie between the K-th and (K+1)-th neighbour: the authors' choice among equal
    # distances is topk's internal order. Subsets mirrored about a grid point tie exactly and often, so subsets are
    # redrawn (same generator) until the margin is clear; the lab breaks ties by the lower point index (divergences.md)
    def knn_margin(coords):
        dist = torch.cdist(net.uno_coords.repeat(coords.size(0), 1, 1), coords).pow(2)
        s = dist.topk(m["knn_neighbours"] + 1, dim=-1, largest=False).values
        return float((s[..., -1] - s[..., -2]).min())
    redraws = 0
    while True:
        sample_lst = torch.stack([torch.randperm(size * size, generator=g)[:M].sort().values for _ in range(B)])
        if knn_margin(torch.stack([grid[s] for s in sample_lst])) > 1e-6:
            break
        redraws += 1
    x_sparse = torch.rand(B, M, d["channels"], generator=g) * 2 - 1
    t_sparse = torch.tensor([17.0, 640.0])
    x_dense = torch.rand(B, d["channels"], size, size, generator=g) * 2 - 1
    t_dense = torch.tensor([3.0, 901.0])
    with torch.no_grad():
        y_sparse = net(x_sparse, t_sparse, sample_lst=sample_lst)
        y_dense = net(x_dense, t_dense)

    margins = {"sparse": knn_margin(torch.stack([grid[s] for s in sample_lst])), "dense": knn_margin(grid[None])}
    if not margins["dense"] > 1e-6:
        sys.exit(f"error: a kNN tie on the dense path (margin {margins['dense']})")

    os.makedirs(OUT, exist_ok=True)
    weights = os.path.join(OUT, "sparse-unet.pt")
    torch.save(net.state_dict(), weights)  # as a user's export starts: a state_dict file
    arrays = export.to_arrays(export.find_state_dict(torch.load(weights, map_location="cpu"), "ema"))
    os.remove(weights)
    export.write_safetensors(os.path.join(OUT, "sparse-unet.safetensors"), arrays,
                             {"format": "pt", "source": "scripts/make-authors-fixture.py"})
    # off r₀ the authors' sparse backends resample each k×k kernel with F.interpolate (bilinear, align_corners=False)
    k7 = torch.randn(2, 1, 7, 7, generator=g)
    io_resample = {f"resample/k{m}": torch.nn.functional.interpolate(k7, size=m, mode="bilinear") for m in (3, 13, 29)}
    io = {
        **io_resample, "resample/k7": k7,
        "sparse/sample_lst": sample_lst.float(), "sparse/x": x_sparse, "sparse/t": t_sparse, "sparse/out": y_sparse,
        "dense/x": x_dense, "dense/t": t_dense, "dense/out": y_dense,
    }
    params = sum(p.numel() for p in net.parameters())
    meta = {"config": json.dumps(CONFIG), "parameters": str(params), "seed": str(a.seed), "torch": torch.__version__,
            "official_commit": "abf04d8", "knn_margins": json.dumps(margins), "subset_redraws": str(redraws),
            "layout": "sparse/x [B,M,C] at sample_lst [B,M] (flat cells r*28+c); dense/x and dense/out [B,C,H,W] (NCHW)"}
    export.write_safetensors(os.path.join(OUT, "io.safetensors"),
                             {k: np.ascontiguousarray(v.numpy(), dtype="<f4") for k, v in io.items()}, meta)
    with open(os.path.join(OUT, "authors-config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    print(json.dumps({"parameters": params, "knn_margins": margins, "subset_redraws": redraws,
                      "out_rms": {"sparse": float(y_sparse.pow(2).mean().sqrt()), "dense": float(y_dense.pow(2).mean().sqrt())}}))


if __name__ == "__main__":
    main()
