"""Pooled readouts (mean, max, attention): the fused forward equals `step`, and recording, per-step
gradients, streaming and Jacobians work through the protocol for each readout."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnscope.config import ModelConfig
from rnnscope.errors import BadArgument
from rnnscope.gradients import step_gradients, step_jacobians
from rnnscope.models import PooledClassifier, build_model
from rnnscope.models.protocol import TracedForward, is_recurrent, state_size, supports
from rnnscope.recording import RecordSpec, record
from rnnscope.streaming import SteppedEngine, StreamPool

READOUTS = ["mean", "max", "attention"]


def _model(kind, readout, seed=0):
    torch.manual_seed(seed)
    m = build_model(ModelConfig(kind=kind, hidden=6, layers=2, readout=readout), 3, 4).double().eval()
    if m.attn is not None:
        torch.nn.init.normal_(m.attn)  # a non-uniform attention (zeros would equal the mean)
    return m


def _batch(b=5, t=9):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, t, 3, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 4, (b,), generator=g), torch.tensor([t, 4, 7, 1, t])[:b]


def _stepped(m, x, lengths):
    """readout of the state after each sequence's last valid step, one sequence at a time."""
    out = []
    for i in range(len(x)):
        s = m.init_state(1, dtype=x.dtype)
        for t in range(int(lengths[i])):
            s = m.step(x[i : i + 1, t], s)
        out.append(m.readout(s))
    return torch.cat(out)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("readout", READOUTS)
def test_fused_forward_equals_the_stepped_readout(kind, readout):
    m = _model(kind, readout)
    x, _, lengths = _batch()
    assert isinstance(m, PooledClassifier) and is_recurrent(m) and not supports(m, TracedForward)
    torch.testing.assert_close(m(x, lengths), _stepped(m, x, lengths), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(m(x), _stepped(m, x, torch.full((5,), 9)), rtol=1e-10, atol=1e-12)


def test_mean_and_max_pool_what_they_say():
    m = _model("gru", "mean")
    x, _, _ = _batch(b=2, t=5)
    out, _ = m.core.core(x)  # top layer's h at every step
    torch.testing.assert_close(
        m.readout(m.init_state(2, dtype=x.dtype)), m.core.head(torch.zeros(2, 6).double())
    )
    s = m.init_state(2, dtype=x.dtype)
    for t in range(5):
        s = m.step(x[:, t], s)
    torch.testing.assert_close(s[-1]["pool"], out.mean(1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s[-1]["norm"], torch.full_like(out[:, 0], np.log(5)), rtol=1e-12, atol=1e-12)
    mx = _model("gru", "max")
    s = mx.init_state(2, dtype=x.dtype)
    for t in range(5):
        s = mx.step(x[:, t], s)
    torch.testing.assert_close(s[-1]["pool"], mx.core.core(x)[0].amax(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("readout", READOUTS)
def test_recording_gives_the_pooled_prediction_at_each_end(readout):
    m = _model("lstm", readout)
    x, y, lengths = _batch()
    rec = record(m, x.numpy(), lengths.numpy(), y.numpy(), RecordSpec(chunk_size=2))
    assert {"hidden.l0", "hidden.l1", "cell.l1", "probs", "gate.f.l0"} <= set(rec)
    probs = F.softmax(m(x, lengths), -1).detach().numpy()
    ends = rec["probs"][np.arange(5), lengths.numpy() - 1]
    np.testing.assert_allclose(ends, probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rec["predictions"], probs.argmax(-1))


@pytest.mark.parametrize("readout", READOUTS)
def test_per_step_gradients_are_the_total_ones(readout):
    m = _model("gru", readout)
    x, y, lengths = _batch()
    g = step_gradients(m, x, y, lengths)
    assert g.names == ["grad_h/0", "grad_h/1", "grad_x"]
    xin = x.clone().requires_grad_()
    (ref,) = torch.autograd.grad(F.cross_entropy(m(xin, lengths), y, reduction="sum"), xin)
    valid = (torch.arange(9)[None] < lengths[:, None])[..., None]
    np.testing.assert_allclose(
        g.arrays["grad_x"], ref.masked_fill(~valid, float("nan")), rtol=1e-7, atol=1e-10
    )
    ref_h = _reference_grad_h(m, x, y, lengths)
    for name in ("grad_h/0", "grad_h/1"):
        np.testing.assert_allclose(g.arrays[name], ref_h[name], rtol=1e-7, atol=1e-10)


def _reference_grad_h(m, x, y, lengths):
    """Autograd on a manual layer-by-layer unroll: the total ∂L/∂h_t of each layer, NaN past each end."""
    b, t_len = x.shape[:2]
    state, keep, logits = m.init_state(b, dtype=x.dtype), [], torch.zeros(b, 4, dtype=x.dtype)
    for t in range(t_len):
        new, inp = [], x[:, t]
        for layer, parts in enumerate(state):
            new.append(m.step_layer(layer, inp, parts))
            inp = new[-1]["h"]
        state = new
        keep.append([p["h"] for p in new])
        logits = torch.where((lengths - 1 == t)[:, None], m.readout(state), logits)
    loss = F.cross_entropy(logits, y, reduction="sum")
    grads = torch.autograd.grad(loss, [h for step in keep for h in step])
    valid = (torch.arange(t_len)[None] < lengths[:, None])[..., None]
    out = {}
    for layer in range(2):
        stacked = torch.stack([grads[2 * t + layer] for t in range(t_len)], dim=1)
        out[f"grad_h/{layer}"] = stacked.masked_fill(~valid, float("nan"))
    return out


@pytest.mark.parametrize("readout", READOUTS)
def test_streaming_equals_the_full_forward(readout):
    m = _model("rnn", readout)
    x, _, _ = _batch(b=3, t=8)
    pool = StreamPool(m, capacity=2)
    assert isinstance(pool.engine, SteppedEngine)
    slots = pool.open_many(3)
    first = pool.feed(slots, x[:, :3])
    last = pool.feed_ragged({slots[0]: x[0, 3:], slots[1]: x[1, 3:5], slots[2]: x[2, 3:8]})
    for i, n in enumerate((8, 5, 8)):
        want = F.softmax(m(x[i : i + 1, :n]), -1)[0].detach()
        np.testing.assert_allclose(last[slots[i]][-1], want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(first[:, -1], F.softmax(m(x[:, :3]), -1).detach(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("readout", ["mean", "attention"])
def test_jacobians_cover_the_pool_and_leave_the_core_dynamics_alone(readout):
    m = _model("gru", readout)
    last = build_model(ModelConfig(kind="gru", hidden=6, layers=2), 3, 4).double()
    last.load_state_dict(m.core.state_dict())
    x, _, lengths = _batch(b=2, t=4)
    jac = step_jacobians(m, x, lengths)
    ref = step_jacobians(last, x, lengths, method="explicit")
    assert state_size(m) == 2 * 6 * 3  # layers x units x parts
    for a, b in zip(jac, ref):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape[-1] == 18 and b.shape[-1] == 6  # per layer: h, pool, norm
        # the core block of layer 0 (its h): the pool never feeds back into the recurrence
        np.testing.assert_allclose(a[..., :6, :6], b[..., :6, :6], rtol=1e-9, atol=1e-12)


def test_readout_is_validated():
    with pytest.raises(BadArgument, match="unknown readout 'median'"):
        ModelConfig(readout="median")
    with pytest.raises(BadArgument, match="transformer reads out last"):
        ModelConfig(kind="transformer", readout="mean")
