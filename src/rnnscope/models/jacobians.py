"""Closed-form Jacobians of the built-in cells' step, from a traced forward's local derivatives.

With q from `traced.LayerTrace` (rows of a weight matrix scaled per gate block, A = Σ_k diag(q_k) W_k):
  state Jacobian ∂s_t/∂s_{t-1} of one layer with its input held fixed (s = h; lstm s = (h, c), S = 2H):
    rnn J = diag(1 - h²) W_hh; gru J = diag(z) + A_hh over r, z, n;
    lstm J = [[diag(∂h/∂c) A_ifg + diag(q_o) W_ho, diag(∂h/∂c ⊙ f)], [A_ifg, diag(f)]].
  input Jacobian ∂s_t/∂(layer input at t): the same with W_ih, except the gru's n block, which takes
    s = (1 - z)(1 - n²) (the reset gate multiplies only W_hn h), and no c column for the lstm.
The whole stacked state's Jacobian (`stacked_jacobian`, what `RecurrentClassifier.step_jacobian` returns)
is block lower-triangular: layer l's row is its own state Jacobian on the diagonal plus its input
Jacobian times the h rows of layer l - 1's row. Everything is float64. Tests hold it equal to
`torch.func.jacrev` through `step`.

Key: T = time, B = batch, H = hidden size, C = layer input size, S = layer state size, D = Σ_l S_l.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnscope.models.traced import LayerTrace, step_traces


def _blocks(tr: LayerTrace, w: Tensor) -> tuple[Tensor, Tensor]:
    """(q (T, B, G, H), w (G, H, K)) float64 for a weight matrix w (G*H, K)."""
    hsz = tr.out.shape[1]
    return (
        tr.q.double().transpose(1, 2).unflatten(-1, (-1, hsz)),
        w.detach().double().view(-1, hsz, w.shape[1]),
    )


def trace_jacobian(tr: LayerTrace) -> Tensor:
    """Per step, one layer's ∂s_t/∂s_{t-1} with its input held fixed: (T, B, S, S) float64."""
    q, w = _blocks(tr, tr.weights[1])
    if tr.kind == "rnn":
        return q[..., 0, :, None] * w[0]
    if tr.kind == "gru":
        return torch.einsum("tbgh,ghk->tbhk", q, w) + torch.diag_embed(tr.carry.double().transpose(1, 2))
    a = torch.einsum("tbgh,ghk->tbhk", q[..., :3, :], w[:3])  # ∂c_t/∂h_{t-1}
    dh_dc, f = tr.dh_dc.double().transpose(1, 2), tr.carry.double().transpose(1, 2)
    top = torch.cat([dh_dc[..., None] * a + q[..., 3, :, None] * w[3], torch.diag_embed(dh_dc * f)], dim=-1)
    return torch.cat([top, torch.cat([a, torch.diag_embed(f)], dim=-1)], dim=-2)


def input_jacobian(tr: LayerTrace) -> Tensor:
    """Per step, one layer's ∂s_t/∂(its input at t): (T, B, S, C) float64."""
    q, w = _blocks(tr, tr.weights[0])
    if tr.kind == "rnn":
        return q[..., 0, :, None] * w[0]
    if tr.kind == "gru":
        q = torch.cat([q[..., :2, :], tr.s.double().transpose(1, 2)[..., None, :]], dim=-2)
        return torch.einsum("tbgh,ghk->tbhk", q, w)
    a = torch.einsum("tbgh,ghk->tbhk", q[..., :3, :], w[:3])
    dh_dc = tr.dh_dc.double().transpose(1, 2)
    return torch.cat([dh_dc[..., None] * a + q[..., 3, :, None] * w[3], a], dim=-2)


def stacked_jacobian(traces: list[LayerTrace]) -> Tensor:
    """∂ state_vector(s_t) / ∂ state_vector(s_{t-1}) (B, D, D) float64 from one-step traces (T = 1) of
    every layer, state vector layout h_0 (c_0), h_1 (c_1), ..."""
    if len(traces) == 1:  # one layer: its own state Jacobian is the whole one
        return trace_jacobian(traces[0])[0]
    sizes = [tr.out.shape[1] * (2 if tr.cell is not None else 1) for tr in traces]
    b, d = traces[0].out.shape[2], sum(sizes)
    rows, off = [], 0
    for layer, (tr, size) in enumerate(zip(traces, sizes)):
        row = tr.out.new_zeros((b, size, d), dtype=torch.float64)
        row[:, :, off : off + size] = trace_jacobian(tr)[0]
        if layer:
            h_prev = traces[layer - 1].out.shape[1]
            row += input_jacobian(tr)[0] @ rows[-1][:, :h_prev]
        rows.append(row)
        off += size
    return torch.cat(rows, dim=1)


def traced_step_jacobian(model, x_t: Tensor, state) -> tuple[object, Tensor]:
    """One step of a built-in-kernel model and its stacked Jacobian from the same traced forward:
    x_t (B, C), state -> (new state in the model's layout, (B, D, D) float64)."""
    traces = step_traces(model, x_t, state)
    layers = [
        {"h": tr.out[0].t()} if tr.cell is None else {"h": tr.out[0].t(), "c": tr.cell[0].t()}
        for tr in traces
    ]
    return model.make_state(layers), stacked_jacobian(traces)
