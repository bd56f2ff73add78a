"""Exact per-step gradients: equal to the naive autograd unroll and to finite differences; no side effects."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnscope.config import ModelConfig
from rnnscope.gradients import StepGradients, step_gradients, unrolled_gradients, unrolled_loss
from rnnscope.models import build_model
from rnnscope.models.traced import layer_traces

KINDS = ["rnn", "lstm", "gru"]


def _model(kind, layers=2, hidden=6, c=3, k=4):
    return build_model(ModelConfig(kind=kind, hidden=hidden, layers=layers), c, k).double().eval()


def _batch(ragged=True, b=5, t=9, c=3, k=4):
    x = torch.randn(b, t, c, dtype=torch.float64)
    lengths = torch.tensor([9, 3, 7, 1, 9]) if ragged else torch.full((b,), t)
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0
    return x, torch.randint(0, k, (b,)), lengths


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("method", ["stepped", "fused"])
def test_equals_naive_unroll_on_ragged_batches(kind, layers, method):
    model = _model(kind, layers)
    x, y, lengths = _batch()
    fast = step_gradients(model, x, y, lengths, method=method)
    ref = unrolled_gradients(model, x, y, lengths)
    expected = {f"grad_h/{i}" for i in range(layers)} | {"grad_x"}
    if kind == "lstm":
        expected |= {f"grad_c/{i}" for i in range(layers)}
    assert set(fast.arrays) == set(ref.arrays) == expected
    for name, v in fast.arrays.items():
        assert v.shape == ref.arrays[name].shape
        assert torch.equal(v.isnan(), ref.arrays[name].isnan())  # NaN exactly past each end
        torch.testing.assert_close(v, ref.arrays[name], atol=1e-10, rtol=0, equal_nan=True)
    assert bool(fast.arrays["grad_h/0"][1, 3:].isnan().all()) and not bool(
        fast.arrays["grad_h/0"][1, :3].isnan().any()
    )
    torch.testing.assert_close(fast.loss, F.cross_entropy(model(x, lengths), y, reduction="none"))


def test_float32_matches_reference():
    model = build_model(ModelConfig(kind="gru", hidden=8, layers=2), 3, 4).eval()
    x, y, lengths = _batch()
    fast = step_gradients(model, x.float(), y, lengths)
    ref = unrolled_gradients(model.double(), x, y, lengths)
    for name, v in fast.arrays.items():
        torch.testing.assert_close(v.double(), ref.arrays[name], atol=1e-6, rtol=1e-4, equal_nan=True)


@pytest.mark.parametrize("kind", KINDS)
def test_equals_finite_differences(kind):
    model = _model(kind, layers=2, hidden=4)
    x, y, lengths = _batch()
    g = step_gradients(model, x, y, lengths)
    eps = 1e-6
    names = ["h", "c"] if kind == "lstm" else ["h"]
    for t, layer, b, u in [(0, 0, 0, 1), (4, 1, 2, 3), (2, 0, 1, 0), (8, 1, 4, 2), (6, 0, 2, 2)]:
        for name in names:

            def loss(sign, site=(t, layer, name), b=b, u=u):
                d = torch.zeros(5, 4, dtype=torch.float64)
                d[b, u] = sign * eps
                with torch.no_grad():
                    return float(unrolled_loss(model, x, y, lengths, {site: d}).sum())

            fd = (loss(1) - loss(-1)) / (2 * eps)
            got = float(g.arrays[f"grad_{name}/{layer}"][b, t, u])
            if t >= lengths[b]:
                assert np.isnan(got) and abs(fd) < 1e-9  # past the end: no effect on the loss
            else:
                assert got == pytest.approx(fd, abs=1e-8, rel=1e-6)
    for b, t, c in [(0, 0, 0), (2, 6, 2), (4, 8, 1)]:
        xp, xm = x.clone(), x.clone()
        xp[b, t, c] += eps
        xm[b, t, c] -= eps
        with torch.no_grad():
            fd = float(
                F.cross_entropy(model(xp, lengths), y, reduction="sum")
                - F.cross_entropy(model(xm, lengths), y, reduction="sum")
            ) / (2 * eps)
        assert float(g.arrays["grad_x"][b, t, c]) == pytest.approx(fd, abs=1e-8, rel=1e-6)


def test_stepped_and_fused_traces_equal_the_fused_kernel():
    for kind in KINDS:
        model = _model(kind, layers=2)
        x, _, _ = _batch(ragged=False)
        stepped, fused = layer_traces(model, x, "stepped"), layer_traces(model, x, "fused")
        with torch.no_grad():
            top, _ = model.core(x)
        torch.testing.assert_close(stepped[-1].out.permute(2, 0, 1), top, atol=1e-12, rtol=0)  # (T, H, B)
        for a, b in zip(stepped, fused):
            for field in ("out", "prev", "q", "act", "s", "cell", "dh_dc"):
                va, vb = getattr(a, field), getattr(b, field)
                assert (va is None) == (vb is None)
                if va is not None:
                    torch.testing.assert_close(va, vb, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="method"):
        layer_traces(model, x, "magic")


def _deltas(trace, g, layer):
    """(δ for W_ih, δ for W_hh) of one layer, rebuilt from the captured total ∂L/∂h (and ∂L/∂c)."""
    from rnnscope.models.traced_backward import input_delta as _input_delta

    dh = g.arrays[f"grad_h/{layer}"].nan_to_num(0).permute(1, 2, 0)  # traces are (T, F, B)
    if trace.kind == "rnn":
        return trace.q * dh, trace.q * dh
    if trace.kind == "lstm":
        dc = g.arrays[f"grad_c/{layer}"].nan_to_num(0).permute(1, 2, 0)
        d = trace.q * torch.cat([dc, dc, dc, dh], dim=1)
        return d, d
    d_hh = trace.q * torch.cat([dh, dh, dh], dim=1)
    return _input_delta(trace, dh, d_hh), d_hh


@pytest.mark.parametrize("kind", KINDS)
def test_learning_by_step_sums_to_the_weight_gradient(kind):
    model = _model(kind, layers=2)
    x, y, lengths = _batch()
    g = step_gradients(model, x, y, lengths, learning=True)
    assert set(g.learning) == {"learn_w_ih/0", "learn_w_ih/1", "learn_w_hh/0", "learn_w_hh/1"}
    loss = F.cross_entropy(model(x, lengths), y)  # the mean loss training uses
    w = [model.core.weight_ih_l0, model.core.weight_hh_l0, model.core.weight_ih_l1, model.core.weight_hh_l1]
    autograd = torch.autograd.grad(loss, w)
    traces = layer_traces(model, x)
    for layer in (0, 1):
        d_ih, d_hh = _deltas(traces[layer], g, layer)
        for delta, act, name, ref in (
            (d_ih, traces[layer].inp, "w_ih", autograd[2 * layer]),
            (d_hh, traces[layer].prev, "w_hh", autograd[2 * layer + 1]),
        ):
            per_step = torch.einsum("tgb,tcb->tgc", delta, act) / 5  # step t's share of the update
            torch.testing.assert_close(per_step.sum(0), ref, atol=1e-10, rtol=0)
            torch.testing.assert_close(
                torch.linalg.matrix_norm(per_step), g.learning[f"learn_{name}/{layer}"], atol=1e-12, rtol=0
            )
    assert float(g.learning["learn_w_ih/0"][3:].abs().max()) > 0


def test_update_norms_gram_and_direct_forms_agree():
    from rnnscope.gradients.capture import step_update_norms

    delta, act = torch.randn(7, 40, 3, dtype=torch.float64), torch.randn(7, 30, 3, dtype=torch.float64)
    direct = torch.linalg.matrix_norm(torch.einsum("tgb,tcb->tgc", delta, act)) / 3
    torch.testing.assert_close(step_update_norms(delta, act), direct)  # b (g + c) < g c: Gram form
    delta, act = torch.randn(7, 4, 50, dtype=torch.float64), torch.randn(7, 3, 50, dtype=torch.float64)
    direct = torch.linalg.matrix_norm(torch.einsum("tgb,tcb->tgc", delta, act)) / 50
    torch.testing.assert_close(step_update_norms(delta, act), direct)


def test_transformer_saliency_and_streams_equal_autograd():
    model = build_model(ModelConfig(kind="transformer", hidden=8, layers=2, heads=2), 3, 4).double()
    model.train()  # the capture must switch dropout off and restore the flag
    x, y, lengths = _batch()
    g = step_gradients(model, x, y, lengths)
    assert model.training and all(m.training for m in model.modules())
    assert set(g.arrays) == {"grad_stream/0", "grad_stream/1", "grad_stream/2", "grad_x"}
    model.eval()
    xin = x.clone().requires_grad_()
    loss = F.cross_entropy(model(xin, lengths), y, reduction="sum")
    (ref,) = torch.autograd.grad(loss, xin)
    valid = torch.arange(9)[None, :] < lengths[:, None]
    torch.testing.assert_close(g.arrays["grad_x"][valid], ref[valid], atol=1e-12, rtol=0)
    assert bool(g.arrays["grad_x"][~valid].isnan().all())
    assert float(ref[~valid].abs().max()) == 0.0  # causal: padding never reaches the readout
    assert g.arrays["grad_stream/2"].shape == (5, 9, 8)


def test_no_side_effects_on_the_model_or_the_rng():
    for kind in KINDS + ["transformer"]:
        model = build_model(ModelConfig(kind=kind, hidden=8, layers=2), 3, 4)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        flags = [p.requires_grad for p in model.parameters()]
        x, y, lengths = _batch()
        rng = torch.get_rng_state()
        step_gradients(model, x.float(), y, lengths, learning=kind != "transformer")
        assert torch.equal(rng, torch.get_rng_state())
        assert all(p.grad is None for p in model.parameters())
        assert flags == [p.requires_grad for p in model.parameters()]
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        assert not model._forward_hooks and not model._backward_hooks


def test_save_load_round_trip(tmp_path):
    model = _model("lstm")
    x, y, lengths = _batch()
    g = step_gradients(model, x, y, lengths, learning=True)
    g.save(tmp_path / "g.safetensors")
    back = StepGradients.load(tmp_path / "g.safetensors")
    assert back.kind == "lstm" and set(back.arrays) == set(g.arrays) and set(back.learning) == set(g.learning)
    for k, v in g.arrays.items():
        assert torch.equal(v.isnan(), back.arrays[k].isnan())
        torch.testing.assert_close(v, back.arrays[k], equal_nan=True)
    np.testing.assert_allclose(g.norms("grad_c/1"), back.norms("grad_c/1"))


def test_bad_input():
    model = _model("rnn")
    x, y, _ = _batch()
    with pytest.raises(ValueError, match="lengths"):
        step_gradients(model, x, y, torch.tensor([9, 0, 3, 3, 3]))
    with pytest.raises(ValueError, match="lengths"):
        step_gradients(model, x, y, torch.tensor([10, 1, 3, 3, 3]))
    with pytest.raises(ValueError, match="batch, time, channels"):
        step_gradients(model, x[0], y)
    with pytest.raises(ValueError, match="no gradient named"):
        step_gradients(model, x, y).norms("grad_c/0")
