"""Per-step state Jacobians ∂s_t/∂s_{t-1} of each layer and the gate highways.

The Jacobian of one layer's step with its input at t held fixed, s = h (rnn, gru) or (h, c) stacked
(lstm, S = 2H), in float64. Two ways, tested equal: closed-form from the gates (default; fast), and
`torch.func.jacrev` of `rnnscope.models.cells` (the equations the model steps with) vectorised over
every (sequence, step) with `torch.func.vmap` (the reference; ~100x the arithmetic).
The pure analyses (norms, products, highway products) are in `rnnscope.analysis.gradients`.

Key: B = batch, T = time, H = hidden, S = state size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnnscope.gradients.capture import _lengths
from rnnscope.gradients.forward import layer_traces
from rnnscope.models.cells import CELLS

CHUNK_ENTRIES = 1 << 24  # Jacobian entries computed at once (float64: 128 MB)


def _layer_jacobians(kind: str, weights, inp: Tensor, prev: Tensor, cell_prev: Tensor | None) -> Tensor:
    """inp (N, C), prev (N, H), cell_prev (N, H) or None -> (N, S, S) float64."""
    cell = CELLS[kind]
    w = [p.detach().double() for p in weights]
    hsz = prev.shape[1]

    if kind == "lstm":
        def f(s, x):
            (h, c), _ = cell(x[None], (s[None, :hsz], s[None, hsz:]), *w)
            return torch.cat([h[0], c[0]])
        state = torch.cat([prev, cell_prev], dim=1).double()
    else:
        def f(s, x):
            return cell(x[None], s[None], *w)[0][0]
        state = prev.double()
    jac = torch.func.vmap(torch.func.jacrev(f))
    x = inp.double()
    size = state.shape[1]
    step = max(1, CHUNK_ENTRIES // (size * size))
    return torch.cat([jac(state[i: i + step], x[i: i + step]) for i in range(0, len(state), step)])


def _explicit_jacobians(tr, w_hh: Tensor) -> Tensor:
    """The same Jacobians from the trace's local derivatives: (T, B, S, S) float64.

    With q from `forward.LayerTrace` (rows of W_hh scaled per gate block, A = Σ_k diag(q_k) W_hk):
    rnn J = diag(1 - h²) W_hh; gru J = diag(z) + A over r, z, n; lstm, s = (h, c):
    J = [[diag(∂h/∂c) A_ifg + diag(q_o) W_ho, diag(∂h/∂c ⊙ f)], [A_ifg, diag(f)]].
    """
    hsz = w_hh.shape[1]
    w = w_hh.detach().double().view(-1, hsz, hsz)  # (G, H, H) per gate block
    q = tr.q.double().transpose(1, 2).unflatten(-1, (-1, hsz))  # (T, B, G, H)
    if tr.kind == "rnn":
        return q[..., 0, :, None] * w[0]
    if tr.kind == "gru":
        return torch.einsum("tbgh,ghk->tbhk", q, w) + torch.diag_embed(tr.carry.double().transpose(1, 2))
    a = torch.einsum("tbgh,ghk->tbhk", q[..., :3, :], w[:3])  # ∂c_t/∂h_{t-1}
    dh_dc, f = tr.dh_dc.double().transpose(1, 2), tr.carry.double().transpose(1, 2)
    top = torch.cat([dh_dc[..., None] * a + q[..., 3, :, None] * w[3], torch.diag_embed(dh_dc * f)], dim=-1)
    return torch.cat([top, torch.cat([a, torch.diag_embed(f)], dim=-1)], dim=-2)


@torch.no_grad()
def step_jacobians(model, x: Tensor, lengths: Tensor | None = None, *, method: str = "explicit") -> list[np.ndarray]:
    """Per layer, J[b, t] = ∂s_t/∂s_{t-1} (B, T, S, S) float64 for a `RecurrentClassifier`; NaN past each end.

    method "explicit" (closed form from the gates, fast) or "jacrev" (autograd of the cells, the
    reference). Memory is B·T·S² float64 per layer: use a small probe batch.
    """
    if method not in ("explicit", "jacrev"):
        raise ValueError(f"method must be explicit or jacrev, got {method!r}")
    lengths = _lengths(x, lengths)
    out = []
    for layer, tr in enumerate(layer_traces(model, x)):
        t_len, b = tr.out.shape[0], tr.out.shape[2]
        if method == "explicit":
            j = _explicit_jacobians(tr, model.layer_weights(layer)[1])
        else:
            def rows(v, n=t_len * b):  # (T, F, B) -> (T * B, F)
                return v.transpose(1, 2).reshape(n, -1)
            cp = rows(tr.cell_prev) if tr.cell_prev is not None else None
            with torch.enable_grad():
                j = _layer_jacobians(model.kind, model.layer_weights(layer), rows(tr.inp), rows(tr.prev), cp)
            j = j.view(t_len, b, *j.shape[1:])
        j = j.transpose(0, 1).cpu().numpy().copy()
        j[np.arange(t_len)[None, :] >= lengths.numpy()[:, None]] = np.nan
        out.append(j)
    return out


@torch.no_grad()
def carry_gates(model, x: Tensor, lengths: Tensor | None = None) -> list[np.ndarray]:
    """Per layer, the carry gate (B, T, H): lstm f_t, gru z_t (PyTorch's h' = (1 - z) n + z h); [] for rnn.

    NaN past each sequence's end. Feed to `rnnscope.analysis.gradients.gate_highway`.
    """
    if model.kind == "rnn":
        return []
    lengths = _lengths(x, lengths)
    out = []
    for tr in layer_traces(model, x):
        g = tr.carry.permute(2, 0, 1).double().cpu().numpy().copy()
        g[np.arange(g.shape[1])[None, :] >= lengths.numpy()[:, None]] = np.nan
        out.append(g)
    return out
