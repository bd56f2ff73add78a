"""The autonomous map of a stacked tanh RNN on its state vector, with its Jacobian, in a few fused ops.

Under a constant input u the whole stacked state x = (h_0, h_1, ..., h_{L-1}) (`protocol.state_vector`
layout) maps to F(x), layer by layer within one step:
    h_0' = tanh(W_hh,0 h_0 + (W_ih,0 u + b_0)),   h_l' = tanh(W_hh,l h_l + W_ih,l h_{l-1}' + b_l)
with b_l = b_ih,l + b_hh,l, and its Jacobian is block lower-triangular:
    ∂h_l'/∂h_l = diag(s_l) W_hh,l,   ∂h_l'/∂h_k = diag(s_l) W_ih,l ∂h_{l-1}'/∂h_k (k < l),   s_l = 1 - h_l'².
The input drive W_ih,0 u + b_0 is computed once per map. This is what a fixed-point search evaluates at
every iteration (`dynamics.system.StepMap`): batch-major ops on (N, D) with no state-layout conversion
and no traced buffers: 16 µs against the traced step's 95 µs (`jacobians.traced_step_jacobian`, through
`StepMap`) per call at 10 points, D = 16 (docs/performance.md). Tests hold it equal to `step` and to
`torch.func.jacrev` through `step`.

Key: N = points, D = Σ_l H_l, C = input channels, H_l = hidden size of layer l.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Weights = tuple[Tensor, Tensor, Tensor, Tensor]  # w_ih (H, C_l), w_hh (H, H), b_ih (H,), b_hh (H,)


def rnn_autonomous_map(weights: list[Weights], u: Tensor) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """x (N, D) -> (F(x) (N, D), ∂F/∂x (N, D, D)) for tanh RNN layers `weights` (bottom first) under the
    constant input u (C,), in the weights' dtype and device."""
    ws = [tuple(w.detach() for w in layer) for layer in weights]
    sizes = [w_hh.shape[0] for _, w_hh, _, _ in ws]
    w_ih0, _, b_ih0, b_hh0 = ws[0]
    # the constant part of each layer's pre-activation: the input drive W_ih,0 u + b_0, then b_l
    biases = [torch.addmv(b_ih0 + b_hh0, w_ih0, u.to(w_ih0))] + [b_ih + b_hh for _, _, b_ih, b_hh in ws[1:]]

    def one(x: Tensor) -> tuple[Tensor, Tensor]:
        if len(ws) == 1:  # the common case, without the zero-filled block matrix
            h = torch.addmm(biases[0], x, ws[0][1].T).tanh_()
            return h, torch.addcmul(h.new_ones(()), h, h, value=-1.0)[:, :, None] * ws[0][1]
        n, d = x.shape[0], sum(sizes)
        jac = x.new_zeros(n, d, d)
        outs, off = [], 0
        for layer, (h_in, (w_ih, w_hh, _, _)) in enumerate(zip(x.split(sizes, dim=1), ws)):
            size = sizes[layer]
            h = torch.addmm(biases[layer], h_in, w_hh.T)
            if layer:
                h.addmm_(outs[-1], w_ih.T)
            s = torch.addcmul(h.tanh_().new_ones(()), h, h, value=-1.0)[:, :, None]  # (N, H_l, 1)
            rows = jac[:, off : off + size]
            rows[:, :, off : off + size] = s * w_hh
            if layer:  # through the layer below's new h: its rows, every column before this layer's
                below = jac[:, off - sizes[layer - 1] : off, :off]
                rows[:, :, :off] = (s * w_ih) @ below
            outs.append(h)
            off += size
        return torch.cat(outs, dim=1), jac

    return one
