"""Selectivity (ANOVA + shuffle null), integration of evidence and input drive on known cases.

Key: S = sequences, T = time steps, U = units, C = input channels, K = classes.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from rnnscope.analysis import input_drive, integration, selectivity


def test_f_matches_scipy_f_oneway_on_the_mean_response():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 60)
    h = rng.standard_normal((60, 30, 3)) + 0.3 * labels[:, None, None] * np.array([0.0, 1.0, 2.0])
    sel = selectivity(h, labels, responses=("mean",), n_shuffles=50)
    means = h.mean(axis=1)
    for u in range(3):
        ref = scipy.stats.f_oneway(*[means[labels == c, u] for c in range(4)])
        np.testing.assert_allclose(sel.f[u], ref.statistic, rtol=1e-10)
    assert sel.p[2] == 1 / 51 and sel.z[2] > 10
    assert sel.eta2[0] < 0.2 < sel.eta2[2] <= 1


def test_shuffle_p_values_of_noise_are_roughly_uniform_and_seeded():
    rng = np.random.default_rng(1)
    h = rng.standard_normal((80, 40, 200))
    labels = rng.integers(0, 3, 80)
    sel = selectivity(h, labels, n_shuffles=100, seed=3)
    assert 0.03 < np.mean(sel.p <= 0.1) < 0.2  # ~10 % of null units below 0.1
    assert np.mean(sel.p <= 0.01) < 0.04
    assert sel.eta2.max() < 0.2  # the default effect-size threshold is above the null
    again = selectivity(h, labels, n_shuffles=100, seed=3)
    np.testing.assert_array_equal(sel.p, again.p)


def test_transient_bump_found_through_the_max_response_at_any_step():
    rng = np.random.default_rng(2)
    s, t = 90, 100
    labels = np.repeat([0, 1, 2], 30)
    when = rng.integers(10, 80, s)
    h = 0.3 * rng.standard_normal((s, t, 2))
    h[np.arange(s), when, 0] += 2.0 * (labels == 1)  # unit 0: a one-step bump for class 1, any time
    h[np.arange(s), when, 1] -= 2.0 * (labels == 2)  # unit 1: a dip for class 2
    sel = selectivity(h, labels)
    assert list(sel.response) == ["max", "min"]
    assert np.all(sel.p < 0.01) and np.all(sel.eta2 > 0.5)


def test_integrator_is_told_apart_from_input_follower():
    rng = np.random.default_rng(3)
    s, t = 100, 120
    x = rng.normal(0, 0.2, (s, 1)) + rng.standard_normal((s, t))  # noisy drift
    evidence = np.cumsum(x, axis=1)
    clock = np.linspace(0, 3, t)[None, :]  # a ramp shared by all sequences
    h = np.stack([evidence / 10 + clock, x, rng.standard_normal((s, t)) + 5 * clock], axis=2)
    ig = integration(h, evidence)
    assert ig.cumulative[0] > 0.99 and ig.instantaneous[0] < 0.3  # integrator
    assert ig.instantaneous[1] > 0.99 and ig.cumulative[1] < 0.3  # follower
    assert ig.cumulative[2] < 0.05  # the shared clock ramp does not count as integration
    two = integration(h, np.stack([np.cumsum(rng.standard_normal((s, t)), axis=1), evidence], axis=2))
    assert two.signal[0] == 1 and two.cumulative[0] > 0.99


def test_input_drive_of_a_linear_filter_and_of_noise():
    rng = np.random.default_rng(4)
    s, t = 50, 80
    x = rng.standard_normal((s, t, 2))
    kernel = 0.6 ** np.arange(6)
    fir = np.stack([np.convolve(row, kernel)[:t] for row in x[:, :, 0]])  # depends on the last 6 inputs
    h = np.stack([fir, rng.standard_normal((s, t)), fir + rng.standard_normal((s, t))], axis=2)
    r2 = input_drive(h, x, lags=6)
    assert r2[0] > 0.999 and abs(r2[1]) < 0.02
    np.testing.assert_allclose(r2[2], np.var(fir) / (np.var(fir) + 1), atol=0.03)


def test_errors_name_the_array():
    h = np.zeros((10, 20, 2))
    with pytest.raises(ValueError, match=r"labels must have shape \(sequences,\) = \(10,\)"):
        selectivity(h, np.zeros(9))
    with pytest.raises(ValueError, match="at least 2 classes"):
        selectivity(h, np.zeros(10))
    with pytest.raises(ValueError, match="at least 2 sequences per class"):
        selectivity(h, np.r_[np.zeros(9), 1])
    with pytest.raises(ValueError, match=r"evidence must have shape \(sequences, time, signals\)"):
        integration(h, np.zeros((10, 19)))
    with pytest.raises(ValueError, match="evidence contains NaN"):
        integration(h, np.full((10, 20), np.nan))
    with pytest.raises(ValueError, match=r"inputs must have shape \(sequences, time, channels\)"):
        input_drive(h, np.zeros((10, 20)).reshape(10, 20, 1)[:5])
    with pytest.raises(ValueError, match="more valid steps than lagged features"):
        input_drive(np.zeros((2, 5, 1)), np.zeros((2, 5, 3)), lags=5)
