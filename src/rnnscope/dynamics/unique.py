"""Uniqueness and outlier exclusion for points found from many starts (FixedPointFinder's rules).

Unique: the point with the lowest q is kept, every point within `tol` (Euclidean distance) of it is a
duplicate and adds to its count; repeat with the rest. Outliers: a point farther from the
starts' centroid than `scale` times the starts' mean distance to that centroid is dropped (a run-away
solution far outside the region the network visits).

Key: N = points, D = state size, S = starts.
"""

from __future__ import annotations

import numpy as np


def unique_points(x: np.ndarray, q: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """x (N, D), q (N,) -> (indices of the kept points in increasing q, (K,); starts merged into each, (K,)).

    The lowest-q point not yet assigned is kept and takes every unassigned point within `tol` of it;
    repeat (K rounds over the M distinct rows: starts merged during the search share their leader's x and
    q exactly, so identical rows are grouped first and carry their multiplicity). Each round screens the
    rows by |x|² + |x_i|² - 2 x·x_i (one matrix-vector product) with a margin far above its rounding
    error, then decides on the exact distances of the candidates only.
    """
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    x, first, inverse = identical_rows(x)
    mult = np.bincount(inverse, minlength=len(x))
    qd = np.full(len(x), np.inf)
    np.minimum.at(qd, inverse, q)
    order = np.lexsort((first, qd))  # lowest q first, ties by the first start that reached the row
    x, first, mult = x[order], first[order], mult[order]
    sq = np.einsum("ij,ij->i", x, x)
    screen = (tol * (1 + 1e-6)) ** 2 + 1e-12 * (1 + sq.max())  # rounding of the screen: ~1e-16 |x|²
    free = np.ones(len(x), dtype=bool)
    kept, counts = [], []
    while free.any():
        i = int(np.argmax(free))
        cand = np.flatnonzero(free & (sq + sq[i] - 2.0 * (x @ x[i]) <= screen))
        near = cand[np.linalg.norm(x[cand] - x[i], axis=1) <= tol]
        kept.append(int(first[i]))
        counts.append(int(mult[near].sum()))
        free[near] = False
    return np.asarray(kept, dtype=np.int64), np.asarray(counts, dtype=np.int64)


def identical_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of x (N, D) float64, by their bits: (rows (M, D), first (M,) index of each row's
    first occurrence, inverse (N,) each row's distinct row), like np.unique(x, axis=0) but ~50x cheaper.

    Each row's bits are hashed to one integer (a 1-D unique), and every row is confirmed equal to the row
    it was grouped with, so a hash collision falls back to np.unique rather than merging different rows."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    weights = (np.arange(1, x.shape[1] + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    with np.errstate(over="ignore"):
        keys = (x.view(np.uint64) * weights).sum(axis=1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(x.view(np.uint64), x.view(np.uint64)[first][inverse]):
        rows, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)[:3]
        return rows, first, inverse.ravel()
    return x[first], first, inverse


def near_any(x: np.ndarray, others: np.ndarray, tol: float) -> np.ndarray:
    """(N,) bool: whether each point of x (N, D) lies within `tol` of any of `others` (K, D)."""
    if len(others) == 0 or len(x) == 0:
        return np.zeros(len(x), dtype=bool)
    dist = np.linalg.norm(x[:, None, :] - others[None, :, :], axis=-1)
    return (dist <= tol).any(axis=1)


def inliers(x: np.ndarray, starts: np.ndarray, scale: float | None) -> np.ndarray:
    """(N,) bool: points of x (N, D) within `scale` x the starts' (S, D) mean distance to their centroid."""
    if scale is None or len(x) == 0:
        return np.ones(len(x), dtype=bool)
    centroid = starts.mean(axis=0)
    mean_dist = np.linalg.norm(starts - centroid, axis=1).mean()
    if mean_dist == 0:  # every start at one place: nothing to scale by
        return np.ones(len(x), dtype=bool)
    return np.linalg.norm(x - centroid, axis=1) <= scale * mean_dist
