"""Lyapunov spectra against ground truth: linear maps (exact), random tanh networks (chaos at gain 2)."""

import math

import numpy as np
import pytest

from rnnscope.dynamics import LyapunovSpectrum, lyapunov_spectrum
from rnnscope.errors import BadArgument
from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier
from test_fixedpoints import MapCell, rotation


def test_linear_normal_map_has_the_log_moduli_of_its_eigenvalues():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    w = q @ np.diag([0.9, -0.7, 0.5, 0.3, 1.2]) @ q.T  # symmetric: normal
    ly = lyapunov_spectrum(
        MapCell(w, act="linear"), np.zeros((2, 120, 1)), initial=rng.standard_normal((2, 5)), burn_in=60
    )
    np.testing.assert_allclose(ly.exponents, np.log([1.2, 0.9, 0.7, 0.5, 0.3]), atol=1e-8)
    assert ly.meta["full"] and ly.running.shape == (120, 5) and ly.steps[-1] == 2 * 60
    assert np.isnan(ly.running[:59]).all() and ly.convergence() < 1e-8


def test_rotation_block_gives_two_equal_exponents():
    w = np.zeros((3, 3))
    w[:2, :2] = rotation(0.7, 0.8)
    w[2, 2] = 0.4
    ly = lyapunov_spectrum(
        MapCell(w, act="linear"), np.zeros((1, 40, 1)), initial=np.ones((1, 3)), burn_in=20
    )
    np.testing.assert_allclose(ly.exponents, [math.log(0.8)] * 2 + [math.log(0.4)], atol=1e-8)


@pytest.mark.parametrize("gain, sign", [(2.0, 1), (0.5, -1)])
def test_random_tanh_network_is_chaotic_at_gain_two_only(gain, sign):
    rng = np.random.default_rng(0)
    d = 64
    w = gain * rng.standard_normal((d, d)) / math.sqrt(d)
    ly = lyapunov_spectrum(
        MapCell(w), np.zeros((3, 150, 1)), initial=rng.standard_normal((3, d)), burn_in=30, k=4
    )
    assert np.sign(ly.largest) == sign and abs(ly.largest) > 0.05
    assert ly.convergence(window=20) < 0.05  # the running estimate has settled


def test_leading_exponents_by_jvp_equal_the_full_spectrum():
    model = RecurrentClassifier("lstm", 3, 5, 2, 4)  # D = 20
    x = np.random.default_rng(1).standard_normal((2, 12, 3))
    full = lyapunov_spectrum(model, x, burn_in=5)
    lead = lyapunov_spectrum(model, x, burn_in=5, k=3, full_max=8)
    assert full.meta["method"] == "jacobian" and full.exponents.shape == (20,)
    assert lead.meta["method"] == "jvp" and not lead.meta["full"]
    np.testing.assert_allclose(lead.exponents, full.exponents[:3], atol=1e-10)


def test_ragged_sequences_pool_only_valid_steps(tmp_path):
    model = RecurrentClassifier("gru", 2, 4, 1, 2)
    x = np.random.default_rng(2).standard_normal((3, 10, 2))
    ly = lyapunov_spectrum(model, x, lengths=np.array([10, 6, 3]), burn_in=2)
    assert ly.steps.tolist() == [0, 0, 3, 5, 7, 9, 10, 11, 12, 13]
    short = lyapunov_spectrum(model, x[:1], burn_in=2)
    assert not np.allclose(ly.exponents, short.exponents)
    ly.save(tmp_path / "lyapunov.safetensors")
    back = LyapunovSpectrum.load(tmp_path / "lyapunov.safetensors")
    np.testing.assert_array_equal(back.running, ly.running)
    np.testing.assert_array_equal(back.steps, ly.steps)
    assert back.meta == ly.meta


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k .exponents."),
        ({"k": 9}, r"\[1, 8\]"),
        ({"burn_in": 10}, "burn_in"),
        ({"initial": np.zeros((2, 3))}, "initial"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    model = RecurrentClassifier("rnn", 2, 4, 2, 2)
    with pytest.raises(BadArgument, match=match):
        lyapunov_spectrum(model, np.zeros((2, 10, 2)), **kwargs)
    with pytest.raises(BadArgument, match="has no recurrent state"):
        lyapunov_spectrum(CausalTransformerClassifier(2, 8, 1, 2, heads=2), np.zeros((2, 10, 2)))
