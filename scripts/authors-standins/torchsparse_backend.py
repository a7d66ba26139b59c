"""CPU stand-in for the compiled part of the authors' torchsparse fork (samb-t/torchsparse @ 1628e58,
`torchsparse.backend`, C++/CUDA), so their Python package (Conv3d, SparseTensor, build_kernel_map, get_kernel_offsets,
conv3d) runs unchanged on a CPU without compiling it. Written from what those functions compute, not from their code:

- hash_cpu / kernel_hash_cpu: any injective int64 key of (x, y, z, batch) serves, since the keys are only compared for
  equality (theirs is FNV-1a; ours packs the four ints). kernel_hash adds offset k to the three spatial coordinates
  and returns [K, N], as theirs.
- hash_query_cpu: for each query key, 1 + the index of the equal reference key, or 0 (theirs: a dense_hash_map).
- build_mask_from_kmap: masks only the CUDA "latest" kernels read; unused on this path.
- convolution_forward_cpu: out[o] = Σ_k Σ_(i→o in map k) in[i] · W[k] (their gather–matmul–scatter; the regular conv of
  the normalising conv).
- depthwise_conv: the depthwise conv of their fork's CUDA kernels (convolution_cuda.cu, depthwise_* functions:
  gather, `torch::mul_out(out_buffer, in_buffer, kernel[k])` with kernel [K, 1, C] broadcast over channels, scatter-
  add), which their CPU path refuses (`assert not depthwise`). `install()` puts it in place of ConvolutionFunction
  for CPU tensors; the centre tap's order of summation (theirs adds it first) changes only float rounding.
"""
import sys
import types

import torch

_B = 1 << 15


def _key(c):
    c = c.long()
    return (((c[..., 0] + _B) << 48) | ((c[..., 1] + _B) << 32) | ((c[..., 2] + _B) << 16) | c[..., 3]) + 1


def hash_cpu(coords):
    return _key(coords)


def kernel_hash_cpu(coords, offsets):
    c = coords.long()[None].repeat(offsets.size(0), 1, 1)
    c[..., :3] += offsets.long()[:, None, :]
    return _key(c)


def hash_query_cpu(queries, references, indices):
    table = {int(k): int(v) + 1 for k, v in zip(references.tolist(), indices.tolist())}
    return torch.tensor([table.get(int(q), 0) for q in queries.tolist()], dtype=torch.long)


def build_mask_from_kmap(n_in, n_out, nbmaps, nbsizes):
    return torch.empty(0, dtype=torch.int), torch.empty(0, dtype=torch.int)


def _maps(nbmaps, nbsizes):
    start = 0
    for k, n in enumerate(nbsizes.tolist()):
        yield k, nbmaps[start:start + n, 0].long(), nbmaps[start:start + n, 1].long()
        start += n


def convolution_forward_cpu(inp, out, kernel, nbmaps, nbsizes, transposed):
    out.resize_(out.size(0), kernel.size(-1)).zero_()
    for k, i, o in _maps(nbmaps, nbsizes):
        if transposed:
            i, o = o, i
        out.index_add_(0, o, inp[i] @ kernel[k])


def depthwise_conv(inp, kernel, nbmaps, nbsizes, n_out):
    out = torch.zeros(n_out, kernel.size(-1), dtype=inp.dtype)
    for k, i, o in _maps(nbmaps, nbsizes):
        out.index_add_(0, o, inp[i] * kernel[k])  # kernel[k]: [1, C], per channel
    return out


class _Conv(torch.autograd.Function):
    """Same arguments as their ConvolutionFunction; forward only (the fixtures need no gradients)."""

    @staticmethod
    def forward(ctx, inp, weight, nbmaps, nbsizes, buffer, sizes, input_mask, output_mask, epsilon, mm_thresh,
                conv_mode, transposed=False, depthwise=False):
        if depthwise:
            return depthwise_conv(inp.contiguous(), weight, nbmaps, nbsizes, sizes[1])
        out = torch.zeros(sizes[0] if transposed else sizes[1], weight.size(-1), dtype=inp.dtype)
        convolution_forward_cpu(inp.contiguous(), out, weight, nbmaps, nbsizes, transposed)
        return out


def install(torchsparse_dir):
    """Imports their torchsparse from `torchsparse_dir` with this module as its compiled backend."""
    sys.modules["torchsparse.backend"] = sys.modules[__name__]
    if "tqdm" not in sys.modules:  # imported by their tune utility only
        sys.modules["tqdm"] = types.SimpleNamespace(tqdm=lambda x, *a, **k: x)
    sys.path.insert(0, torchsparse_dir)
    import torchsparse
    torchsparse.backend = sys.modules[__name__]
    import torchsparse.nn.functional.conv as conv
    conv.ConvolutionFunction = _Conv
    return torchsparse
