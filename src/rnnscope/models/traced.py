"""The traced forward of each built-in recurrent layer: what the backward recursion (`traced_backward.py`)
and the closed-form Jacobians (`jacobians.py`) need. `RecurrentClassifier.layer_traces` offers it (the
`TracedForward` capability of `protocol.py`); `gradients.capture` takes its fast path through it.

For every layer and step: the layer's input, h_t, h_{t-1}, the gate activations, and the local
derivatives that do not depend on the loss (`q`, `s`, `dh_dc` below). Two ways to get them, equal up to
rounding (tested):

- "stepped" (CPU default): one loop over time doing the cell equations and the local derivatives per
  step, while the step's tensors are in cache. No second pass over memory.
- "fused" (GPU default): each layer through the fused kernel (cuDNN on GPU), then gates and local
  derivatives for all steps at once from h_{t-1} and the layer's input (batched matrix products);
  only the LSTM cell state is an elementwise loop over time. Few kernel launches.

The equations are those of `rnnscope.models.cells` (PyTorch gate order: lstm i, f, g, o; gru r, z, n;
gru h' = (1 - z) n + z h). Layout: time-major and *feature-major*, (T, F, B): a step is W @ h with h
(H, B), so every gate of a step is a contiguous (H, B) block (elementwise work on strided gate slices
of a (B, G*H) row-major tensor is an order of magnitude slower on CPU).

Key: T = time, B = batch, C = layer input size, H = hidden size, G = gates (1 rnn, 4 lstm, 3 gru).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import _VF, Tensor

from rnnscope.errors import BadArgument

METHODS = ("auto", "stepped", "fused")


@dataclass
class LayerTrace:
    """One layer's forward pass over a batch, all (T, F, B).

    inp (T, C, B): the layer's input (x for layer 0, the layer below's h otherwise).
    out (T, H, B): h_t.  prev (T, H, B): h_{t-1} (the zero initial state at t = 0).
    act (T, G*H, B): gate activations in PyTorch's order (None for rnn); `gates` gives them by name.
    q (T, G*H, B): local derivatives. δ_t = ∂L/∂(pre-activations at t) for the recurrent weights is
        rnn: q ⊙ dh;  lstm: q ⊙ [dc, dc, dc, dh] (i, f, g, o blocks);  gru: q ⊙ [dh, dh, dh] (the n block
        already carries the reset gate, r ⊙ ∂L/∂n_pre), with dh = ∂L/∂h_t and dc = ∂L/∂c_t.
    s (T, H, B): gru only, (1 - z)(1 - n²) = ∂h_t/∂(n pre-activation), for the input weights' n block.
    cell, cell_prev, dh_dc (T, H, B): lstm only, c_t, c_{t-1} and ∂h_t/∂c_t = o (1 - tanh² c_t).
    """

    kind: str
    inp: Tensor
    out: Tensor
    prev: Tensor
    q: Tensor
    act: Tensor | None = None
    s: Tensor | None = None
    cell: Tensor | None = None
    cell_prev: Tensor | None = None
    dh_dc: Tensor | None = None
    weights: tuple = ()  # the layer's (w_ih, w_hh, b_ih, b_hh): the model's own tensors

    @property
    def gates(self) -> dict[str, Tensor]:
        """{gate name: (T, H, B)} views of `act` (empty for rnn)."""
        if self.act is None:
            return {}
        names = "ifgo" if self.kind == "lstm" else "rzn"
        return dict(zip(names, self.act.chunk(len(names), dim=1)))

    @property
    def carry(self) -> Tensor | None:
        """The gate that carries the state from t-1 to t: lstm f_t (on c), gru z_t (on h); None for rnn."""
        g = self.gates
        return g.get("f", g.get("z"))


def fused_layer(kind: str, inp: Tensor, weights, h0: Tensor, c0: Tensor | None = None) -> Tensor:
    """One layer of the fused kernel (no dropout): inp (T, B, C), h0 (B, H) -> out (T, B, H)."""
    params = list(weights)
    hx = h0.unsqueeze(0)
    with warnings.catch_warnings():  # cuDNN warns that one layer's weights are not one flat buffer
        warnings.simplefilter("ignore", UserWarning)
        if kind == "rnn":
            return _VF.rnn_tanh(inp, hx, params, True, 1, 0.0, False, False, False)[0]
        if kind == "gru":
            return _VF.gru(inp, hx, params, True, 1, 0.0, False, False, False)[0]
        return _VF.lstm(inp, (hx, c0.unsqueeze(0)), params, True, 1, 0.0, False, False, False)[0]


def _with_initial(like: Tensor, t_len: int, size: int, init: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """A (T + 1, size, B) buffer whose step 0 is the initial state (zero, or init (size, B)) -> (steps 1..,
    steps ..T-1) views: what step t writes (out[t]) and what step t + 1 reads (prev[t + 1]) are the same
    memory."""
    buf = like.new_empty(t_len + 1, size, like.shape[-1])
    if init is None:
        buf[0].zero_()
    else:
        buf[0].copy_(init)
    return buf[1:], buf[:-1]


@torch.no_grad()
def layer_traces(model, x: Tensor, method: str = "auto") -> list[LayerTrace]:
    """Forward pass of a `RecurrentClassifier` layer by layer: x (B, T, C) -> one LayerTrace per layer.

    The whole padded length is run; steps past a sequence's end never reach its readout, so they change
    no gradient (see gradients/capture.py). Dropout is off, as in `model.step`. method: see the module
    docstring.
    """
    if method not in METHODS:
        raise BadArgument(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    w0 = model.layer_weights(0)[0]
    if method == "auto":
        method = "fused" if w0.device.type == "cuda" else "stepped"
    inp = x.to(device=w0.device, dtype=w0.dtype).permute(1, 2, 0).contiguous()  # (T, C, B)
    build = (_STEPPED if method == "stepped" else _FUSED)[model.kind]
    traces = []
    for layer in range(model.num_layers):
        weights = model.layer_weights(layer)
        tr = build(inp, *weights)
        tr.weights = weights
        traces.append(tr)
        inp = tr.out
    return traces


@torch.no_grad()
def step_traces(model, x_t: Tensor, state) -> list[LayerTrace]:
    """One step of a `RecurrentClassifier` from `state`, traced layer by layer (T = 1): x_t (B, C) -> one
    LayerTrace per layer (the stepped way, started from the given state instead of zeros)."""
    w0 = model.layer_weights(0)[0]
    inp = x_t.to(device=w0.device, dtype=w0.dtype).t()[None].contiguous()  # (1, C, B)
    traces = []
    for layer, parts in enumerate(model.layer_states(state)):
        weights = model.layer_weights(layer)
        init = {f"{k}0": v.to(w0.dtype).t() for k, v in parts.items()}
        tr = _STEPPED[model.kind](inp, *weights, **init)
        tr.weights = weights
        traces.append(tr)
        inp = tr.out
    return traces


def batched_mm(w: Tensor, v: Tensor, out: Tensor | None = None) -> Tensor:
    """w @ v_t for every step: w (F, C), v (T, C, B) -> (T, F, B). (`torch.matmul` would first copy w
    T times; bmm reads the stride-0 expansion directly.)"""
    return torch.bmm(w.expand(v.shape[0], *w.shape), v, out=out)


def _project(w: Tensor, b: Tensor | None, inp: Tensor, out: Tensor | None = None) -> Tensor:
    """W @ inp_t + b for every step at once: w (G*H, C), inp (T, C, B) -> (T, G*H, B)."""
    out = batched_mm(w, inp, out)
    return out if b is None else out.add_(b[:, None])


# ---- local derivatives, written once for one step (F, B) or all steps (T, F, B) --------------------
def _sig_slope(a: Tensor) -> Tensor:
    return torch.addcmul(a, a, a, value=-1.0)  # σ' = σ (1 - σ)


def _tanh_slope(a: Tensor) -> Tensor:
    return torch.addcmul(a.new_ones(()), a, a, value=-1.0)  # tanh' = 1 - tanh²


def _lstm_act(act: Tensor) -> None:
    """Pre-activations -> activations in place: i, f, o sigmoid, g tanh."""
    h = act.shape[-2] // 4
    act.narrow(-2, 0, 2 * h).sigmoid_()
    act.narrow(-2, 2 * h, h).tanh_()
    act.narrow(-2, 3 * h, h).sigmoid_()


def _lstm_local(act: Tensor, ig: Tensor, cf: Tensor, tc: Tensor, h: Tensor, q: Tensor, dh_dc: Tensor) -> None:
    """From the gates, ig = i g, cf = f c_{t-1}, tc = tanh c_t and h_t = o tc: one fused op per block."""
    i, f, g, o = act.chunk(4, dim=-2)
    qi, qf, qg, qo = q.chunk(4, dim=-2)
    torch.addcmul(ig, ig, i, value=-1.0, out=qi)  # ∂c/∂i_pre = g σ'(i) = ig (1 - i)
    torch.addcmul(cf, cf, f, value=-1.0, out=qf)  # ∂c/∂f_pre = c_{t-1} σ'(f) = cf (1 - f)
    torch.addcmul(i, ig, g, value=-1.0, out=qg)  # ∂c/∂g_pre = i tanh'(g) = i - ig g
    torch.addcmul(h, h, o, value=-1.0, out=qo)  # ∂h/∂o_pre = tanh(c) σ'(o) = h (1 - o)
    torch.addcmul(o, h, tc, value=-1.0, out=dh_dc)  # ∂h/∂c = o tanh'(c) = o - h tc


def _gru_act(gi: Tensor, gh: Tensor, act: Tensor) -> None:
    """Input and hidden pre-activations (3H, ·) -> act [r, z, n]."""
    h = act.shape[-2] // 3
    rz = act.narrow(-2, 0, 2 * h)
    torch.add(gi.narrow(-2, 0, 2 * h), gh.narrow(-2, 0, 2 * h), out=rz).sigmoid_()
    torch.addcmul(
        gi.narrow(-2, 2 * h, h), rz.narrow(-2, 0, h), gh.narrow(-2, 2 * h, h), out=act.narrow(-2, 2 * h, h)
    ).tanh_()


def _gru_local(act: Tensor, hn: Tensor, prev: Tensor, q: Tensor, s: Tensor) -> None:
    r, z, n = act.chunk(3, dim=-2)
    qr, qz, qn = q.chunk(3, dim=-2)
    slope_n = _tanh_slope(n)
    torch.addcmul(slope_n, slope_n, z, value=-1.0, out=s)  # (1 - z)(1 - n²)
    torch.mul(s, r, out=qn)  # r ⊙ ∂h/∂n_pre: the path through W_hn h
    torch.mul(qn, hn, out=qr).addcmul_(qr, r, value=-1.0)  # ∂h/∂n_pre ⊙ hn ⊙ r (1 - r)
    torch.sub(prev, n, out=qz).mul_(_sig_slope(z))  # (h_{t-1} - n) z (1 - z)


# ---- the two ways, per kind ---------------------------------------------------------------------------
def _fused_out(kind: str, inp: Tensor, weights, hsz: int) -> tuple[Tensor, Tensor]:
    """The fused kernel on a (T, C, B) input -> out, prev (T, H, B)."""
    t_len, _, b = inp.shape
    h0 = inp.new_zeros(b, hsz)
    out = fused_layer(kind, inp.permute(0, 2, 1).contiguous(), weights, h0, h0 if kind == "lstm" else None)
    out_buf, prev = _with_initial(inp, t_len, hsz)
    out_buf.copy_(out.permute(0, 2, 1))
    return out_buf, prev


def _rnn_fused(inp, w_ih, w_hh, b_ih, b_hh) -> LayerTrace:
    out, prev = _fused_out("rnn", inp, (w_ih, w_hh, b_ih, b_hh), w_hh.shape[1])
    return LayerTrace("rnn", inp, out, prev, q=_tanh_slope(out))


def _rnn_stepped(inp, w_ih, w_hh, b_ih, b_hh, h0=None) -> LayerTrace:
    t_len = inp.shape[0]
    out, prev = _with_initial(inp, t_len, w_hh.shape[1], h0)
    _project(w_ih, b_ih + b_hh, inp, out)  # the input part, in place; each step adds W_hh h_{t-1}
    for t in range(t_len):
        out[t].addmm_(w_hh, prev[t]).tanh_()
    return LayerTrace("rnn", inp, out, prev, q=_tanh_slope(out))


def _lstm_fused(inp, w_ih, w_hh, b_ih, b_hh) -> LayerTrace:
    t_len = inp.shape[0]
    hsz = w_hh.shape[1]
    out, prev = _fused_out("lstm", inp, (w_ih, w_hh, b_ih, b_hh), hsz)
    act = _project(w_ih, b_ih + b_hh, inp).add_(batched_mm(w_hh, prev))
    _lstm_act(act)
    i, f, g, _ = act.chunk(4, dim=1)
    ig = i * g
    cell, cell_prev = _with_initial(inp, t_len, hsz)
    for t in range(t_len):  # elementwise: c_t = f_t c_{t-1} + i_t g_t
        torch.addcmul(ig[t], f[t], cell_prev[t], out=cell[t])
    q, dh_dc = torch.empty_like(act), torch.empty_like(out)
    _lstm_local(act, ig, f * cell_prev, torch.tanh(cell), out, q, dh_dc)
    return LayerTrace("lstm", inp, out, prev, q, act, cell=cell, cell_prev=cell_prev, dh_dc=dh_dc)


def _lstm_stepped(inp, w_ih, w_hh, b_ih, b_hh, h0=None, c0=None) -> LayerTrace:
    t_len = inp.shape[0]
    hsz = w_hh.shape[1]
    act = _project(w_ih, b_ih + b_hh, inp)  # the input part, in place; each step adds W_hh h_{t-1}
    q = torch.empty_like(act)
    out, prev = _with_initial(inp, t_len, hsz, h0)
    cell, cell_prev = _with_initial(inp, t_len, hsz, c0)
    dh_dc = torch.empty_like(out)
    for t in range(t_len):
        a = act[t].addmm_(w_hh, prev[t])
        _lstm_act(a)
        i, f, g, o = a.chunk(4, dim=0)
        ig, cf = i * g, f * cell_prev[t]
        tc = torch.tanh(torch.add(ig, cf, out=cell[t]))
        h = torch.mul(o, tc, out=out[t])
        _lstm_local(a, ig, cf, tc, h, q[t], dh_dc[t])
    return LayerTrace("lstm", inp, out, prev, q, act, cell=cell, cell_prev=cell_prev, dh_dc=dh_dc)


def _gru_fused(inp, w_ih, w_hh, b_ih, b_hh) -> LayerTrace:
    hsz = w_hh.shape[1]
    out, prev = _fused_out("gru", inp, (w_ih, w_hh, b_ih, b_hh), hsz)
    gi, gh = _project(w_ih, b_ih, inp), _project(w_hh, b_hh, prev)
    act, q, s = torch.empty_like(gi), torch.empty_like(gi), torch.empty_like(out)
    _gru_act(gi, gh, act)
    _gru_local(act, gh.narrow(1, 2 * hsz, hsz), prev, q, s)
    return LayerTrace("gru", inp, out, prev, q, act, s=s)


def _gru_stepped(inp, w_ih, w_hh, b_ih, b_hh, h0=None) -> LayerTrace:
    t_len = inp.shape[0]
    hsz = w_hh.shape[1]
    gi = _project(w_ih, b_ih, inp)
    act, q = torch.empty_like(gi), torch.empty_like(gi)
    out, prev = _with_initial(inp, t_len, hsz, h0)
    s = torch.empty_like(out)
    bias = b_hh[:, None]
    for t in range(t_len):
        h = prev[t]
        gh = torch.addmm(bias, w_hh, h)
        _gru_act(gi[t], gh, act[t])
        z, n = act[t, hsz : 2 * hsz], act[t, 2 * hsz :]
        torch.addcmul(n, z, h - n, out=out[t])  # (1 - z) n + z h
        _gru_local(act[t], gh[2 * hsz :], h, q[t], s[t])
    return LayerTrace("gru", inp, out, prev, q, act, s=s)


_STEPPED = {"rnn": _rnn_stepped, "lstm": _lstm_stepped, "gru": _gru_stepped}
_FUSED = {"rnn": _rnn_fused, "lstm": _lstm_fused, "gru": _gru_fused}
