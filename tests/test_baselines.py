"""1NN baselines: the archive's published 1NN-ED / 1NN-DTW (full window) reproduced on shipped sets, dependent
DTW for several channels against a plain reference, and skips with a stated reason."""

import importlib.util

import numpy as np
import pytest

from rnnscope.analysis.nearest import one_nn_baselines, one_nn_dtw, one_nn_ed
from rnnscope.data import load_dataset
from rnnscope.data.dataset import Split

needs_aeon = pytest.mark.skipif(importlib.util.find_spec("aeon") is None, reason="needs rnnscope[ucr]")


def _dtw(a: np.ndarray, b: np.ndarray) -> float:
    """Full-window dependent DTW, sqrt of the summed squared Euclidean step costs: a (n, C), b (m, C)."""
    d = np.full((len(a) + 1, len(b) + 1), np.inf)
    d[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = ((a[i - 1] - b[j - 1]) ** 2).sum() + min(d[i - 1, j], d[i, j - 1], d[i - 1, j - 1])
    return float(np.sqrt(d[-1, -1]))


def _ragged(rng, n, c, lengths):
    x = np.zeros((n, max(lengths), c), dtype=np.float32)
    for i, t in enumerate(lengths):
        x[i, :t] = rng.standard_normal((t, c))
    return Split(x, rng.integers(0, 3, n), np.array(lengths))


@pytest.mark.parametrize("channels", [1, 3])
def test_dtw_nearest_neighbour_equals_a_plain_reference(channels):
    rng = np.random.default_rng(channels)
    train = _ragged(rng, 7, channels, [5, 9, 6, 8, 7, 9, 4])
    test = _ragged(rng, 5, channels, [9, 3, 7, 6, 8])
    got = one_nn_dtw(train, test)
    assert got["skipped"] is None
    ref = [
        train.y[
            np.argmin([_dtw(test.x[i, : test.lengths[i]], train.x[j, : train.lengths[j]]) for j in range(7)])
        ]
        for i in range(5)
    ]
    assert got["accuracy"] == pytest.approx(float(np.mean(np.array(ref) == test.y)))


def test_skips_say_why():
    rng = np.random.default_rng(0)
    ragged = _ragged(rng, 4, 1, [3, 4, 4, 2])
    assert "needs series of one length" in one_nn_ed(ragged, ragged)["skipped"]
    big = one_nn_dtw(ragged, ragged, budget=10)
    assert big["accuracy"] is None and "DTW cells exceed the budget of 10" in big["skipped"]


@needs_aeon
def test_published_1nn_numbers_on_italy_power_demand():
    b = load_dataset("ItalyPowerDemand")
    got = one_nn_baselines(b.train, b.test)
    assert round(got["baseline_1nn_ed"]["accuracy"], 3) == 0.955  # UCR 2018 DataSummary.csv
    assert round(got["baseline_1nn_dtw"]["accuracy"], 3) == 0.950  # full window


@needs_aeon
@pytest.mark.slow
@pytest.mark.parametrize("name, ed, dtw", [("GunPoint", 0.913, 0.907), ("ArrowHead", 0.800, 0.703)])
def test_published_1nn_numbers(name, ed, dtw):
    b = load_dataset(name)
    got = one_nn_baselines(b.train, b.test)
    assert round(got["baseline_1nn_ed"]["accuracy"], 3) == ed
    assert round(got["baseline_1nn_dtw"]["accuracy"], 3) == dtw
