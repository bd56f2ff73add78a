import pytest
import torch

from rnnscope.config import ModelConfig
from rnnscope.models import build_model, count_params, hidden_for_params, mask_state

KINDS = ["rnn", "lstm", "gru"]


def _batch(b=5, t=9, c=3, ragged=True):
    x = torch.randn(b, t, c)
    lengths = torch.tensor([9, 3, 7, 1, 9][:b]) if ragged else None
    if ragged:
        for i, n in enumerate(lengths):
            x[i, n:] = 0.0
    return x, lengths


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("ragged", [False, True])
def test_step_equals_fused(kind, layers, ragged):
    model = build_model(ModelConfig(kind=kind, hidden=16, layers=layers), 3, 4).eval()
    x, lengths = _batch(ragged=ragged)
    with torch.no_grad():
        fused = model.final_state(x, lengths)
        stepped = model.unroll(x, lengths)
        fused_out, _ = model.core(x)
        logits = model(x, lengths)
    for a, b in zip(fused if kind == "lstm" else (fused,), stepped if kind == "lstm" else (stepped,)):
        assert a.shape == (layers, 5, 16)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(logits, model.readout(stepped), atol=1e-5, rtol=0)
    # per-step top-layer outputs of the fused kernel equal the stepped h_t at every step
    state = model.init_state(5)
    with torch.no_grad():
        for t in range(x.shape[1]):
            state = model.step(x[:, t], state)
            torch.testing.assert_close(model.top_hidden(state), fused_out[:, t], atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_gates_shapes_and_ranges(kind):
    model = build_model(ModelConfig(kind=kind, hidden=8, layers=2), 3, 2)
    state, gates = model.step_with_gates(torch.randn(4, 3), model.init_state(4))
    assert len(gates) == 2
    assert tuple(gates[0]) == model.gate_names
    for g in gates:
        for name, v in g.items():
            assert v.shape == (4, 8)
            if name in ("i", "f", "o", "r", "z"):
                assert float(v.detach().min()) >= 0 and float(v.detach().max()) <= 1


def test_padding_never_changes_a_prediction():
    for kind in ["rnn", "lstm", "gru", "transformer"]:
        model = build_model(ModelConfig(kind=kind, hidden=16, layers=2), 3, 4).eval()
        x = torch.randn(1, 6, 3)
        padded = torch.cat([x, torch.randn(1, 10, 3)], dim=1)  # garbage after the end
        with torch.no_grad():
            a = model(x)
            b = model(padded, torch.tensor([6]))
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_transformer_kv_cache_equals_causal_forward():
    model = build_model(ModelConfig(kind="transformer", hidden=16, layers=2, heads=2), 3, 4).eval()
    x = torch.randn(3, 11, 3)
    with torch.no_grad():
        top = model.encode(x)[0][-1]
        state = model.init_state(3)
        for t in range(11):
            state = model.step(x[:, t], state)
            torch.testing.assert_close(state["h"], top[:, t], atol=1e-5, rtol=0)
            torch.testing.assert_close(model.readout(state), model(x[:, : t + 1]), atol=1e-5, rtol=0)
        assert state["k"][0].shape == (3, 2, 11, 8)
        # the explicit-weights path gives the same streams and causal weights
        streams_w, weights = model.encode(x, need_weights=True)
        torch.testing.assert_close(streams_w[-1], top, atol=1e-5, rtol=0)
        assert weights[0].shape == (3, 2, 11, 11)
        assert float(weights[0].triu(1).abs().max()) == 0.0
        torch.testing.assert_close(weights[0].sum(-1), torch.ones(3, 2, 11))


def test_mask_state_keeps_old_where_false():
    new, old = torch.ones(2, 3, 4), torch.zeros(2, 3, 4)
    out = mask_state(new, old, torch.tensor([True, False, True]))
    assert out[:, 1].abs().sum() == 0 and out[:, 0].min() == 1


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "transformer"])
def test_hidden_for_params_within_ten_percent(kind):
    for target in (5_000, 20_000, 100_000):
        cfg = hidden_for_params(ModelConfig(kind=kind, layers=2), 3, 4, target)
        n = count_params(build_model(cfg, 3, 4))
        assert abs(n - target) / target <= 0.10, (kind, target, n)


def test_hidden_for_params_impossible_budget():
    with pytest.raises(ValueError, match="no lstm width"):
        hidden_for_params(ModelConfig(kind="lstm", layers=2), 3, 4, 10)


@pytest.mark.parametrize("bad", [dict(kind="cnn"), dict(hidden=0), dict(layers=-1), dict(dropout=1.0)])
def test_model_config_validation(bad):
    with pytest.raises(ValueError):
        ModelConfig(**bad)
