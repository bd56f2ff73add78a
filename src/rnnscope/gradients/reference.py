"""The naive reference: unroll the built-in cells step by step under autograd (`models.unrolled`) and
keep every h_t's gradient.

Slow (one autograd node per step, layer and gate) but obviously right: every layer's h_t (and c_t) is a
separate tensor that feeds both the next step and the layer above, and autograd returns its total
gradient. `capture.step_gradients` is tested equal to it, and it to finite differences.

Key: B = batch, T = time, C = input channels, H = hidden, L = layers.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnscope.gradients.steps import StepGradients, check_lengths
from rnnscope.models.protocol import model_kind
from rnnscope.models.unrolled import unrolled_loss

__all__ = ["unrolled_gradients", "unrolled_loss"]


def unrolled_gradients(model, x: Tensor, y: Tensor, lengths: Tensor | None = None) -> StepGradients:
    """The same result as `step_gradients` (recurrent models), by autograd on the unrolled cells."""
    lengths = check_lengths(x, lengths)
    with torch.enable_grad():
        xin = x.detach().clone().requires_grad_()
        keep: list = []
        loss = unrolled_loss(model, xin, y, lengths, keep=keep)
        for *_, v in keep:
            v.retain_grad()
        loss.sum().backward(inputs=[xin] + [v for *_, v in keep])
    b, t_len = x.shape[:2]
    arrays = {}
    for t, layer, name, v in keep:
        key = f"grad_{name}/{layer}"
        if key not in arrays:
            arrays[key] = torch.full((b, t_len, model.layer_sizes[layer]), float("nan"), dtype=x.dtype)
        arrays[key][:, t] = v.grad.detach()
    arrays["grad_x"] = xin.grad.detach().clone()
    valid = torch.arange(t_len)[None, :] < lengths[:, None]
    for v in arrays.values():
        v.masked_fill_(~valid[..., None], float("nan"))
    return StepGradients(model_kind(model), arrays, lengths, loss.detach())
