"""Stand-in for pytorch3d.ops.knn_points / knn_gather with the CPU kernel's exact selection and order.

pytorch3d's CPU knn (csrc/knn/knn_cpu.cpp) computes each squared distance in float32 as a running sum over the
coordinates (dist += diff * diff, diff = p1 − p2), scans p2 in index order into a max-heap of (dist, index) and admits
a point only when its distance is strictly below the heap's top. The result is the K smallest (dist, index) pairs in
lexicographic order, written out in that order; knn_points' Python wrapper then sorts by distance, which keeps it.
Here: the same float32 sums, then a stable sort by distance (ties in index order) and the first K.
Only what infty-diff uses: no lengths, norm 2.
"""
from collections import namedtuple

import torch

KNN = namedtuple("KNN", ["dists", "idx", "knn"])


def knn_points(p1, p2, lengths1=None, lengths2=None, norm=2, K=1, version=-1, return_nn=False, return_sorted=True):
    assert lengths1 is None and lengths2 is None and norm == 2
    p1, p2 = p1.float(), p2.float()
    dist = torch.zeros(p1.size(0), p1.size(1), p2.size(1))
    for d in range(p1.size(2)):
        diff = p1[:, :, None, d] - p2[:, None, :, d]
        dist = dist + diff * diff
    dists, idx = torch.sort(dist, dim=-1, stable=True)
    dists, idx = dists[..., :K], idx[..., :K]
    return KNN(dists=dists, idx=idx, knn=knn_gather(p2, idx) if return_nn else None)


def knn_gather(x, idx, lengths=None):
    assert lengths is None
    n, l, k = idx.shape
    return x.gather(1, idx.reshape(n, l * k, 1).expand(n, l * k, x.size(-1))).reshape(n, l, k, x.size(-1))
