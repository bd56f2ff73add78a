"""Activity statistics and the input checks shared by every analysis: shapes, NaN, masks, sizes.

Key: S = sequences, T = time steps, U = units.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnscope.analysis import activity_stats, classify_units, dominant_frequency, selectivity, timescales


def test_stats_pool_valid_steps_only():
    rng = np.random.default_rng(0)
    h = np.tanh(2 * rng.standard_normal((8, 20, 4)))
    h[:, :, 3] = 0.5
    mask = np.arange(20) < rng.integers(1, 21, 8)[:, None]
    st = activity_stats(np.where(mask[:, :, None], h, np.nan), mask, bound=0.9, silent_std=1e-3)
    v = h[mask]
    np.testing.assert_allclose(st.mean, v.mean(axis=0))
    np.testing.assert_allclose(st.std, v.std(axis=0), atol=1e-12)
    np.testing.assert_allclose(st.saturation, (np.abs(v) > 0.9).mean(axis=0))
    np.testing.assert_array_equal(st.silent, [False, False, False, True])


def test_float16_and_integer_activity_are_accepted():
    h = np.ones((3, 4, 2), dtype=np.float16)
    assert activity_stats(h).mean.dtype == np.float64
    np.testing.assert_allclose(activity_stats(np.ones((3, 4, 2), dtype=np.int32)).std, 0.0)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: activity_stats(np.zeros((3, 4))),
            r"h must have shape \(sequences, time, units\), got \(3, 4\)",
        ),
        (lambda: activity_stats(np.zeros((3, 4, 0))), "at least one unit"),
        (
            lambda: activity_stats(np.zeros((3, 4, 2)), np.ones((3, 5), bool)),
            r"mask must have shape \(sequences, time\) = \(3, 4\)",
        ),
        (lambda: activity_stats(np.zeros((3, 4, 2)), np.full((3, 4), 2)), "mask must be boolean"),
        (
            lambda: activity_stats(np.zeros((3, 4, 2)), np.arange(4) < np.array([[2], [0], [1]])),
            "sequences with no valid step",
        ),
        (lambda: activity_stats(np.array([[[0.0], [np.nan]]])), "h contains NaN at valid steps"),
        (lambda: activity_stats(np.array([[[0.0], [np.inf]]])), "h contains inf"),
        (lambda: activity_stats(np.zeros((2, 3, 1), dtype=complex)), "real numbers"),
        (lambda: timescales(np.zeros((1, 30, 2))), "at least 2 sequences"),
        (lambda: dominant_frequency(np.zeros((4, 7, 2))), "at least 8 valid steps"),
        (lambda: selectivity(np.zeros((4, 7, 2)), np.array([0, 1, 1, 1])), "at least 2 sequences per class"),
        (lambda: classify_units(np.zeros((4, 5, 2))), "at least 8 valid steps"),
        (
            lambda: classify_units(np.zeros((4, 20, 2)), inputs=np.zeros((4, 19, 1))),
            r"inputs must have shape \(sequences, time, channels\)",
        ),
        (
            lambda: classify_units(np.zeros((4, 20, 2)), labels=np.zeros(3)),
            r"labels must have shape \(sequences,\)",
        ),
        (lambda: activity_stats(np.ones((2, 3, 1)), bound=0), "bound must be positive"),
    ],
)
def test_bad_input_raises_value_error_naming_the_array(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_nan_in_padding_is_allowed_but_not_in_valid_steps():
    h = np.ones((2, 4, 1))
    h[0, 3] = np.nan
    mask = np.ones((2, 4), bool)
    mask[0, 3] = False
    assert activity_stats(h, mask).mean[0] == 1.0
    with pytest.raises(ValueError, match="h contains NaN"):
        activity_stats(h)
