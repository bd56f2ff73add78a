"""1-nearest-neighbour baselines on a train/test split: Euclidean distance and DTW.

`one_nn_baselines(train, test)` -> {"baseline_1nn_ed": {...}, "baseline_1nn_dtw": {...}}, each with the test
accuracy (or None and the reason it was skipped) and the seconds it took. DTW is the full-window
(unconstrained) dynamic time warping of the C library `dtaidistance` (the `baselines` extra); multivariate
series use dependent DTW (one warping path for all channels, squared Euclidean cost per step). Euclidean
distance needs series of one length; variable-length data gets DTW only.

Distances are those of the UCR archive's 1NN classifiers, so on its data sets (which the archive ships
z-normalised per series) these reproduce the published 1NN-ED and 1NN-DTW (full window) accuracies;
rnnscope's per-channel z-normalisation with train statistics changes no nearest neighbour of univariate data
(one affine map of every value).

Key: N = series, T = padded length, C = channels.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # a Split is read by duck typing (x, y, lengths): analysis imports no data package
    from rnnscope.data.dataset import Split

try:  # the `baselines` extra: without it the DTW baseline is skipped with the reason
    from dtaidistance import dtw, dtw_ndim
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    dtw = dtw_ndim = None

DTW_BUDGET = 2e9  # DTW cells (pairs x steps x steps) above which the DTW baseline is skipped, not run
ED_BUDGET = 5e9  # Euclidean values (pairs x steps x channels) above which ED is skipped


def _series(split: Split) -> list[np.ndarray]:
    """Each series at its own length as float64: (T_i,) univariate, (T_i, C) multivariate."""
    c = split.x.shape[2]
    out = [np.ascontiguousarray(split.x[i, : split.lengths[i]], dtype=np.float64) for i in range(len(split))]
    return [s[:, 0].copy() for s in out] if c == 1 else out


def one_nn_ed(train: Split, test: Split) -> dict:
    """1NN with Euclidean distance -> {"accuracy", "seconds", "skipped"}."""
    if train.variable_length or test.variable_length or train.seq_len != test.seq_len:
        return _skip("Euclidean distance needs series of one length; this data has several")
    cost = len(train) * len(test) * train.seq_len * train.x.shape[2]
    if cost > ED_BUDGET:
        return _skip(f"{cost:.2g} values to compare exceed the budget of {ED_BUDGET:.2g}")
    t0 = time.perf_counter()
    a = train.x.reshape(len(train), -1).astype(np.float64)  # (N_train, T*C)
    nearest = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), 256):  # (256, N_train) distances at a time
        q = test.x[start : start + 256].reshape(-1, a.shape[1]).astype(np.float64)
        d = (q**2).sum(1)[:, None] - 2 * q @ a.T + (a**2).sum(1)[None, :]
        nearest[start : start + len(q)] = d.argmin(1)
    return _done(train.y[nearest], test.y, time.perf_counter() - t0)


def dtw_cells(train: Split, test: Split) -> float:
    """Cells of the full-window DTW matrices of every (test, train) pair."""
    return float(test.lengths.astype(np.float64).sum() * train.lengths.astype(np.float64).sum())


def one_nn_dtw(train: Split, test: Split, budget: float = DTW_BUDGET) -> dict:
    """1NN with full-window DTW (dependent DTW for several channels) -> {"accuracy", "seconds", "skipped"}."""
    cells = dtw_cells(train, test)
    if cells > budget:
        return _skip(
            f"{cells:.2g} DTW cells exceed the budget of {budget:.2g} (about {cells / 4e8:.0f} s); "
            "--no-baselines skips both"
        )
    if dtw is None:
        return _skip("dtaidistance is not installed (pip install 'rnnscope[baselines]')")
    t0 = time.perf_counter()
    multi = train.x.shape[2] > 1
    series = _series(train) + _series(test)
    lib = dtw_ndim if multi else dtw
    block = ((0, len(train)), (len(train), len(series)))
    d = lib.distance_matrix_fast(series, block=block, compact=False, parallel=True)
    d = d[: len(train), len(train) :].T  # (N_test, N_train)
    return _done(train.y[np.argmin(d, axis=1)], test.y, time.perf_counter() - t0)


def one_nn_baselines(train: Split, test: Split, dtw_budget: float = DTW_BUDGET) -> dict:
    """Both baselines -> {"baseline_1nn_ed": {...}, "baseline_1nn_dtw": {...}}."""
    return {
        "baseline_1nn_ed": one_nn_ed(train, test),
        "baseline_1nn_dtw": one_nn_dtw(train, test, dtw_budget),
    }


def _skip(reason: str) -> dict:
    return {"accuracy": None, "seconds": 0.0, "skipped": reason}


def _done(pred: np.ndarray, y: np.ndarray, seconds: float) -> dict:
    return {"accuracy": float((pred == y).mean()), "seconds": seconds, "skipped": None}
