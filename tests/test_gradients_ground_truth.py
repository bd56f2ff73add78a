"""Ground truth: a linear RNN (W_hh = a·I) gives ‖∂L/∂h_t‖ ∝ a^(T−1−t) exactly; a tanh RNN with small
recurrent weights loses its gradient where an LSTM with a large forget-gate bias keeps it."""

import math

import numpy as np
import pytest
import torch

from rnnscope.analysis.gradients import (
    align_to_end,
    fit_decay,
    gate_highway,
    gradient_context,
    jacobian_norms,
    jacobian_product_norms,
    profile_stats,
)
from rnnscope.config import ModelConfig
from rnnscope.gradients import carry_gates, step_gradients, step_jacobians
from rnnscope.models import build_model


def _linear_rnn(a: float, hidden: int = 4, c: int = 3):
    """tanh RNN with W_hh = a·I, no biases and inputs scaled by 1e-9: h stays ~1e-5, so tanh is the
    identity to ~1e-10 and the network is the linear RNN h_t = a h_{t-1} + W x_t."""
    model = build_model(ModelConfig(kind="rnn", hidden=hidden, layers=1), c, 3).double().eval()
    with torch.no_grad():
        model.core.weight_hh_l0.copy_(a * torch.eye(hidden, dtype=torch.float64))
        model.core.weight_ih_l0.mul_(1e-9)
        model.core.bias_ih_l0.zero_()
        model.core.bias_hh_l0.zero_()
    return model


@pytest.mark.parametrize("a", [0.5, 0.9, 1.1, 1.3])
def test_linear_rnn_profile_is_a_power_of_a(a):
    t_len = 30
    model = _linear_rnn(a)
    x = torch.randn(6, t_len, 3, dtype=torch.float64)
    lengths = torch.tensor([30, 30, 17, 30, 9, 30])
    g = step_gradients(model, x, torch.tensor([0, 1, 2, 0, 1, 2]), lengths)
    by_distance = align_to_end(g.norms("grad_h/0"), lengths.numpy())  # (B, K), k = n - 1 - t
    k = np.arange(t_len)
    ratio = by_distance / by_distance[:, :1] / a**k  # exactly 1 where defined
    valid = k[None, :] < lengths.numpy()[:, None]
    np.testing.assert_allclose(ratio[valid], 1.0, rtol=1e-8, atol=0)
    assert np.all(np.isnan(ratio[~valid]))
    mean = profile_stats(by_distance / by_distance[:, :1])[0]
    fit = fit_decay(mean)
    assert abs(fit.factor - a) < 1e-4
    assert fit.r2 > 1 - 1e-9
    assert fit.half_life == (pytest.approx(math.log(2) / -math.log(a), rel=1e-4) if a < 1 else math.inf)
    # the per-step Jacobian is a·I: spectral norm a, product over k steps a^k
    jac = step_jacobians(model, x, lengths)[0]
    np.testing.assert_allclose(jacobian_norms(jac, lengths)[valid], a, rtol=1e-8)
    prod = align_to_end(jacobian_product_norms(jac, lengths), lengths.numpy())
    np.testing.assert_allclose(prod[valid], (a**k * np.ones((6, 1)))[valid], rtol=1e-8)


def test_linear_rnn_effective_context():
    model = _linear_rnn(0.5)
    x = torch.randn(4, 30, 3, dtype=torch.float64)
    g = step_gradients(model, x, torch.tensor([0, 1, 2, 0]))
    profile = profile_stats(align_to_end(g.norms("grad_h/0")))[0]
    # 0.5^9 = 0.00195 >= 1e-3 > 0.5^10: the context is 9 steps; with epsilon 0.1, 3 steps
    assert gradient_context(profile, 1e-3).context == 9
    assert gradient_context(profile, 0.1).context == 3
    growing = step_gradients(_linear_rnn(1.1), x, torch.tensor([0, 1, 2, 0]))
    ctx = gradient_context(profile_stats(align_to_end(growing.norms("grad_h/0")))[0])
    assert ctx.context == 29 and ctx.censored  # an exploding profile never falls below epsilon


def test_vanishing_in_a_tanh_rnn_and_the_lstm_highway():
    t_len = 50
    x = torch.randn(16, t_len, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (16,))

    rnn = build_model(ModelConfig(kind="rnn", hidden=16, layers=1), 3, 3).double().eval()
    with torch.no_grad():
        w = rnn.core.weight_hh_l0
        w.mul_(0.3 / torch.linalg.matrix_norm(w, ord=2))  # small recurrent weights: ‖W_hh‖ = 0.3
    g = step_gradients(rnn, x, y)
    h = g.norms("grad_h/0")  # (B, T)
    assert float(np.mean(h[:, 0] / h[:, -1])) < 1e-3

    lstm = build_model(ModelConfig(kind="lstm", hidden=16, layers=1), 3, 3).double().eval()
    with torch.no_grad():
        lstm.core.weight_hh_l0.mul_(0.2)
        lstm.core.weight_ih_l0.mul_(0.2)
        lstm.core.bias_hh_l0.zero_()
        lstm.core.bias_ih_l0.zero_()
        lstm.core.bias_ih_l0[16:32] = 4.0  # forget gate bias: f ≈ σ(4) = 0.982
    g = step_gradients(lstm, x, y)
    c = g.norms("grad_c/0")
    kept = float(np.mean(c[:, 0] / c[:, -1]))
    assert kept > 0.1
    highway = gate_highway(carry_gates(lstm, x)[0])  # Π f from step t to the readout
    assert float(np.mean(highway[:, 0])) > 0.1
    fit_rnn = fit_decay(profile_stats(align_to_end(h))[0])
    fit_lstm = fit_decay(profile_stats(align_to_end(c))[0])
    assert fit_rnn.factor < 0.35 and fit_lstm.factor > 0.95
    assert gradient_context(profile_stats(align_to_end(c))[0]).censored


def test_gru_carry_gate_is_z():
    """PyTorch's GRU keeps the old state with weight z (h' = (1 - z) n + z h): z -> 1 is the highway."""
    gru = build_model(ModelConfig(kind="gru", hidden=8, layers=1), 3, 3).double().eval()
    with torch.no_grad():
        gru.core.weight_hh_l0.mul_(0.1)
        gru.core.bias_ih_l0[8:16] = 6.0  # z ≈ 1: copy the state forward
    x = torch.randn(4, 40, 3, dtype=torch.float64)
    z = carry_gates(gru, x)[0]
    assert float(z.min()) > 0.99
    g = step_gradients(gru, x, torch.tensor([0, 1, 2, 0]))
    h = g.norms("grad_h/0")
    assert float(np.mean(h[:, 0] / h[:, -1])) > 0.5
    np.testing.assert_allclose(gate_highway(z)[:, -1], 1.0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_closed_form_jacobians_equal_autograd_of_the_cells(kind):
    model = build_model(ModelConfig(kind=kind, hidden=5, layers=2), 3, 4).double()
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    explicit, reference = (
        step_jacobians(model, x, lengths),
        step_jacobians(model, x, lengths, method="jacrev"),
    )
    size = 10 if kind == "lstm" else 5
    for a, b in zip(explicit, reference):
        assert a.shape == (3, 6, size, size)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, atol=1e-13, rtol=0)
    with pytest.raises(ValueError, match="method"):
        step_jacobians(model, x, method="guess")
