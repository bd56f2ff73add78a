"""Impulse response through a step function, checked against linear systems with analytic answers.

Key: B = sequences, T = time steps, C = input channels, U = units.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnscope.analysis import impulse_response, memory_length


def linear_step(a: np.ndarray, w: np.ndarray):
    """h_t = a * h_{t-1} + x_t @ w, per unit; state = h (B, U)."""

    def step(x_t, h):
        h = a * h + x_t @ w
        return h, h

    return step


def test_linear_system_memory_is_minus_one_over_log_a():
    a = np.array([0.3, 0.5, 0.8, 0.9, 0.97])
    step = linear_step(a, np.ones((1, 5)))
    x = np.random.default_rng(0).standard_normal((4, 120, 1))
    r = impulse_response(step, x, np.zeros((4, 5)), at=10)
    lags = np.arange(110)[:, None]
    np.testing.assert_allclose(r.deviation, a**lags, rtol=1e-6, atol=1e-12)  # gain a^k exactly
    np.testing.assert_allclose(r.memory, -1 / np.log(a), rtol=1e-6)
    np.testing.assert_array_equal(r.peak_lag, 0)
    np.testing.assert_allclose(r.peak, 1.0, rtol=1e-9)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(a=st.floats(0.05, 0.98), frac=st.floats(0.05, 0.9), gain=st.floats(0.1, 10.0), at=st.integers(0, 5))
def test_memory_for_any_fraction_is_log_frac_over_log_a(a, frac, gain, at):
    step = linear_step(np.array([a]), np.array([[gain]]))
    x = np.zeros((2, 400, 1))
    r = impulse_response(step, x, np.zeros((2, 1)), at=at, eps=1e-2, frac=frac)
    expected = np.log(frac) / np.log(a)
    if expected < 400 - at - 2:
        np.testing.assert_allclose(r.memory, expected, rtol=1e-6)
    np.testing.assert_allclose(r.peak, gain, rtol=1e-9)


def test_direction_delay_unreached_units_and_opaque_state():
    """Two channels; unit 0 listens to channel 0 through a one-step delay, unit 1 only to channel 1.
    The state is a tuple: the function never looks inside it."""

    def step(x_t, state):
        h, pending = state
        h_new = np.stack([0.5 * h[:, 0] + pending, 0.9 * h[:, 1] + x_t[:, 1]], axis=1)
        return (h_new, x_t[:, 0]), h_new

    x = np.zeros((3, 40, 2))
    state0 = (np.zeros((3, 2)), np.zeros(3))
    r = impulse_response(step, x, state0, at=5, direction=np.array([1.0, 0.0]))
    assert r.peak_lag[0] == 1 and r.peak[1] == 0.0 and r.memory[1] == 0.0
    np.testing.assert_allclose(r.memory[0], 1 + 1 / np.log(2), rtol=1e-6)  # counted from the nudge


def test_tanh_network_small_eps_is_the_linear_response():
    rng = np.random.default_rng(1)
    w_in, w_rec = rng.normal(0, 1, (3, 8)), rng.normal(0, 0.3, (8, 8))

    def step(x_t, h):
        h = np.tanh(x_t @ w_in + h @ w_rec)
        return h, h

    x = rng.standard_normal((5, 30, 3))
    small = impulse_response(step, x, np.zeros((5, 8)), at=3, eps=1e-6)
    smaller = impulse_response(step, x, np.zeros((5, 8)), at=3, eps=1e-7)
    np.testing.assert_allclose(small.deviation, smaller.deviation, rtol=1e-3, atol=1e-9)


def test_memory_length_edge_cases():
    dev = np.stack([np.ones(10), np.r_[1.0, 0.0, np.zeros(8)], np.zeros(10)], axis=1)
    peak, _peak_lag, memory = memory_length(dev)
    assert memory[0] == np.inf  # never decays within the window
    np.testing.assert_allclose(memory[1], 1 - np.exp(-1.0))  # drops to 0: linear interpolation
    assert memory[2] == 0.0 and peak[2] == 0.0


def test_errors():
    step = linear_step(np.array([0.5]), np.ones((1, 1)))
    with pytest.raises(ValueError, match=r"x must have shape \(sequences, time, channels\)"):
        impulse_response(step, np.zeros((4, 5)), np.zeros((4, 1)), at=0)
    with pytest.raises(ValueError, match="at must be a step of x"):
        impulse_response(step, np.zeros((4, 5, 1)), np.zeros((4, 1)), at=5)
    with pytest.raises(ValueError, match="direction"):
        impulse_response(step, np.zeros((4, 5, 1)), np.zeros((4, 1)), at=0, direction=np.zeros(1))
    with pytest.raises(ValueError, match="x contains NaN"):
        impulse_response(step, np.full((4, 5, 1), np.nan), np.zeros((4, 1)), at=0)
    with pytest.raises(ValueError, match="step must return h_t of shape"):
        impulse_response(lambda x, s: (s, np.zeros(3)), np.zeros((4, 5, 1)), None, at=0)
