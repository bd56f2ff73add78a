"""Backward through time on a traced forward (`traced.LayerTrace`): the built-in cells' exact per-step
gradients, one small matrix product per step and layer (docs/gradients.md has the derivation).

Each function takes one layer's trace; `backward` also takes G (T, H, B), the gradient arriving at each
h_t from above (the readout, or the layer above at the same step), which it overwrites: it becomes
∂L/∂h_t. δ_t = ∂L/∂(pre-activations at t) follows elementwise from ∂L/∂h_t (and ∂L/∂c_t), see
`LayerTrace.q`.

Key: T = time, B = batch, C = layer input size, H = hidden size, G = gates (1 rnn, 4 lstm, 3 gru).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnscope.models.traced import LayerTrace, batched_mm


def backward(tr: LayerTrace, above: Tensor) -> tuple[Tensor, Tensor | None, Tensor]:
    """above (T, H, B) -> (dh (T, H, B), dc (T, H, B) for the lstm else None, δ (T, G*H, B))."""
    return _BACKWARD[tr.kind](tr, above, tr.weights[1].t().contiguous())


def _rnn_backward(tr: LayerTrace, dh: Tensor, w_hh_t: Tensor):
    delta = torch.empty_like(dh)
    for t in reversed(range(dh.shape[0])):
        if t + 1 < dh.shape[0]:
            dh[t].addmm_(w_hh_t, delta[t + 1])
        torch.mul(dh[t], tr.q[t], out=delta[t])
    return dh, None, delta


def _lstm_backward(tr: LayerTrace, dh: Tensor, w_hh_t: Tensor):
    f = tr.carry
    t_len, h, b = dh.shape
    dc = torch.empty_like(dh)
    delta = torch.empty_like(tr.q)
    for t in reversed(range(t_len)):
        if t + 1 < t_len:
            dh[t].addmm_(w_hh_t, delta[t + 1])
        torch.mul(dh[t], tr.dh_dc[t], out=dc[t])
        if t + 1 < t_len:
            dc[t].addcmul_(dc[t + 1], f[t + 1])
        d, qt = delta[t].view(4, h, b), tr.q[t].view(4, h, b)
        torch.mul(qt[:3], dc[t], out=d[:3])
        torch.mul(qt[3], dh[t], out=d[3])
    return dh, dc, delta


def _gru_backward(tr: LayerTrace, dh: Tensor, w_hh_t: Tensor):
    z = tr.carry
    t_len, h, b = dh.shape
    delta = torch.empty_like(tr.q)
    for t in reversed(range(t_len)):
        if t + 1 < t_len:
            dh[t].addcmul_(z[t + 1], dh[t + 1]).addmm_(w_hh_t, delta[t + 1])
        torch.mul(tr.q[t].view(3, h, b), dh[t], out=delta[t].view(3, h, b))
    return dh, None, delta


_BACKWARD = {"rnn": _rnn_backward, "lstm": _lstm_backward, "gru": _gru_backward}


def below(tr: LayerTrace, dh: Tensor, delta: Tensor) -> Tensor:
    """Gradient at the layer's input, all steps at once: W_ihᵀ δ_ih -> (T, C, B).

    For the gru the input weights' n block gets ∂L/∂n_pre = dh ⊙ s (no reset gate), not δ's r ⊙ ∂L/∂n_pre.
    """
    w_ih = tr.weights[0]
    if tr.kind != "gru":
        return batched_mm(w_ih.t(), delta)
    h = dh.shape[1]
    out = batched_mm(w_ih[: 2 * h].t(), delta[:, : 2 * h])
    return out.add_(batched_mm(w_ih[2 * h :].t(), dh * tr.s))


def input_delta(tr: LayerTrace, dh: Tensor, delta: Tensor) -> Tensor:
    """δ for the input weights (T, G*H, B): δ itself, except the gru's n block (see `below`)."""
    if tr.kind != "gru":
        return delta
    d = delta.clone()
    h = dh.shape[1]
    torch.mul(dh, tr.s, out=d[:, 2 * h :])
    return d
