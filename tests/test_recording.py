"""The recorder equals the fused forward, for every architecture, 1-3 layers, padded batches."""

import numpy as np
import pytest
import torch

from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier
from rnnscope.recording import RecordSpec, record

ATOL = 1e-5
B, T, C, H, K = 7, 11, 3, 10, 4
LENGTHS = np.array([11, 4, 9, 11, 1, 7, 10])


def _data(seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((B, T, C)).astype(np.float32)
    x[np.arange(T)[None, :] >= LENGTHS[:, None]] = 0.0  # zero padding, as in a Split
    return x, g.integers(K, size=B)


def _model(kind, layers):
    torch.manual_seed(layers)
    if kind == "transformer":
        return CausalTransformerClassifier(C, 8, layers, K, heads=2).eval()
    return RecurrentClassifier(kind, C, H, layers, K).eval()


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_full_length_equals_fused(kind, layers):
    model = _model(kind, layers)
    x, y = _data()
    r = record(model, x, None, y)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        top, _ = model.core(xt)  # (B, T, H): the fused kernel's top layer at every step
        final = model.final_state(xt)
        probs = model(xt).softmax(-1).numpy()
    np.testing.assert_allclose(r[f"hidden.l{layers - 1}"], top.numpy(), atol=ATOL, rtol=0)
    h_final = final[0] if kind == "lstm" else final
    for layer in range(layers):
        np.testing.assert_allclose(r[f"hidden.l{layer}"][:, -1], h_final[layer].numpy(), atol=ATOL, rtol=0)
        if kind == "lstm":
            np.testing.assert_allclose(r[f"cell.l{layer}"][:, -1], final[1][layer].numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(r["probs"][:, -1], probs, atol=ATOL, rtol=0)
    np.testing.assert_array_equal(r["predictions"], probs.argmax(1))
    np.testing.assert_array_equal(r["labels"], y)
    np.testing.assert_array_equal(r["inputs"], x)
    np.testing.assert_allclose(r["probs"].sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_padded_equals_fused_per_sequence(kind, layers):
    model = _model(kind, layers)
    x, y = _data(1)
    r = record(model, x, LENGTHS, y, RecordSpec(chunk_size=3))  # chunks do not align with anything
    xt, lt = torch.as_tensor(x), torch.as_tensor(LENGTHS)
    with torch.no_grad():
        final = model.final_state(xt, lt)  # packed fused kernel
        probs = model(xt, lt).softmax(-1).numpy()
    h_final = final[0] if kind == "lstm" else final
    rows = np.arange(B)
    for layer in range(layers):
        np.testing.assert_allclose(
            r[f"hidden.l{layer}"][rows, LENGTHS - 1], h_final[layer].numpy(), atol=ATOL, rtol=0
        )
        if kind == "lstm":
            np.testing.assert_allclose(
                r[f"cell.l{layer}"][rows, LENGTHS - 1], final[1][layer].numpy(), atol=ATOL, rtol=0
            )
    for b, n in enumerate(LENGTHS):
        with torch.no_grad():
            alone, _ = model.core(xt[b : b + 1, :n])
        np.testing.assert_allclose(r[f"hidden.l{layers - 1}"][b, :n], alone[0].numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(r["probs"][rows, LENGTHS - 1], probs, atol=ATOL, rtol=0)
    np.testing.assert_array_equal(r["predictions"], probs.argmax(1))
    # past each sequence's end every per-step float array is NaN, before it nothing is
    pad = np.arange(T)[None, :] >= LENGTHS[:, None]
    for name, v in r.items():
        if v.ndim == 3:
            assert np.isnan(v[pad]).all() and not np.isnan(v[~pad]).any(), name


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_gates_satisfy_the_cell_equations(layers):
    model = _model("lstm", layers)
    x, _ = _data(2)
    r = record(model, x)
    for layer in range(layers):
        i, f, g, o = (r[f"gate.{n}.l{layer}"].astype(np.float64) for n in "ifgo")
        c, h = r[f"cell.l{layer}"].astype(np.float64), r[f"hidden.l{layer}"].astype(np.float64)
        c_prev = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)
        np.testing.assert_allclose(c, f * c_prev + i * g, atol=ATOL)
        np.testing.assert_allclose(h, o * np.tanh(c), atol=ATOL)
        assert ((i > 0) & (i < 1) & (np.abs(g) < 1)).all()


@pytest.mark.parametrize("layers", [1, 3])
def test_gru_gates_satisfy_the_cell_equations(layers):
    model = _model("gru", layers)
    x, _ = _data(3)
    r = record(model, x)
    for layer in range(layers):
        z, n = r[f"gate.z.l{layer}"].astype(np.float64), r[f"gate.n.l{layer}"].astype(np.float64)
        h = r[f"hidden.l{layer}"].astype(np.float64)
        h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
        np.testing.assert_allclose(h, (1 - z) * n + z * h_prev, atol=ATOL)
    # layer 0's reset gate from the weights by hand: r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    w_ih, w_hh, b_ih, b_hh = (w.detach().numpy().astype(np.float64) for w in model.layer_weights(0))
    h = r["hidden.l0"].astype(np.float64)
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    pre = x @ w_ih[:H].T + b_ih[:H] + h_prev @ w_hh[:H].T + b_hh[:H]
    np.testing.assert_allclose(r["gate.r.l0"], 1 / (1 + np.exp(-pre)), atol=ATOL)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_transformer_padded_equals_forward_and_kv_cache_steps(layers):
    model = _model("transformer", layers)
    x, y = _data(4)
    r = record(model, x, LENGTHS, y, RecordSpec(chunk_size=4))
    xt, lt = torch.as_tensor(x), torch.as_tensor(LENGTHS)
    rows = np.arange(B)
    with torch.no_grad():
        probs = model(xt, lt).softmax(-1).numpy()
        state = model.init_state(B)
        tops = []
        for t in range(T):  # the KV-cache step: an independent path to the top stream
            state = model.step(xt[:, t], state)
            tops.append(state["h"].numpy())
    np.testing.assert_allclose(r["probs"][rows, LENGTHS - 1], probs, atol=ATOL, rtol=0)
    np.testing.assert_array_equal(r["predictions"], probs.argmax(1))
    tops = np.stack(tops, axis=1)
    valid = np.arange(T)[None, :] < LENGTHS[:, None]
    np.testing.assert_allclose(r[f"residual.l{layers - 1}"][valid], tops[valid], atol=ATOL, rtol=0)
    for b, n in enumerate(LENGTHS):  # padding never leaks into valid positions
        with torch.no_grad():
            streams, weights = model.encode(xt[b : b + 1, :n], need_weights=True)
        for layer in range(layers):
            np.testing.assert_allclose(
                r[f"residual.l{layer}"][b, :n], streams[layer + 1][0].numpy(), atol=ATOL, rtol=0
            )
            np.testing.assert_allclose(
                r[f"attention.l{layer}"][b, :, :n, :n], weights[layer][0].numpy(), atol=ATOL, rtol=0
            )
    att = r["attention.l0"]  # (B, N, T, T)
    np.testing.assert_allclose(att.sum(-1)[valid[:, None, :].repeat(2, 1)], 1.0, atol=1e-6)
    assert np.isnan(att.transpose(0, 2, 1, 3)[~valid]).all()
    assert (np.triu(np.nan_to_num(att[0, 0]), 1) == 0).all()  # causal


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_steps_sequences_chunks_and_float16(kind):
    model = _model(kind, 2)
    x, y = _data(5)
    full = record(model, x, LENGTHS, y)
    part = record(
        model,
        x,
        LENGTHS,
        y,
        RecordSpec(sequences=(5, 0, 3, 6), max_sequences=3, steps=(0, 4, 8, 10), chunk_size=2),
    )
    idx, steps = np.array([5, 0, 3]), np.array([0, 4, 8, 10])
    np.testing.assert_array_equal(part["index"], idx)
    np.testing.assert_array_equal(part["lengths"], LENGTHS[idx])
    np.testing.assert_array_equal(part["labels"], y[idx])
    for name, v in part.items():
        if name.startswith("attention"):
            np.testing.assert_allclose(v, full[name][idx][:, :, steps], atol=1e-6, rtol=0)
        elif v.ndim == 3:  # a different batch composition may change BLAS round-off, nothing else
            np.testing.assert_allclose(v, full[name][idx][:, steps], atol=1e-6, rtol=0)
    half = record(model, x, LENGTHS, y, RecordSpec(dtype="float16"))
    for name, v in half.items():
        if v.dtype.kind == "f":
            assert v.dtype == np.float16, name
            np.testing.assert_allclose(v.astype(np.float32), full[name], atol=2e-3, rtol=1e-3, equal_nan=True)


@pytest.mark.parametrize("kind", ["gru", "transformer"])
def test_recording_leaves_the_model_untouched(kind):
    if kind == "transformer":
        model = CausalTransformerClassifier(C, 8, 2, K, heads=2, dropout=0.5)
    else:
        model = RecurrentClassifier(kind, C, H, 2, K, dropout=0.5)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    x, y = _data(6)
    with torch.enable_grad():
        r = record(model, x, LENGTHS, y)
        assert torch.is_grad_enabled()
    assert [m.training for m in model.modules()] == flags and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    # in train mode the recorder still runs the eval path (no dropout): same result as an eval model
    np.testing.assert_array_equal(r["probs"], record(model.eval(), x, LENGTHS, y)["probs"])


def test_bad_data_is_refused_with_the_array_named():
    model = _model("rnn", 1)
    x, y = _data()
    with pytest.raises(ValueError, match=r"x must have shape \(sequences, time, channels\), got \(7, 11\)"):
        record(model, x[:, :, 0])
    with pytest.raises(ValueError, match="x must have 3 channels for this model"):
        record(model, x[:, :, :2])
    with pytest.raises(ValueError, match=r"lengths must have shape \(sequences,\) = \(7,\)"):
        record(model, x, LENGTHS[:3])
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 11\]"):
        record(model, x, LENGTHS * 2)
    with pytest.raises(ValueError, match=r"labels must have shape \(sequences,\) = \(7,\)"):
        record(model, x, None, y[:2])
    with pytest.raises(ValueError, match="no labels were given"):
        record(model, x, spec=RecordSpec(quantities=("hidden", "labels")))
    bad = x.copy()
    bad[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or inf at a valid step \(sequence 2, step 3\)"):
        record(model, bad, LENGTHS)
    bad[2, 3, 1] = 0.0
    bad[1, 8, 0] = np.nan  # in the padding of sequence 1 (length 4): ignored
    assert not np.isnan(record(model, bad, LENGTHS)["hidden.l0"][1, :4]).any()


def test_iterating_chunks_does_not_leak_no_grad_or_eval_mode():
    from rnnscope.recording import record_chunks

    model = _model("gru", 1).train()
    x, y = _data(7)
    chunks = record_chunks(model, x, LENGTHS, y, RecordSpec(chunk_size=2))
    first = next(chunks)  # the caller's code runs here, between two chunks
    assert torch.is_grad_enabled() and model.training
    assert first["hidden.l0"].shape == (2, T, H)
    chunks.close()  # abandoned midway: nothing to restore
    assert torch.is_grad_enabled() and all(m.training for m in model.modules())
