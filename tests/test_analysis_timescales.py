"""Timescales: tau of AR(1) / exponentially filtered noise recovered within 10 %, and the estimator's
treatment of padding, trial-locked time courses and constant units.

Key: S = sequences, T = time steps, U = units.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnscope.analysis import autocorrelation, fit_timescale, timescales


def ar1(rng: np.random.Generator, s: int, t: int, taus) -> np.ndarray:
    """(S, T, U) stationary AR(1) noise with unit variance, one tau per unit: acf(k) = exp(-k / tau)."""
    cols = []
    for tau in taus:
        a = np.exp(-1.0 / tau)
        x = rng.standard_normal((s, t))
        b = np.sqrt(1 - a**2)
        cols.append(scipy.signal.lfilter([b], [1.0, -a], x, axis=1, zi=(1 - b) * x[:, :1])[0])
    return np.stack(cols, axis=2)


def test_ar1_tau_within_ten_percent():
    taus = np.repeat([1.0, 2.0, 5.0, 10.0, 20.0], 4)
    h = ar1(np.random.default_rng(0), 200, 500, taus)
    est = timescales(h)
    assert np.all(np.abs(est / taus - 1) < 0.10), np.round(est / taus - 1, 3)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(tau=st.floats(0.8, 20.0), scale=st.floats(0.01, 10.0), seed=st.integers(0, 2**16))
def test_ar1_tau_property(tau, scale, seed):
    h = scale * ar1(np.random.default_rng(seed), 200, 400, [tau])
    assert abs(timescales(h)[0] / tau - 1) < 0.10


def test_white_measurement_noise_does_not_bias_tau():
    """A free amplitude in the fit absorbs the drop of rho(k >= 1) caused by added white noise."""
    rng = np.random.default_rng(1)
    taus = np.array([5.0, 10.0])
    h = ar1(rng, 200, 500, taus) + 0.7 * rng.standard_normal((200, 500, 2))
    acf = autocorrelation(h)
    assert np.all(acf[1] < 0.75 * np.exp(-1 / taus))  # the noise lowered every lag by ~1 / 1.49
    assert np.all(np.abs(timescales(h) / taus - 1) < 0.10)


def test_a_time_course_shared_by_all_trials_is_removed():
    """Across-trial centring: a large trial-locked ramp plus a sinusoid leaves tau unchanged."""
    rng = np.random.default_rng(2)
    h = ar1(rng, 200, 300, [4.0])
    locked = (3 * np.linspace(-1, 1, 300) + np.sin(np.arange(300) / 7.0))[None, :, None]
    np.testing.assert_allclose(timescales(h + locked), timescales(h), rtol=1e-9)


def test_padding_is_ignored():
    rng = np.random.default_rng(3)
    h = ar1(rng, 200, 400, [3.0, 8.0])
    lengths = rng.integers(200, 401, 200)
    mask = np.arange(400) < lengths[:, None]
    padded = np.where(mask[:, :, None], h, np.nan)
    est = timescales(padded, mask)
    assert np.all(np.abs(est / [3.0, 8.0] - 1) < 0.10)
    # exactly the estimate from the valid steps alone: garbage in the padding changes nothing
    np.testing.assert_allclose(timescales(np.where(mask[:, :, None], h, 1e6), mask), est)


def test_acf_lag_zero_is_one_and_matches_a_direct_sum():
    rng = np.random.default_rng(4)
    h = rng.standard_normal((6, 20, 3)).cumsum(axis=1)
    acf = autocorrelation(h, max_lag=5)
    assert acf.shape == (6, 3)
    np.testing.assert_allclose(acf[0], 1.0)
    x = h - h.mean(axis=0)  # across-trial centring
    for k in range(1, 6):
        a, b = x[:, :-k], x[:, k:]
        direct = (a * b).sum((0, 1)) / np.sqrt((a * a).sum((0, 1)) * (b * b).sum((0, 1)))
        np.testing.assert_allclose(acf[k], direct, rtol=1e-10)


def test_constant_units_get_nan_and_white_noise_gets_a_short_tau():
    rng = np.random.default_rng(5)
    h = np.concatenate([np.full((50, 100, 1), 0.3), rng.standard_normal((50, 100, 1))], axis=2)
    tau = timescales(h)
    assert np.isnan(tau[0])
    assert 0 <= tau[1] < 0.5


def test_fit_of_an_exact_exponential_and_of_a_flat_acf():
    lags = np.arange(30)[:, None]
    acf = np.hstack([0.8 * np.exp(-lags / 6.0), np.exp(-lags / 0.5), np.ones((30, 1))])
    acf[0] = 1.0
    tau = fit_timescale(acf)
    np.testing.assert_allclose(tau[:2], [6.0, 0.5], rtol=1e-10)
    assert tau[2] == np.inf  # never decays: longer than measurable


def test_errors_name_the_array():
    with pytest.raises(ValueError, match=r"h must have shape \(sequences, time, units\), got \(3, 4\)"):
        timescales(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="at least 2 sequences"):
        timescales(np.zeros((1, 50, 2)))
    with pytest.raises(ValueError, match="max_lag"):
        autocorrelation(np.zeros((4, 10, 2)), max_lag=10)
    with pytest.raises(ValueError, match="acf must have shape"):
        fit_timescale(np.ones(5))
