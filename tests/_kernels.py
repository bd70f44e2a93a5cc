"""Direct calls of planner's private numba kernels shared by the kernel tests."""

from __future__ import annotations

import numpy as np

from planner import _engine as E

_NO_LABELS = np.empty(0, dtype=np.int64)


def sorted_search(indptr, indices, weights, seeds, seed_times, cutoff, inv_delta, workspace):
    """One bucket-queue search without labels, its output sorted by time: ``_bucket_sssp``'s
    18 arguments from the graph, the seeds, the cutoff, the bucket width's inverse and
    ``workspace`` (``dist, state, order, order_t, head, pool_node, pool_next`` as
    :func:`planner._engine._workspace` returns them, or with a smaller pool). Returns the number
    of nodes reached (``order[:count]``, their times in ``order_t[:count]``)."""
    assert len(workspace) == 7, "dist, state, order, order_t, head, pool_node, pool_next"
    graph = (indptr, indices, weights)
    search = (seeds, seed_times, cutoff, inv_delta)
    return E._bucket_sssp(*graph, *search, *workspace, _NO_LABELS, _NO_LABELS, False, True)
