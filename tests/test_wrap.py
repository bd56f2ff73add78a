"""`rnnscope.wrap`: the user's nn.RNN / LSTM / GRU and own cells as protocol models, held to ground truth:
the user's own module (and PyTorch's autograd through it) for logits, recorded states, per-step gradients
and streaming; planted leaks for unit timescales; the user's module never changed.

Key: B = batch, T = time, C = input channels, H = hidden size, L = layers, K = classes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rnnscope
from rnnscope.analysis import classify_units
from rnnscope.errors import BadArgument
from rnnscope.gradients import carry_gates, step_gradients, step_jacobians
from rnnscope.models.protocol import (
    ClosedFormJacobian,
    FusedForward,
    HasGates,
    LayeredStep,
    NoReadout,
    RecurrentModel,
    StreamKernel,
    TracedForward,
    supports,
)
from rnnscope.models.wrapped import WrappedRecurrent
from rnnscope.recording import record
from rnnscope.recording.impulse import model_impulse
from rnnscope.streaming import StreamPool

C, H, K, B, T = 3, 5, 4, 4, 9
LENGTHS = torch.tensor([9, 6, 9, 3])
FAST = (HasGates, LayeredStep, FusedForward, TracedForward, ClosedFormJacobian, StreamKernel)


def user_core(name: str) -> nn.RNNBase:
    """The three ground-truth modules of the issue, in float64."""
    if name == "lstm":
        core = nn.LSTM(C, H, num_layers=3, bias=False, batch_first=False)
    elif name == "gru":
        core = nn.GRU(C, H, num_layers=2, batch_first=True)
    else:
        core = nn.RNN(C, H, num_layers=2, nonlinearity="relu", batch_first=True)
    return core.double()


def user_run(core: nn.RNNBase, x: torch.Tensor):
    """The user's module over x (B, T, C) -> (outputs (B, T, H), final state), from its own layout."""
    out, state = core(x if core.batch_first else x.transpose(0, 1))
    return (out if core.batch_first else out.transpose(0, 1)), state


def snapshot(*modules: nn.Module) -> list:
    """Everything about the user's modules that an analysis must leave alone."""
    out = []
    for m in modules:
        for sub in m.modules():
            out.append(
                (sub.training, len(sub._forward_hooks), len(sub._forward_pre_hooks), len(sub._backward_hooks))
            )
        for name, p in m.named_parameters():
            out.append((name, p.detach().clone(), p.requires_grad, p.grad))
    return out


def assert_same(before: list, after: list) -> None:
    assert len(before) == len(after)
    for a, b in zip(before, after):
        for u, v in zip(a, b):
            if isinstance(u, torch.Tensor):
                assert torch.equal(u, v)
            else:
                assert u == v


def cell_reference(core: nn.RNNBase, x: torch.Tensor) -> list[list[torch.Tensor]]:
    """The user's module unrolled through PyTorch's own cells (nn.LSTMCell / GRUCell / RNNCell, weights
    copied: the test's reference), per layer, the list over steps of h_t (B, H).
    (Gradients are taken w.r.t. these very tensors. The gradient w.r.t. a fused module's output sequence
    is only the direct path to the loss, not the total one through the recurrence, so the fused module
    itself cannot serve here.)"""
    kind = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "RNN_RELU": nn.RNNCell, "RNN_TANH": nn.RNNCell}[core.mode]
    kw = {"nonlinearity": "relu" if core.mode == "RNN_RELU" else "tanh"} if kind is nn.RNNCell else {}
    cells = []
    for layer in range(core.num_layers):
        size = core.input_size if layer == 0 else core.hidden_size
        cell = kind(size, core.hidden_size, bias=core.bias, **kw).double()
        with torch.no_grad():
            for w in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if core.bias else ()):
                getattr(cell, w).copy_(getattr(core, f"{w}_l{layer}"))
        cells.append(cell)
    zero = torch.zeros(x.shape[0], core.hidden_size, dtype=x.dtype)
    state = [(zero, zero) if kind is nn.LSTMCell else zero for _ in cells]
    hs = [[] for _ in cells]
    for t in range(x.shape[1]):
        inp = x[:, t]
        for layer, cell in enumerate(cells):
            state[layer] = cell(inp, state[layer])
            inp = state[layer][0] if kind is nn.LSTMCell else state[layer]
            hs[layer].append(inp)
    return hs


@pytest.mark.parametrize("name", ["lstm", "gru", "relu"])
def test_wrapped_core_equals_the_users_module(name):
    core, head = user_core(name), nn.Linear(H, K).double()
    core.train()  # the user's flag, which no analysis may leave changed
    hook = core.register_forward_hook(lambda *a: None)
    before = snapshot(core, head)
    m = rnnscope.wrap(core, head)
    assert isinstance(m, RecurrentModel) and m.n_classes == K and m.layer_sizes == (H,) * core.num_layers
    kernels = name != "relu"  # the built-in kernels know only tanh
    assert [supports(m, cap) for cap in FAST] == [True, True, True, kernels, kernels, kernels]
    x = torch.randn(B, T, C, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3])
    last = LENGTHS - 1
    rows = torch.arange(B)

    # logits: the user's module + readout at each sequence's last step (causal: padding unseen there)
    out, _ = user_run(core, x)
    ref_logits = head(out[rows, last])
    torch.testing.assert_close(m(x), head(out[:, -1]), rtol=0, atol=1e-12)
    torch.testing.assert_close(m(x, LENGTHS), ref_logits, rtol=0, atol=1e-12)

    # recorded states: top layer = the module's per-step outputs; every layer's final state
    rec = record(m, x.numpy(), LENGTHS.numpy(), y.numpy())
    top = rec[f"hidden.l{core.num_layers - 1}"]
    valid = (torch.arange(T)[None] < LENGTHS[:, None]).numpy()
    np.testing.assert_allclose(top[valid], out.detach().numpy()[valid], atol=1e-6)
    assert np.isnan(top[~valid]).all()
    np.testing.assert_allclose(rec["probs"][rows, last], ref_logits.softmax(-1).detach().numpy(), atol=1e-6)
    for b in range(B):
        _, final = user_run(core, x[b : b + 1, : int(LENGTHS[b])])
        h_n = final[0] if name == "lstm" else final
        for layer in range(core.num_layers):
            np.testing.assert_allclose(rec[f"hidden.l{layer}"][b, last[b]], h_n[layer, 0].detach(), atol=1e-6)
            if name == "lstm":
                np.testing.assert_allclose(
                    rec[f"cell.l{layer}"][b, last[b]], final[1][layer, 0].detach(), atol=1e-6
                )
    if name != "relu":
        assert {f"gate.{g}.l0" for g in m.gate_names} <= set(rec)

    # per-step gradients: autograd through PyTorch's own cells; grad_x also through the user's module
    xr = x.clone().requires_grad_()
    hs = cell_reference(core, xr)
    torch.testing.assert_close(torch.stack(hs[-1], 1), out, rtol=0, atol=1e-12)
    flat = [h for seq in hs for h in seq]
    grads = torch.autograd.grad(
        F.cross_entropy(head(torch.stack(hs[-1], 1)[rows, last]), y, reduction="sum"), flat
    )  # autograd.grad, not backward: no .grad left on the user's parameters
    want = [torch.stack(grads[i * T : (i + 1) * T], 1) for i in range(len(hs))]
    loss = F.cross_entropy(head(user_run(core, xr)[0][rows, last]), y, reduction="sum")
    (gx,) = torch.autograd.grad(loss, xr)
    for generic, method in ((False, "stepped"), (False, "fused"), (True, "auto")):  # fused: the GPU default
        g = step_gradients(m, x, y, LENGTHS, generic=generic, method=method).arrays
        for layer, w in enumerate(want):
            got = g[f"grad_h/{layer}"]
            torch.testing.assert_close(got[valid], w[valid], rtol=0, atol=1e-8)
            assert torch.isnan(got[~valid]).all()
        torch.testing.assert_close(g["grad_x"][valid], gx[valid], rtol=0, atol=1e-8)

    # streaming: chunks of 4 and 5 steps equal the module's running readout
    pool = StreamPool(m)
    slots = pool.open_many(B)
    probs = torch.cat([pool.feed(slots, x[:, :4]), pool.feed(slots, x[:, 4:])], dim=1)
    torch.testing.assert_close(probs, head(out).softmax(-1).detach(), rtol=0, atol=1e-10)

    assert_same(before, snapshot(core, head))
    assert core._forward_hooks[hook.id] is not None
    hook.remove()


def test_the_users_tensors_are_shared_not_copied():
    core, head = nn.GRU(C, H, batch_first=True), nn.Linear(H, K)
    m = rnnscope.wrap(core, head)
    x = torch.randn(2, 6, C)
    with torch.no_grad():  # the user keeps training after wrapping
        core.weight_hh_l0.mul_(-0.5)
        core.bias_ih_l0.add_(0.3)
        head.weight.mul_(2.0)
    out, _ = core(x)
    torch.testing.assert_close(m(x), head(out[:, -1]))
    state = m.init_state(2)
    for t in range(x.shape[1]):
        state = m.step(x[:, t], state)
    torch.testing.assert_close(m.readout(state), head(out[:, -1]))
    pool = StreamPool(m, chunk_method="stepped")
    torch.testing.assert_close(pool.feed(pool.open_many(2), x), head(out).softmax(-1), atol=1e-6, rtol=0)
    assert m.layer_weights(0)[1] is core.weight_hh_l0


def test_bias_free_fused_and_stepped_streaming_chunks_agree():
    core, head = nn.LSTM(C, H, num_layers=2, bias=False, batch_first=True), nn.Linear(H, K)
    m = rnnscope.wrap(core, head)
    x = torch.randn(3, 7, C)
    out, _ = core(x)
    want = head(out).softmax(-1).detach()
    for method in ("fused", "stepped"):
        pool = StreamPool(m, chunk_method=method)
        torch.testing.assert_close(pool.feed(pool.open_many(3), x), want, atol=1e-6, rtol=0)
    for method in ("fused", "stepped"):  # a ragged chunk: each stream stops at its own last step
        pool = StreamPool(m, chunk_method=method)
        a, b = pool.open_many(2)
        ragged = pool.feed_ragged({a: x[0, :4], b: x[1, :7]})
        torch.testing.assert_close(ragged[a], want[0, :4], atol=1e-6, rtol=0)
        torch.testing.assert_close(ragged[b], want[1], atol=1e-6, rtol=0)
        torch.testing.assert_close(pool.feed([a], x[0:1, 4:]), want[0:1, 4:], atol=1e-6, rtol=0)


def test_any_callable_readout_and_no_readout():
    core = nn.RNN(C, H, batch_first=True)
    V = torch.randn(7, H)
    m = rnnscope.wrap(core, lambda h: h @ V.T)
    assert m.n_classes == 7
    x = torch.randn(2, 5, C)
    torch.testing.assert_close(m(x), core(x)[0][:, -1] @ V.T)

    bare = rnnscope.wrap(core)
    assert bare.n_classes is None
    rec = record(bare, x.numpy())
    assert "probs" not in rec and "predictions" not in rec
    np.testing.assert_allclose(rec["hidden.l0"], core(x)[0].detach().numpy(), atol=1e-6)
    with pytest.raises(NoReadout, match="no readout"):
        bare.readout(bare.init_state(2))
    with pytest.raises(ValueError, match="no readout"):
        step_gradients(bare, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="no readout"):
        StreamPool(bare)


def test_bad_input_is_refused_naming_the_problem():
    with pytest.raises(BadArgument, match="bidirectional"):
        rnnscope.wrap(nn.GRU(C, H, bidirectional=True))
    with pytest.raises(BadArgument, match="proj_size=2"):
        rnnscope.wrap(nn.LSTM(C, H, proj_size=2))
    with pytest.raises(BadArgument, match="reads 6 features but the top layer's hidden size is 5"):
        rnnscope.wrap(nn.LSTM(C, H), nn.Linear(6, K))
    with pytest.raises(BadArgument, match="cannot read a hidden state of size 5"):
        rnnscope.wrap(nn.LSTM(C, H), nn.Sequential(nn.Linear(6, K)))
    with pytest.raises(TypeError, match="nn.RNN, nn.LSTM or nn.GRU, or a cell"):
        rnnscope.wrap(nn.Linear(C, H))
    with pytest.raises(TypeError, match="got str"):
        rnnscope.wrap("lstm")
    with pytest.raises(TypeError, match="readout must be"):
        rnnscope.wrap(nn.GRU(C, H), readout=3)
    with pytest.raises(BadArgument, match="no hidden_size attribute"):
        rnnscope.wrap(Leaky(torch.full((H,), 0.5)))
    with pytest.raises(BadArgument, match="the GRU carries its own sizes"):
        rnnscope.wrap(nn.GRU(C, H), hidden_size=H)
    with pytest.raises(BadArgument, match="has hidden_size 5, but hidden_size= is 4"):
        rnnscope.wrap(nn.GRUCell(C, 5), hidden_size=4)
    with pytest.raises(BadArgument, match="has input_size 5, but the layer below's hidden size is 3"):
        rnnscope.wrap([nn.GRUCell(C, 3), nn.GRUCell(5, 4)])
    with pytest.raises(TypeError, match=r"Halves is not a cell of input size 3 and hidden size 4: wrap"):
        rnnscope.wrap(Halves(), input_size=C, hidden_size=4)
    assert issubclass(BadArgument, ValueError)


class Halves(nn.Module):
    """Not a cell: its output is half the size of its state."""

    def forward(self, x, h):
        return h[:, : h.shape[1] // 2]


class Leaky(nn.Module):
    """h' = (1 - a) h + a tanh(W h + U x): a continuous-time RNN cell with per-unit leaks a (H,)."""

    def __init__(self, a: torch.Tensor, input_size: int = C, w_scale: float = 0.05):
        super().__init__()
        n = len(a)
        self.input_size = input_size  # no hidden_size attribute: wrap(..., hidden_size=) gives it
        self.register_buffer("a", a)
        self.W = nn.Parameter(w_scale * torch.randn(n, n, dtype=a.dtype))
        self.U = nn.Parameter(torch.randn(n, input_size, dtype=a.dtype) / input_size**0.5)

    def forward(self, x, h):
        return (1 - self.a) * h + self.a * torch.tanh(h @ self.W.T + x @ self.U.T)


def test_planted_leaks_recovered_as_unit_timescales():
    """White-noise input, W small: each unit is nearly AR(1) with coefficient 1 - a, so its timescale is
    -1 / ln(1 - a) ≈ 1 / a steps. Recovered by classify_units within 15 %."""
    a = torch.tensor([0.5, 0.25, 0.1, 0.05, 0.5, 0.2], dtype=torch.float64)
    m = rnnscope.wrap(Leaky(a), hidden_size=len(a))
    assert not supports(m, TracedForward) and supports(m, LayeredStep) and m.n_classes is None
    x = np.random.default_rng(0).standard_normal((200, 300, C))
    h = record(m, x)["hidden.l0"]
    tau = classify_units(h).tau
    planted = -1 / np.log(1 - a.numpy())
    assert np.all(np.abs(tau / planted - 1) < 0.15), np.round(tau / planted - 1, 3)


def test_a_stack_of_custom_cells_with_an_lstm_cell_on_top():
    leaky = Leaky(torch.tensor([0.3, 0.6, 0.9, 0.5], dtype=torch.float64))
    top, head = nn.LSTMCell(4, H).double(), nn.Linear(H, K).double()
    before = snapshot(leaky, top, head)
    m = rnnscope.wrap([leaky, top], head, hidden_size=[4, H])
    assert m.state_names == ("h", "c") and m.layer_sizes == (4, H) and m.forms == ("h", "hc")
    x = torch.randn(B, T, C, dtype=torch.float64)
    y = torch.tensor([3, 1, 0, 2])
    rows, last = torch.arange(B), LENGTHS - 1

    # the reference: the user's cells unrolled by hand; gradients w.r.t. every h_t and c_t
    xr = x.clone().requires_grad_()
    h0, h1, c1 = (torch.zeros(B, n, dtype=torch.float64) for n in (4, H, H))
    hs0, hs1, cs1 = [], [], []
    for t in range(T):
        h0 = leaky(xr[:, t], h0)
        h1, c1 = top(h0, (h1, c1))
        for v, keep in ((h0, hs0), (h1, hs1), (c1, cs1)):
            keep.append(v)
    logits = head(torch.stack(hs1, 1)[rows, last])
    grads = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), [xr, *hs0, *hs1, *cs1])
    ref = {
        "grad_x": grads[0],
        **{
            k: torch.stack(grads[1 + i * T : 1 + (i + 1) * T], 1)
            for i, k in enumerate(("grad_h/0", "grad_h/1", "grad_c/1"))
        },
    }
    torch.testing.assert_close(m(x, LENGTHS), logits, rtol=0, atol=1e-12)

    rec = record(m, x.numpy(), LENGTHS.numpy(), y.numpy())
    valid = (torch.arange(T)[None] < LENGTHS[:, None]).numpy()
    top_h = torch.stack(hs1, 1).detach().numpy()
    np.testing.assert_allclose(rec["hidden.l1"][valid], top_h[valid], atol=1e-6)
    np.testing.assert_allclose(rec["cell.l1"][valid], torch.stack(cs1, 1).detach().numpy()[valid], atol=1e-6)
    assert (rec["cell.l0"][valid] == 0).all()  # an h cell in an (h, c) stack carries c = 0

    g = step_gradients(m, x, y, LENGTHS).arrays
    v = torch.as_tensor(valid)
    for key, want in ref.items():
        torch.testing.assert_close(g[key][v], want[v], rtol=0, atol=1e-8)
    assert (g["grad_c/0"][v] == 0).all()

    j0 = step_jacobians(m, x[:, :3])[0]  # layer 0's (h, c) block: its constant c has zero rows and columns
    assert np.all(j0[:, :, 4:, :] == 0) and np.all(j0[:, :, :, 4:] == 0)
    diag = np.diagonal(j0[:, 0, :4, :4], axis1=1, axis2=2)  # (1 - a) + a tanh' W_ii, W small
    np.testing.assert_allclose(diag, 1 - leaky.a.expand(B, 4), atol=0.1)

    pool = StreamPool(m)
    probs = pool.feed(pool.open_many(B), x)
    torch.testing.assert_close(probs, head(torch.stack(hs1, 1)).softmax(-1).detach(), rtol=0, atol=1e-10)
    assert_same(before, snapshot(leaky, top, head))


@pytest.mark.parametrize("name", ["lstm", "gru", "relu"])
def test_jacobians_and_carry_gates_on_the_users_tensors(name):
    """Closed form (the built-in kernels on the user's tensors) = jacrev through step; the relu RNN has
    no closed form (tanh kernels) and takes jacrev; carry gates from the traces = from stepping."""
    core = user_core(name)
    m = rnnscope.wrap(core)
    x = torch.randn(2, 5, C, dtype=torch.float64)
    ref = step_jacobians(m, x, method="jacrev")
    if name == "relu":
        with pytest.raises(ValueError, match="no closed-form Jacobian"):
            step_jacobians(m, x, method="explicit")
        pre = [
            core(x[:, : t + 1].contiguous())[0][:, -1] for t in range(5)
        ]  # top-layer h_t > 0 <=> relu' = 1
        top = ref[-1]
        for t in range(1, 5):
            want = (pre[t] > 0).double()[:, :, None] * core.weight_hh_l1
            np.testing.assert_allclose(top[:, t], want.detach().numpy(), atol=1e-12)
        assert carry_gates(m, x) == []
        return
    for got, want in zip(step_jacobians(m, x, method="explicit"), ref):
        np.testing.assert_allclose(got, want, atol=1e-10)
    stepped = WrappedRecurrent(core, None, None)  # the same wrapper without the kernels: step_with_gates
    assert not supports(stepped, TracedForward)
    for got, want in zip(carry_gates(m, x), carry_gates(stepped, x)):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_impulse_probe_through_a_custom_cell():
    """W = 0: after the nudge each leaky unit's deviation shrinks by exactly (1 - a) per step."""
    a = torch.tensor([0.5, 0.2, 0.1], dtype=torch.float64)
    cell = Leaky(a, w_scale=0.0)
    before = snapshot(cell)
    x = np.random.default_rng(1).standard_normal((4, 12, C))
    resp = model_impulse(rnnscope.wrap(cell, hidden_size=3), x, at=3)[0]
    ratio = resp.deviation[2:8] / resp.deviation[1:7]
    np.testing.assert_allclose(ratio, np.broadcast_to(1 - a.numpy(), ratio.shape), rtol=1e-5)
    assert_same(before, snapshot(cell))


def test_import_rnnscope_stays_free_of_torch():
    import subprocess
    import sys

    code = "import sys, rnnscope; assert 'torch' not in sys.modules; assert 'wrap' in rnnscope.__all__"
    subprocess.run([sys.executable, "-c", code], check=True)
