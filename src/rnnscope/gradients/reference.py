"""The naive reference: unroll the cells step by step under autograd and keep every h_t's gradient.

Slow (one autograd node per step, layer and gate) but obviously right: every layer's h_t (and c_t) is a
separate tensor that feeds both the next step and the layer above, and autograd returns its total
gradient. `capture.step_gradients` is tested equal to it, and it to finite differences.

Key: B = batch, T = time, C = input channels, H = hidden, L = layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnscope.gradients.capture import StepGradients, _lengths
from rnnscope.models.cells import CELLS


def unrolled_loss(model, x: Tensor, y: Tensor, lengths: Tensor | None = None, perturb: dict | None = None,
                  keep: list | None = None) -> Tensor:
    """Per-sequence loss (B,) of a `RecurrentClassifier`, stepping its cells one by one.

    perturb: {(t, layer, "h" | "c"): (B, H)} added to that state right after step t is computed (for
    finite differences). keep: if a list, every (t, layer, name, tensor) of the unroll is appended.
    A sequence's state stops changing after its length, as in `model.unroll`.
    """
    perturb = perturb or {}
    lengths = _lengths(x, lengths).to(x.device)
    b, t_len = x.shape[:2]
    lstm = model.kind == "lstm"
    h = [x.new_zeros(b, model.hidden_size) for _ in range(model.num_layers)]
    c = [torch.zeros_like(v) for v in h]
    cell = CELLS[model.kind]
    for t in range(t_len):
        live = (t < lengths)[:, None]
        inp = x[:, t]
        for layer in range(model.num_layers):
            new, gates = cell(inp, (h[layer], c[layer]) if lstm else h[layer], *model.layer_weights(layer))
            new_h, new_c = new if lstm else (new, None)
            if lstm:  # c_t feeds h_t = o_t tanh(c_t): recompute h from the (perturbed) c, as the cell does
                new_c = new_c + perturb.get((t, layer, "c"), 0.0)
                new_h = gates["o"] * torch.tanh(new_c)
            new_h = new_h + perturb.get((t, layer, "h"), 0.0)
            if keep is not None:
                keep.append((t, layer, "h", new_h))
                if lstm:
                    keep.append((t, layer, "c", new_c))
            h[layer] = torch.where(live, new_h, h[layer])
            if lstm:
                c[layer] = torch.where(live, new_c, c[layer])
            inp = new_h
    state = torch.stack(h)
    if lstm:
        state = (state, torch.stack(c))
    return F.cross_entropy(model.readout(state), y, reduction="none")


def unrolled_gradients(model, x: Tensor, y: Tensor, lengths: Tensor | None = None) -> StepGradients:
    """The same result as `step_gradients` (recurrent models), by autograd on the unrolled cells."""
    lengths = _lengths(x, lengths)
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
            arrays[key] = torch.full((b, t_len, model.hidden_size), float("nan"), dtype=x.dtype)
        arrays[key][:, t] = v.grad.detach()
    arrays["grad_x"] = xin.grad.detach().clone()
    valid = torch.arange(t_len)[None, :] < lengths[:, None]
    for v in arrays.values():
        v.masked_fill_(~valid[..., None], float("nan"))
    return StepGradients(model.kind, arrays, lengths, loss.detach())
