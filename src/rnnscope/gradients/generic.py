"""Per-step gradients of any recurrent protocol model: autograd through its `step`.

The path for a model without the `TracedForward` capability (and, with `generic=True`, for any model, to
compare the two). The model is stepped under autograd; every layer's state parts at every step are
kept, and one backward pass of the summed loss gives ∂L/∂(each of them) and ∂L/∂x_t. Cost: about one
forward + backward of the unrolled model, with the whole graph in memory (B·T·D activations and more),
and Python work per step: a few times the traced path on the built-in cells.

What "∂L/∂h_t of layer l" means: the gradient reaching the very tensors `layer_states` returns.
- With the `LayeredStep` capability (`step_layer`; the built-in cells have it) each layer is stepped on
  its own, so layer l's new h is the tensor layer l + 1 reads at the same step: its gradient is the
  *total* one (through the recurrence and through the layers above), equal to the traced path.
- With `step` alone, a model whose state holds the tensors its step computed with (a list of per-layer
  dicts, say: the new h of layer l is the tensor layer l + 1 read, the new c the one h was made from)
  gets the total gradients too. A model whose `layer_states` gives views of a stacked state (PyTorch's
  hx layout) gets, for each part, only the gradient carried by the state into step t + 1 and the
  readout: it misses the paths inside the step (to the layers above, from c_t to h_t). The top
  layer's h and ∂L/∂x_t are total in every case.

Key: B = batch, T = time, C = input channels, H_l = hidden size of layer l, K = classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnscope.gradients.steps import StepGradients, eval_mode, sort_names
from rnnscope.models.protocol import LayeredStep, model_device, model_kind, supports

PARTS = ("h", "c")  # the state parts reported (grad_h, grad_c)


def generic_gradients(model, x: Tensor, y: Tensor, lengths: Tensor) -> StepGradients:
    """x (B, T, C), y (B,), lengths (B,) on the CPU (validated) -> StepGradients with grad_h/<l>,
    grad_c/<l> (models whose state has a "c" part) and grad_x; NaN past each sequence's end."""
    device, dtype = model_device(model)
    b, t_len = x.shape[:2]
    steps = int(lengths.max())
    last = (lengths - 1).to(device)
    layered = supports(model, LayeredStep)
    with eval_mode(model), torch.enable_grad():
        xin = x.detach().to(device=device, dtype=dtype).requires_grad_()
        state = model.init_state(b, device, dtype)
        sites, logits = [], None
        for t in range(steps):
            layers = (
                _layered(model, xin[:, t], state)
                if layered
                else [dict(parts) for parts in model.layer_states(model.step(xin[:, t], state))]
            )
            state = model.make_state(layers)
            sites.append(layers)
            ends = last == t
            if bool(ends.any()):
                out = model.readout(state)
                logits = torch.where(ends[:, None], out, out.new_zeros(()) if logits is None else logits)
        loss = F.cross_entropy(logits, y.to(device), reduction="none")
        names = [n for n in model.state_names if n in PARTS]
        flat = [layers[layer][n] for layers in sites for layer in range(len(layers)) for n in names]
        live = [v for v in flat if v.requires_grad]  # a constant part (e.g. a c that stays 0) has none
        got = iter(torch.autograd.grad(loss.sum(), [xin, *live], allow_unused=True))
        grads = [next(got), *(next(got) if v.requires_grad else None for v in flat)]
    valid = (torch.arange(t_len)[None, :] < lengths[:, None]).to(device)  # (B, T)
    arrays = {}
    it = iter(grads[1:])
    for t in range(steps):
        for layer, size in enumerate(model.layer_sizes):
            for n in names:
                key = f"grad_{n}/{layer}"
                if key not in arrays:
                    arrays[key] = torch.full((b, t_len, size), float("nan"), device=device, dtype=dtype)
                g = next(it)
                arrays[key][:, t] = 0.0 if g is None else g
    arrays["grad_x"] = grads[0].detach().clone()
    out = {name: arrays[name].masked_fill_(~valid[..., None], float("nan")) for name in sort_names(arrays)}
    return StepGradients(model_kind(model), out, lengths, loss.detach().cpu())


def _layered(model, x_t: Tensor, state) -> list[dict[str, Tensor]]:
    """One step, layer by layer through `step_layer` (each new h is what the layer above reads)."""
    layers, inp = [], x_t
    for layer, parts in enumerate(model.layer_states(state)):
        new = dict(model.step_layer(layer, inp, parts))
        layers.append(new)
        inp = new["h"]
    return layers
