"""
Independent check of three conventions against the authors' code (samb-t/infty-diff @ abf04d8, imported unchanged from
a folder you give; nothing of it is copied here): the lab's "ddim-stride" grid against their space_timesteps(1000,
"ddimN"), the lab's "authors" kernel resampling against their SPConvResBlock.get_torch_kernel (F.interpolate), and
the lab's default kNN weights against their SparseUNet.knn_interpolate_to_grid (1 / clamp(d², 1e-16)).

  npm run build && /usr/bin/python3 scripts/check-official-conventions.py --official OFFICIAL_DIR [--shims DIR]

Needs Debian's python3-torch and numpy; the shims of /work/shared/peer-bench (torch_dct, einops, pytorch3d stand-ins)
let the official modules import. Exit 1 if anything disagrees.
"""
import argparse, json, os, subprocess, sys, types
ap = argparse.ArgumentParser()
ap.add_argument("--official", default=os.environ.get("INFTY_DIFF_DIR"), required=os.environ.get("INFTY_DIFF_DIR") is None)
ap.add_argument("--shims", default="/work/shared/peer-bench/shims")
args = ap.parse_args()
sys.path[:0] = [args.shims, args.official]
import numpy as np, torch
import diffusion as D
from models import sparse_conv_block as S
here = os.path.dirname(os.path.abspath(__file__))
lab = json.loads(subprocess.run(["node", os.path.join(here, "official-conventions.js")], check=True, capture_output=True, text=True).stdout)
ok = True
for n, ts in lab["grids"].items():
    theirs = sorted(D.space_timesteps(1000, "ddim%s" % n), reverse=True)
    same = theirs == ts
    ok &= same
    print("ddim%s" % n, "same" if same else "DIFF", theirs[:3], ts[:3])
k, C = 7, 2
kv = np.array(lab["kernel"], dtype=np.float32).reshape(k, k, C)
for key, v in lab["kernels"].items():
    r0, r = map(int, key.split("-"))
    ns = types.SimpleNamespace(kernel_size=k, img_size=r0, conv=types.SimpleNamespace(weight=torch.tensor(kv.transpose(2, 0, 1)[:, :, :, None])))
    t = S.SPConvResBlock.get_torch_kernel(ns, r)  # [C, 1, k', k']
    theirs = t[:, 0].permute(1, 2, 0).numpy()
    mine = np.array(v["v"], dtype=np.float32).reshape(v["shape"])
    err = float(np.abs(theirs - mine).max()) if theirs.shape == mine.shape else float("inf")
    ok &= err < 1e-6
    print(f"kernel {r0}->{r}: authors {theirs.shape}, lab {mine.shape}, max |diff| {err:.2e}")
from models import model_sparse as MS
kn = lab["knn"]
B, M, N, Cc = kn["B"], kn["M"], kn["N"], kn["C"]
pts = torch.tensor(kn["points"], dtype=torch.float32).reshape(B, M, 2)
tg = torch.tensor(kn["targets"], dtype=torch.float32).reshape(B, N, 2)
feats = torch.tensor(kn["feats"], dtype=torch.float32).reshape(B, M, Cc)
# their method reads targets from self.uno_coords (repeated over the batch): one call per batch element
theirs = torch.cat([MS.SparseUNet.knn_interpolate_to_grid(types.SimpleNamespace(uno_coords=tg[b:b + 1], knn_neighbours=3), feats[b:b + 1], pts[b:b + 1]) for b in range(B)])
err = float((theirs.reshape(-1) - torch.tensor(kn["out"])).abs().max())
ok &= err < 1e-5
print(f"kNN points → targets (inverse squared distance, k = 3): max |diff| {err:.2e}")
print("ALL AGREE" if ok else "DISAGREE")
sys.exit(0 if ok else 1)
