#!/usr/bin/env python3
"""Export the weights of an ∞-Diff model trained with the authors' PyTorch code (samb-t/infty-diff) as safetensors.

    python3 scripts/export-authors-weights.py CHECKPOINT.pth OUT.safetensors [--which ema|model|encoder]

CHECKPOINT is either a plain state_dict of `SparseUNet` (what `model.state_dict()` returns, saved with torch.save)
or a training checkpoint of `train_inf_ae_diffusion.py` (a dict holding `model_state_dict`, `model_ema_state_dict`,
...); `--which` picks the EMA weights (default, what the authors sample with), the raw ones, or the SparseEncoder's
(`encoder_state_dict`, their autoencoder's other half: `infty import --encoder-weights`). Tensor names and
layouts are kept exactly as PyTorch has them (float32, row-major); `infty import` maps them onto the lab's `authors`
architecture. Needs only the standard library, numpy and torch (no `safetensors` package): the file layout is
8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, data.
"""
import argparse
import os
import json
import struct
import sys

import numpy as np


def find_state_dict(obj, which):
    """The SparseUNet state_dict inside what torch.load returned; exits 2 with one line when there is none."""
    if not isinstance(obj, dict):
        sys.exit(f"error: expected a state_dict or a training checkpoint dict, got {type(obj).__name__}")
    keys = {"ema": "model_ema_state_dict", "model": "model_state_dict", "encoder": "encoder_state_dict"}
    if keys[which] in obj:
        return obj[keys[which]]
    if which == "encoder":
        sys.exit("error: no 'encoder_state_dict' here: --which encoder needs a training checkpoint of train_inf_ae_diffusion.py")
    if any(k in obj for k in keys.values()):
        sys.exit(f"error: checkpoint has no '{keys[which]}' (has: {', '.join(k for k in obj if k.endswith('state_dict'))})")
    return obj


def to_arrays(state_dict):
    out = {}
    for name, t in state_dict.items():
        if not hasattr(t, "detach"):
            sys.exit(f"error: entry '{name}' is a {type(t).__name__}, not a tensor")
        if t.is_complex():
            sys.exit(f"error: entry '{name}' is complex (spectral UNO convolutions are not supported)")
        a = np.ascontiguousarray(t.detach().cpu().float().numpy(), dtype="<f4")
        # NaN/±inf (a float64 beyond float32's range becomes inf here) would give a model `infty` refuses to sample
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        if bad:
            sys.exit(f"error: entry '{name}' holds {bad} non-finite values (NaN/inf, or beyond float32's range); nothing written")
        out[name] = a
    return out


def write_safetensors(path, arrays, metadata=None):
    """arrays: name -> float32 numpy array, written in the given order; metadata: str -> str."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in arrays.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode("utf8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in arrays.values():
            f.write(a.astype("<f4", copy=False).tobytes(order="C"))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--which", choices=["ema", "model", "encoder"], default="ema")
    a = ap.parse_args()
    # never write over the checkpoint being read, however the path is spelled (symlink, hard link, ./)
    if os.path.exists(a.out) and os.path.exists(a.checkpoint) and os.path.samefile(a.out, a.checkpoint):
        sys.exit(f"error: {a.out} is the checkpoint being read; choose another output path")
    import torch
    try:
        obj = torch.load(a.checkpoint, map_location="cpu")
    except Exception as e:  # one line, as the lab's CLI reports errors
        sys.exit(f"error: cannot read {a.checkpoint}: {str(e).splitlines()[0]}")
    arrays = to_arrays(find_state_dict(obj, a.which))
    write_safetensors(a.out, arrays, {"format": "pt", "source": "samb-t/infty-diff SparseUNet state_dict", "which": a.which})
    print(f"wrote {a.out}: {len(arrays)} tensors, {sum(x.size for x in arrays.values())} values")


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            sys.exit(2)
        raise
