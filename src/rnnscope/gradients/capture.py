"""Exact total per-step gradients ∂L/∂h_t of every layer, at the cost of about one forward+backward.

L = Σ_b CE(logits_b, y_b), the summed loss, so each sequence's gradients are its own (independent of
the batch size). "Total" means through the recurrence *and* through the layers above. Method
(docs/gradients.md has the derivation):

1. Forward: each layer through the fused kernel, gates recomputed for all steps at once (the model's
   `layer_traces`, `rnnscope.models.traced`).
2. Readout: g = ∂L/∂h^top at each sequence's last step (autograd on the head only).
3. Backward through time, top layer first, one small matrix product per step and layer:
       ∂L/∂h_t = G_t + W_hhᵀ δ_{t+1}        (rnn, lstm; gru adds z_{t+1} ⊙ ∂L/∂h_{t+1})
   where G_t is the gradient arriving from above (the readout, or W_ihᵀ δ of the layer above at the same
   step) and δ_t = ∂L/∂(pre-activations at t) follows elementwise from ∂L/∂h_t (and ∂L/∂c_t). Then
   G for the layer below is δ W_ih for all steps at once, and for layer 0 that is the input saliency.
   (`rnnscope.models.traced_backward`.)

That is the fast path, for a model with the `TracedForward` capability (the built-in cells). Any other
recurrent protocol model goes through `generic.py` (autograd through its `step`; equal on the built-in
cells, tested); a model with `ResidualStreams` (the Transformer) through autograd on its streams.

Steps past a sequence's end never reach its readout: their gradient is exactly zero, and it is reported
as NaN (so a mean over the batch only counts sequences that are still running at that step).

Key: B = batch, T = time, C = input channels, H = hidden, L = layers, N = Transformer blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnscope.errors import BadArgument
from rnnscope.gradients.generic import generic_gradients
from rnnscope.gradients.steps import StepGradients, check_lengths, eval_mode, sort_names
from rnnscope.models.protocol import (
    ResidualStreams,
    TracedForward,
    has_readout,
    is_recurrent,
    model_device,
    model_kind,
    supports,
)
from rnnscope.models.traced_backward import backward, below, input_delta


def step_gradients(
    model,
    x: Tensor,
    y: Tensor,
    lengths: Tensor | None = None,
    *,
    learning: bool = False,
    method: str = "auto",
    generic: bool = False,
) -> StepGradients:
    """Exact total per-step gradients for x (B, T, C), labels y (B,), lengths (B,) or None.

    Works for any recurrent protocol model (fast path with `TracedForward`, otherwise autograd through
    `step`, see generic.py) and for a `ResidualStreams` model (the Transformer). Nothing about the model
    changes: no parameter .grad, no hook, no mode change is left behind; no RNG is used.
    learning=True adds the per-step weight-update norms (needs `TracedForward`). method: how the traced
    forward is run (`models.traced.layer_traces`): "auto", "stepped" or "fused"; the result is the same.
    generic=True takes the generic path even where the fast one exists (to compare them).
    """
    if x.ndim != 3:
        raise BadArgument(f"x must have shape (batch, time, channels), got {tuple(x.shape)}")
    lengths = check_lengths(x, lengths)
    if not has_readout(model):
        raise BadArgument(f"{type(model).__name__} has no readout: per-step gradients are of its loss")
    if not is_recurrent(model):
        if supports(model, ResidualStreams):
            return _transformer_gradients(model, x, y, lengths)
        raise TypeError(
            f"{type(model).__name__} has neither a recurrent state (RecurrentModel) nor residual "
            "streams (ResidualStreams); per-step gradients need one (docs/models.md)"
        )
    fast = supports(model, TracedForward) and not generic
    if learning and not fast:
        raise BadArgument(
            "learning=True (per-step weight-update norms) needs a model with a traced forward "
            "(the TracedForward capability, docs/models.md)"
        )
    if not fast:
        return generic_gradients(model, x, y, lengths)
    return _traced_gradients(model, x, y, lengths, learning, method)


def _readout_gradient(model, traces, last: Tensor, rows: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """∂L/∂h^top (B, H) at each sequence's readout step, and the per-sequence loss (B,), via the model's
    readout of the state there (every layer's parts read off the traces)."""
    with torch.enable_grad():
        layers = [{"h": tr.out[last, :, rows]} for tr in traces]
        for parts, tr in zip(layers, traces):
            if tr.cell is not None:
                parts["c"] = tr.cell[last, :, rows]
        h = layers[-1]["h"].detach().requires_grad_()
        layers[-1]["h"] = h
        loss = F.cross_entropy(model.readout(model.make_state(layers)), y.to(h.device), reduction="none")
        (g,) = torch.autograd.grad(loss.sum(), h)
    return g, loss.detach()


@torch.no_grad()
def _traced_gradients(model, x, y, lengths, learning: bool, method: str) -> StepGradients:
    traces = model.layer_traces(x, method)
    top = traces[-1].out  # (T, H, B)
    t_len, b = top.shape[0], top.shape[2]
    last = (lengths - 1).to(top.device)
    rows = torch.arange(b, device=top.device)
    g_last, loss = _readout_gradient(model, traces, last, rows, y)  # at each sequence's end (B, H)
    above = torch.zeros_like(top)  # (T, H, B) gradient arriving at each h_t from above
    above[last, :, rows] = g_last
    arrays, learn = {}, {}
    for layer in reversed(range(len(traces))):
        tr = traces[layer]
        dh, dc, delta = backward(tr, above)
        arrays[f"grad_h/{layer}"] = dh
        if dc is not None:
            arrays[f"grad_c/{layer}"] = dc
        if learning:
            learn[f"learn_w_ih/{layer}"] = step_update_norms(input_delta(tr, dh, delta), tr.inp)
            learn[f"learn_w_hh/{layer}"] = step_update_norms(delta, tr.prev)
        above = below(tr, dh, delta)  # (T, C_layer, B)
    arrays["grad_x"] = above
    past = (torch.arange(t_len)[:, None] >= lengths[None, :]).to(top.device)[:, None, :]  # (T, 1, B)
    out = {}
    for name in sort_names(arrays):  # NaN past each end, in place; then a (B, T, F) view, no copy
        out[name] = arrays[name].masked_fill_(past, float("nan")).permute(2, 0, 1)
    learn = {k: learn[k] for k in sort_names(learn)}
    return StepGradients(model_kind(model), out, lengths, loss.cpu(), learn)


def step_update_norms(delta: Tensor, act: Tensor) -> Tensor:
    """‖(1/B) Σ_b δ_{t,b} a_{t,b}ᵀ‖_F per step: delta (T, G, B), act (T, C, B) -> (T,) on the CPU.

    Uses the Gram form Σ_{b,b'} (δ_b·δ_b')(a_b·a_b') when the batch is small next to G·C/(G+C).
    """
    _, g, b = delta.shape
    c = act.shape[1]
    if b * (g + c) < g * c:
        sq = (torch.bmm(delta.transpose(1, 2), delta) * torch.bmm(act.transpose(1, 2), act)).sum((1, 2))
        norms = sq.clamp_min(0).sqrt()
    else:
        norms = torch.linalg.matrix_norm(torch.bmm(delta, act.transpose(1, 2)))
    return (norms / b).cpu()


# ---- the Transformer: plain autograd on its residual streams ------------------------------------
def _transformer_gradients(model, x, y, lengths) -> StepGradients:
    device, dtype = model_device(model)
    last = (lengths - 1).to(device)
    with eval_mode(model), torch.enable_grad():
        xin = x.detach().to(device=device, dtype=dtype).requires_grad_()
        streams, _ = model.encode(xin)
        top = streams[-1][torch.arange(x.shape[0], device=device), last]
        loss = F.cross_entropy(model.stream_readout(top), y.to(device), reduction="none")
        grads = torch.autograd.grad(loss.sum(), [xin, *streams])
    valid = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(device)[..., None]
    arrays = {f"grad_stream/{i}": g.masked_fill(~valid, float("nan")) for i, g in enumerate(grads[1:])}
    arrays["grad_x"] = grads[0].masked_fill(~valid, float("nan"))
    return StepGradients(model_kind(model), arrays, lengths, loss.detach().cpu())
