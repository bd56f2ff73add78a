"""Chrono initialisation of the gated cells' carry gates (Tallec & Ollivier 2018), on known answers:
with the weights zeroed a carry gate is the constant σ(b), so each unit's memory timescale 1 / (1 − σ(b))
is 1 + u for the drawn u ~ U(1, T_max − 1) — uniform on [2, T_max] — and its highway over n steps is
σ(b)^n."""

import numpy as np
import pytest
import torch
from scipy import stats

from rnnscope.analysis.gradients import gate_highway
from rnnscope.config import ModelConfig
from rnnscope.gradients import step_gradients
from rnnscope.gradients.jacobians import carry_gates
from rnnscope.models import build_model


def _zero_weights(model):
    with torch.no_grad():
        for name, p in model.core.named_parameters():
            if name.startswith("weight"):
                p.zero_()
    return model


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_chrono_timescales_are_uniform_up_to_tmax(kind):
    torch.manual_seed(0)
    tmax, hidden = 200, 2048
    model = _zero_weights(
        build_model(ModelConfig(kind=kind, hidden=hidden, layers=2, chrono_tmax=tmax), 3, 4)
    )
    x = torch.randn(2, 5, 3)
    for layer, gate in enumerate(carry_gates(model, x)):
        _, _, b_ih, b_hh = model.layer_weights(layer)
        b = b_ih[hidden : 2 * hidden].detach().numpy()
        assert np.all(b >= 0.0) and np.all(b <= np.log(tmax - 1) + 1e-6)
        np.testing.assert_array_equal(b_hh[hidden : 2 * hidden].detach().numpy(), 0.0)
        if kind == "lstm":  # the input gate opens as much as the forget gate closes: b_i = −b_f
            np.testing.assert_allclose(b_ih[:hidden].detach().numpy(), -b)
        # every step and sequence: the carry gate is σ(b) (weights zeroed), timescale 1 + u
        np.testing.assert_allclose(gate, np.broadcast_to(1 / (1 + np.exp(-b)), gate.shape), rtol=1e-5)
        tau = 1.0 / (1.0 - gate[0, 0].astype(np.float64))
        assert stats.kstest(tau, stats.uniform(loc=2, scale=tmax - 2).cdf).pvalue > 0.01
        # the highway over the 4 steps to the readout is σ(b)^4, unit by unit
        np.testing.assert_allclose(
            gate_highway(gate)[:, 0], np.broadcast_to(gate[0, 0] ** 4, (2, hidden)), rtol=1e-5
        )


def test_chrono_keeps_the_gradient_where_bias_one_loses_it():
    """At initialisation, over 150 steps: with forget bias +1 (f ≈ σ(1) = 0.73, σ(1)^149 ≈ 1e-20; the
    random weights spread f, measured 2e-10) the cell-state gradient at the first step all but vanishes;
    chrono units with timescales near T_max keep a share of order one. Same weights otherwise, float64."""
    T = 150
    x = torch.randn(8, T, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = torch.arange(8) % 4
    kept = {}
    for name, cfg in {
        "bias1": ModelConfig(kind="lstm", hidden=32, layers=1),
        "chrono": ModelConfig(kind="lstm", hidden=32, layers=1, chrono_tmax=T),
    }.items():
        torch.manual_seed(0)
        model = build_model(cfg, 3, 4).double().eval()
        c = step_gradients(model, x, y).norms("grad_c/0")  # (B, T)
        kept[name] = float(np.mean(c[:, 0] / c[:, -1]))
    assert kept["bias1"] < 1e-8
    assert kept["chrono"] > 0.05


def test_chrono_draws_are_seeded_and_change_nothing_else():
    cfg = ModelConfig(kind="gru", hidden=16, layers=1, chrono_tmax=50)
    torch.manual_seed(3)
    a = build_model(cfg, 3, 4)
    torch.manual_seed(3)
    b = build_model(cfg, 3, 4)
    torch.manual_seed(3)
    plain = build_model(ModelConfig(kind="gru", hidden=16, layers=1, forget_bias=None), 3, 4)
    for (name, pa), pb, pp in zip(a.named_parameters(), b.parameters(), plain.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
        if name.startswith(("core.weight", "head")):  # only the carry-gate biases differ from PyTorch's init
            torch.testing.assert_close(pa, pp, rtol=0, atol=0)


@pytest.mark.parametrize(
    "bad,message",
    [
        (dict(kind="rnn", chrono_tmax=50), "gated cells"),
        (dict(kind="transformer", chrono_tmax=50), "gated cells"),
        (dict(kind="lstm", chrono_tmax=2), "at least 3"),
    ],
)
def test_chrono_config_validation(bad, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**bad)


def test_chrono_run_round_trips_through_the_run_directory(tmp_path):
    from rnnscope.cli import main
    from rnnscope.training.api import load_run

    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--out",
                str(out),
                "--task",
                "recall",
                "--task-param",
                "distance=6",
                "--model",
                "lstm",
                "--chrono-tmax",
                "8",
                "--hidden",
                "8",
                "--layers",
                "1",
                "--epochs",
                "1",
                "--n-train",
                "32",
                "--n-test",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    run = load_run(out)
    assert run.model_cfg.chrono_tmax == 8
    b = run.model.core.bias_ih_l0[8:16].detach().numpy()
    assert np.all(
        (b > -0.5) & (b < np.log(7) + 0.5)
    )  # near the chrono draws after one epoch of Adam (lr 2e-3)
