"""A model offering only the required protocol is recorded, its per-step gradients taken, streamed, its
Jacobians and impulse response computed; on the built-in cells the generic paths equal the fast ones."""

import copy

import numpy as np
import pytest
import torch

import rnnscope
from plain_models import Gated, Layered, RequiredOnly, TanhCell, TwoLayerLSTM, unrolled_reference
from rnnscope.config import ModelConfig
from rnnscope.gradients import carry_gates, step_gradients, step_jacobians
from rnnscope.models import CausalTransformerClassifier, RecurrentClassifier, build_model
from rnnscope.models.protocol import (
    AutonomousMap,
    ClosedFormJacobian,
    HasGates,
    LayeredStep,
    StreamKernel,
    TracedForward,
    is_recurrent,
    state_vector,
    supports,
    vector_state,
)
from rnnscope.recording import RecordSpec, record
from rnnscope.recording.impulse import model_impulse
from rnnscope.streaming import KVCacheEngine, SteppedEngine, StreamPool

KINDS = ["rnn", "lstm", "gru"]


def _batch(c=3, k=4, b=5, t=9, dtype=torch.float64):
    x = torch.randn(b, t, c, dtype=dtype)
    return x, torch.randint(0, k, (b,)), torch.tensor([t, 4, 7, 1, t])[:b]


def _assert_close(a, b, tol):
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), rtol=tol, atol=tol, err_msg=name)


# ---- a hand-written tanh cell, required protocol only --------------------------------------------
def test_a_plain_tanh_cell_is_a_protocol_model_without_capabilities():
    m = TanhCell()
    assert is_recurrent(m)
    for cap in (HasGates, TracedForward, StreamKernel, ClosedFormJacobian, LayeredStep):
        assert not supports(m, cap)


def test_a_plain_tanh_cell_is_recorded_like_a_manual_loop():
    m = TanhCell()
    x, y, lengths = _batch()
    rec = record(m, x.numpy(), lengths.numpy(), y.numpy(), RecordSpec(chunk_size=2))
    assert set(rec) == {"inputs", "hidden.l0", "probs", "labels", "predictions", "lengths", "index"}
    hs = torch.stack(m.unroll(x), dim=1)  # (B, T, H)
    valid = (torch.arange(9)[None, :] < lengths[:, None])[..., None]
    np.testing.assert_allclose(rec["hidden.l0"], hs.masked_fill(~valid, float("nan")).float(), rtol=1e-6)
    probs = m.readout(hs).softmax(-1).masked_fill(~valid, float("nan"))
    np.testing.assert_allclose(rec["probs"], probs.float(), rtol=1e-5, atol=1e-7)
    ends = probs[torch.arange(5), lengths - 1]
    np.testing.assert_array_equal(rec["predictions"], ends.argmax(-1).numpy())
    with pytest.raises(ValueError, match="exists only for lstm models; this model is TanhCell"):
        record(m, x.numpy(), spec=RecordSpec(quantities=("cell",)))


def test_a_plain_tanh_cell_gets_exact_per_step_gradients():
    m = TanhCell()
    x, y, lengths = _batch()
    g = step_gradients(m, x, y, lengths)
    assert g.kind == "TanhCell" and g.names == ["grad_h/0", "grad_x"]
    _assert_close(g.arrays, unrolled_reference(m, x, y, lengths), 1e-8)
    with pytest.raises(ValueError, match="traced forward"):
        step_gradients(m, x, y, lengths, learning=True)


def test_a_plain_tanh_cell_streams_like_its_full_forward():
    m = TanhCell()
    x = torch.randn(3, 11, 3, dtype=torch.float64)
    full = m.readout(torch.stack(m.unroll(x), dim=1)).softmax(-1)  # (3, T, K)
    pool = StreamPool(m, capacity=2)
    assert isinstance(pool.engine, SteppedEngine)
    slots = pool.open_many(3)
    got = [pool.feed(slots, x[:, :1, :].squeeze(1))[:, None]]  # one step each
    got.append(pool.feed(slots, x[:, 1:5]))  # a chunk
    ragged = pool.feed_ragged({slots[0]: x[0, 5:], slots[1]: x[1, 5:8], slots[2]: x[2, 5:11]})
    np.testing.assert_allclose(torch.cat(got, dim=1), full[:, :5], rtol=1e-5, atol=1e-7)
    for i, n in enumerate((11, 8, 11)):
        np.testing.assert_allclose(ragged[slots[i]], full[i, 5:n], rtol=1e-5, atol=1e-7)
    assert pool.state_bytes(slots[0]) == 6 * 8
    torch.testing.assert_close(pool.state(slots[1]), m.unroll(x[1:2, :8])[-1])


def test_a_plain_tanh_cell_jacobians_and_impulse():
    m = TanhCell()
    x, _, lengths = _batch()
    (jac,) = step_jacobians(m, x, lengths)  # generic: jacrev through step
    hs = m.unroll(x)
    t = 3
    expect = (1 - hs[t] ** 2)[:, :, None] * m.W  # diag(1 - h_t²) W
    np.testing.assert_allclose(jac[0, t], expect[0].numpy(), rtol=1e-12, atol=1e-14)
    assert np.isnan(jac[1, 4:]).all() and not np.isnan(jac[1, :4]).any()
    assert carry_gates(m, x) == []
    resp = model_impulse(m, x.numpy(), at=2)
    assert list(resp) == [0] and resp[0].deviation.shape == (7, 6)


# ---- a hand-written 2-layer LSTM with state parts h, c ---------------------------------------------
@pytest.mark.parametrize("cls", [TwoLayerLSTM, Layered])
def test_a_plain_two_layer_lstm_gets_total_per_step_gradients(cls):
    m = cls()
    x, y, lengths = _batch(k=3)
    g = step_gradients(m, x, y, lengths)
    assert g.names == ["grad_h/0", "grad_h/1", "grad_c/0", "grad_c/1", "grad_x"]
    assert g.arrays["grad_h/0"].shape == (5, 9, 5) and g.arrays["grad_h/1"].shape == (5, 9, 4)
    _assert_close(g.arrays, unrolled_reference(m, x, y, lengths), 1e-8)


def test_a_plain_two_layer_lstm_is_recorded_streamed_and_probed():
    m = TwoLayerLSTM()
    x, y, lengths = _batch(k=3)
    rec = record(m, x.numpy(), lengths.numpy(), y.numpy())
    assert {"hidden.l0", "hidden.l1", "cell.l0", "cell.l1"} <= set(rec) and rec["cell.l1"].shape == (5, 9, 4)
    state = m.init_state(5)
    for t in range(3):
        state = m.step(x[:, t], state)
    np.testing.assert_allclose(rec["cell.l0"][0, 2], state[0]["c"][0].float(), rtol=1e-6)
    pool = StreamPool(m)
    slot = pool.open()
    probs = pool.feed([slot], x[:1])
    np.testing.assert_allclose(probs[0, 2], m.readout(state).softmax(-1)[0], rtol=1e-5)
    assert sorted(model_impulse(m, x.numpy(), at=2)) == [0, 1]
    v = state_vector(m, state)
    assert v.shape == (5, 18)
    torch.testing.assert_close(vector_state(m, v)[1]["c"], state[1]["c"])


# ---- the built-in cells: the generic paths equal the fast ones -----------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_generic_gradients_equal_the_traced_path(kind):
    model = RecurrentClassifier(kind, 3, 6, 2, 4).double()
    x, y, lengths = _batch()
    fast = step_gradients(model, x, y, lengths)
    _assert_close(step_gradients(model, x, y, lengths, generic=True).arrays, fast.arrays, 1e-10)
    # through `step` alone, on views of a stacked state, a gradient misses the paths inside the step (to
    # the layer above; from c_t to h_t); the top h's and the input's are the total ones (docs/models.md)
    plain = step_gradients(RequiredOnly(model), x, y, lengths).arrays
    for name in ("grad_h/1", "grad_x"):
        np.testing.assert_allclose(plain[name], fast.arrays[name], rtol=1e-10, atol=1e-12)
    one = RecurrentClassifier(kind, 3, 6, 1, 4).double()
    plain = step_gradients(RequiredOnly(one), x, y, lengths).arrays
    fast = step_gradients(one, x, y, lengths).arrays
    if kind == "lstm":
        assert not np.allclose(plain.pop("grad_c/0"), fast.pop("grad_c/0"), equal_nan=True)
    _assert_close(plain, fast, 1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_generic_recording_equals_the_gated_step(kind):
    model = RecurrentClassifier(kind, 3, 6, 2, 4).eval()
    x, y, lengths = _batch(dtype=torch.float32)
    fast = record(model, x.numpy(), lengths.numpy(), y.numpy())
    plain = record(RequiredOnly(model), x.numpy(), lengths.numpy(), y.numpy())
    assert set(fast) - set(plain) == (
        {
            "gate.f.l0",
            "gate.i.l0",
            "gate.g.l0",
            "gate.o.l0",
            "gate.i.l1",
            "gate.f.l1",
            "gate.g.l1",
            "gate.o.l1",
        }
        if kind == "lstm"
        else {f"gate.{g}.l{layer}" for g in "rzn" for layer in (0, 1)}
        if kind == "gru"
        else set()
    )
    _assert_close({k: fast[k] for k in plain}, plain, 1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_generic_streaming_equals_the_stream_kernel(kind):
    model = RecurrentClassifier(kind, 3, 8, 2, 4).eval()
    fast, plain = StreamPool(model, capacity=4), StreamPool(RequiredOnly(model), capacity=4)
    assert not isinstance(fast.engine, (SteppedEngine, KVCacheEngine))
    assert isinstance(plain.engine, SteppedEngine)
    x = torch.randn(6, 10, 3)
    a, b = fast.open_many(6), plain.open_many(6)
    for lo, hi in ((0, 1), (1, 4), (4, 10)):
        chunk = x[:, lo] if hi - lo == 1 else x[:, lo:hi]
        np.testing.assert_allclose(fast.feed(a, chunk), plain.feed(b, chunk), rtol=1e-5, atol=1e-6)
    out_a = fast.feed_ragged({a[0]: x[0, :3], a[3]: x[3, :5]})
    out_b = plain.feed_ragged({b[0]: x[0, :3], b[3]: x[3, :5]})
    for sa, sb in ((a[0], b[0]), (a[3], b[3])):
        np.testing.assert_allclose(out_a[sa], out_b[sb], rtol=1e-5, atol=1e-6)
    assert fast.state_bytes(a[0]) == plain.state_bytes(b[0])


@pytest.mark.parametrize("kind", KINDS)
def test_jacobians_closed_form_equal_jacrev_through_step(kind):
    model = RecurrentClassifier(kind, 3, 5, 2, 4).double()
    x, _, lengths = _batch(b=3)
    explicit = step_jacobians(model, x, lengths, method="explicit")
    for a, b in zip(explicit, step_jacobians(RequiredOnly(model), x, lengths)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # the whole stacked state's Jacobian (what fixed points need), cross-layer blocks included
    state = model.step(x[:, 0], model.init_state(3))
    closed = model.step_jacobian(x[:, 1], state)
    ref = torch.func.vmap(
        torch.func.jacrev(
            lambda v, xt: state_vector(model, model.step(xt[None], vector_state(model, v[None])))[0]
        )
    )(state_vector(model, state), x[:, 1])
    torch.testing.assert_close(closed, ref, rtol=1e-10, atol=1e-12)
    assert float(closed[:, 5 * (2 if kind == "lstm" else 1) :, :5].abs().max()) > 0  # layer 1 feels layer 0
    with pytest.raises(ValueError, match="no closed-form"):
        step_jacobians(RequiredOnly(model), x, method="explicit")


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_autonomous_map_of_the_tanh_rnn_equals_step_and_jacrev_through_step(layers):
    torch.manual_seed(layers)
    u = torch.tensor([0.4, -0.3, 0.2], dtype=torch.float64)
    for model in (
        RecurrentClassifier("rnn", 3, 5, layers, 4).double(),
        rnnscope.wrap(torch.nn.RNN(3, 5, num_layers=layers, batch_first=True)).double(),
    ):
        assert supports(model, AutonomousMap)
        x = torch.randn(6, 5 * layers, dtype=torch.float64)
        f, jac = model.autonomous_map(u)(x)
        step = state_vector(model, model.step(u.expand(6, 3), vector_state(model, x)))
        ref = torch.func.vmap(
            torch.func.jacrev(
                lambda v, m=model: state_vector(m, m.step(u[None], vector_state(m, v[None])))[0]
            )
        )(x)
        torch.testing.assert_close(f, step, rtol=0, atol=1e-14)
        torch.testing.assert_close(jac, ref, rtol=1e-12, atol=1e-14)
        if layers > 1:  # the top layer feels the bottom one through this step's new h
            assert float(jac[:, -5:, :5].abs().max()) > 0.01
    for kind in ("gru", "lstm"):  # no fast map: callers take the traced step
        assert RecurrentClassifier(kind, 3, 5, 2, 4).autonomous_map(u.float()) is None


# ---- the impulse probe through the protocol ------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm", "transformer"])
def test_impulse_probe_equals_differenced_recordings(kind):
    """The probe's deviation equals |h(x + nudge) - h(x)| / eps averaged over sequences, from two float64
    recordings (the fused/encoder path), for every layer and lag."""
    model = build_model(ModelConfig(kind=kind, hidden=8, layers=2, heads=2), 3, 2)
    x = np.random.default_rng(0).normal(size=(4, 12, 3))
    at, eps = 3, 0.05  # recordings are float32: a larger nudge keeps the difference well above rounding
    a = model_impulse(model, x, at=at, eps=eps)
    assert sorted(a) == [0, 1]
    ref = copy.deepcopy(model).double().eval()
    nudged = x.copy()
    nudged[:, at] += eps / np.sqrt(3)
    what = "residual" if kind == "transformer" else "hidden"
    spec = RecordSpec(quantities=(what,))
    h, h_n = record(ref, x, spec=spec), record(ref, nudged, spec=spec)
    for layer in a:
        name = f"{what}.l{layer}"
        deviation = np.abs(h_n[name][:, at:] - h[name][:, at:]).mean(axis=0) / eps
        np.testing.assert_allclose(a[layer].deviation, deviation, rtol=1e-5, atol=1e-5)
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is not touched


def test_transformer_steps_with_the_streams_its_encoder_computes():
    model = CausalTransformerClassifier(3, 8, 2, 2, heads=2).eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        streams = model.encode(x)[0]
        state = model.init_state(2)
        for t in range(5):
            state, blocks = model.step_with_streams(x[:, t], state)
            for layer, z in enumerate(blocks):
                torch.testing.assert_close(z, streams[layer + 1][:, t], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(model.readout(state), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_carry_gates_by_stepping_equal_the_traced_ones(kind):
    model = RecurrentClassifier(kind, 3, 5, 2, 4).double()
    x, _, lengths = _batch()
    gated = Gated(model)
    assert supports(gated, HasGates) and not supports(gated, TracedForward)
    for a, b in zip(carry_gates(model, x, lengths), carry_gates(gated, x, lengths), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_traced_forward_equals_step(kind):
    model = RecurrentClassifier(kind, 3, 5, 2, 4).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    state = model.init_state(4)
    for method in ("stepped", "fused"):
        traces = model.layer_traces(x, method)
        state = model.init_state(4)
        for t in range(6):
            state = model.step(x[:, t], state)
            for tr, parts in zip(traces, model.layer_states(state), strict=True):
                torch.testing.assert_close(tr.out[t].t(), parts["h"], rtol=1e-12, atol=1e-12)
                if "c" in parts:
                    torch.testing.assert_close(tr.cell[t].t(), parts["c"], rtol=1e-12, atol=1e-12)
