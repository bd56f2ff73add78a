"""The naive reference of the built-in cells: unroll them step by step under autograd, with optional
perturbations of any state at any step (for finite differences).

Slow (one autograd node per step, layer and gate) but obviously right: every layer's h_t (and c_t) is a
separate tensor that feeds both the next step and the layer above. `gradients.reference` takes every
h_t's gradient from it; the traced path and the generic path are tested equal to it, and it to finite
differences.

Key: B = batch, T = time, C = input channels, H = hidden, L = layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnscope.models.cells import CELLS


def unrolled_loss(
    model,
    x: Tensor,
    y: Tensor,
    lengths: Tensor | None = None,
    perturb: dict | None = None,
    keep: list | None = None,
) -> Tensor:
    """Per-sequence loss (B,) of a `RecurrentClassifier`, stepping its cells one by one.

    perturb: {(t, layer, "h" | "c"): (B, H)} added to that state right after step t is computed (for
    finite differences). keep: if a list, every (t, layer, name, tensor) of the unroll is appended.
    A sequence's state stops changing after its length, as in `model.unroll`.
    """
    perturb = perturb or {}
    lengths = torch.full((x.shape[0],), x.shape[1]) if lengths is None else torch.as_tensor(lengths)
    lengths = lengths.to(x.device)
    b, t_len = x.shape[:2]
    lstm = "c" in model.state_names
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
