"""Exact total per-step gradients ∂L/∂h_t of every layer, at the cost of about one forward+backward.

L = Σ_b CE(logits_b, y_b), the summed loss, so each sequence's gradients are its own (independent of
the batch size). "Total" means through the recurrence *and* through the layers above. Method
(docs/gradients.md has the derivation):

1. Forward: each layer through the fused kernel, gates recomputed for all steps at once (forward.py).
2. Readout: g = ∂L/∂h^top at each sequence's last step (autograd on the head only).
3. Backward through time, top layer first, one small matrix product per step and layer:
       ∂L/∂h_t = G_t + W_hhᵀ δ_{t+1}        (rnn, lstm; gru adds z_{t+1} ⊙ ∂L/∂h_{t+1})
   where G_t is the gradient arriving from above (the readout, or W_ihᵀ δ of the layer above at the same
   step) and δ_t = ∂L/∂(pre-activations at t) follows elementwise from ∂L/∂h_t (and ∂L/∂c_t). Then
   G for the layer below is δ W_ih for all steps at once, and for layer 0 that is the input saliency.

Steps past a sequence's end never reach its readout: their gradient is exactly zero, and it is reported
as NaN (so a mean over the batch only counts sequences that are still running at that step).

Key: B = batch, T = time, C = input channels, H = hidden, L = layers, N = Transformer blocks.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnscope.gradients.forward import LayerTrace, batched_mm, layer_traces


@dataclass
class StepGradients:
    """Per-step gradients of one batch: named, batch-first arrays.

    arrays: "grad_h/<l>" (B, T, H) ∂L/∂h_t of layer l; "grad_c/<l>" (B, T, H) ∂L/∂c_t (lstm);
            "grad_stream/<l>" (B, T, D) ∂L/∂(residual stream l) (transformer; 0 = embedding + positions,
            l = after block l); "grad_x" (B, T, C) input saliency. NaN past each sequence's end.
    learning: "learn_w_ih/<l>", "learn_w_hh/<l>" (T,) — ‖(1/B) Σ_b δ_{b,t} a_{b,t}ᵀ‖_F, step t's share of
            the (mean-loss) weight gradient; empty unless asked for.
    lengths (B,), loss (B,) per-sequence cross-entropy.
    """

    kind: str
    arrays: dict[str, Tensor]
    lengths: Tensor
    loss: Tensor
    learning: dict[str, Tensor] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.arrays)

    def norms(self, name: str) -> np.ndarray:
        """‖·‖ over the last axis of one array: (B, T) float64, NaN past each sequence's end."""
        if name not in self.arrays:
            raise ValueError(f"no gradient named {name!r}; have {', '.join(self.arrays)}")
        return torch.linalg.vector_norm(self.arrays[name].double(), dim=-1).cpu().numpy()

    def to_tensors(self) -> dict[str, Tensor]:
        return {**self.arrays, **self.learning, "lengths": self.lengths, "loss": self.loss}

    def save(self, path: str | Path) -> None:
        from rnnscope.io import FORMAT_VERSION, save_tensors

        save_tensors(path, self.to_tensors(), {"format_version": str(FORMAT_VERSION), "kind": self.kind})

    @classmethod
    def load(cls, path: str | Path) -> StepGradients:
        from safetensors import safe_open

        from rnnscope.io import load_tensors

        t = load_tensors(path, "step gradients")
        with safe_open(str(path), "pt") as f:
            kind = (f.metadata() or {}).get("kind", "")
        learning = {k: v for k, v in t.items() if k.startswith("learn_")}
        arrays = {k: v for k, v in t.items() if k.startswith("grad_")}
        return cls(kind, arrays, t["lengths"], t["loss"], learning)


@contextlib.contextmanager
def eval_mode(model):
    """Dropout off for the duration; every module's training flag is restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def _lengths(x: Tensor, lengths) -> Tensor:
    b, t = x.shape[:2]
    if lengths is None:
        return torch.full((b,), t, dtype=torch.long)
    lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
    if lengths.shape != (b,) or bool((lengths < 1).any()) or bool((lengths > t).any()):
        raise ValueError(f"lengths must have shape ({b},) with values in [1, {t}]")
    return lengths


def step_gradients(model, x: Tensor, y: Tensor, lengths: Tensor | None = None, *,
                   learning: bool = False, method: str = "auto") -> StepGradients:
    """Exact total per-step gradients for x (B, T, C), labels y (B,), lengths (B,) or None.

    Works for `RecurrentClassifier` (rnn, lstm, gru) and `CausalTransformerClassifier`. Nothing about
    the model changes: no parameter .grad, no hook, no mode change is left behind; no RNG is used.
    learning=True adds the per-step weight-update norms (recurrent models). method: how the forward
    pass is run (`forward.layer_traces`): "auto", "stepped" or "fused"; the result is the same.
    """
    if x.ndim != 3:
        raise ValueError(f"x must have shape (batch, time, channels), got {tuple(x.shape)}")
    lengths = _lengths(x, lengths)
    if model.kind == "transformer":
        return _transformer_gradients(model, x, y, lengths)
    return _recurrent_gradients(model, x, y, lengths, learning, method)


def _readout_gradient(model, h_last: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """∂L/∂h^top (B, H) at the readout step, and the per-sequence loss (B,), via the model's readout."""
    with torch.enable_grad():
        h = h_last.detach().requires_grad_()
        state = h.unsqueeze(0)
        if model.kind == "lstm":
            state = (state, torch.zeros_like(state))
        loss = F.cross_entropy(model.readout(state), y.to(h.device), reduction="none")
        (g,) = torch.autograd.grad(loss.sum(), h)
    return g, loss.detach()


@torch.no_grad()
def _recurrent_gradients(model, x, y, lengths, learning: bool, method: str) -> StepGradients:
    kind = model.kind
    traces = layer_traces(model, x, method)
    top = traces[-1].out  # (T, H, B)
    t_len, b = top.shape[0], top.shape[2]
    last = (lengths - 1).to(top.device)
    rows = torch.arange(b, device=top.device)
    g_last, loss = _readout_gradient(model, top[last, :, rows], y)  # h at each sequence's end (B, H)
    above = torch.zeros_like(top)  # (T, H, B) gradient arriving at each h_t from above
    above[last, :, rows] = g_last
    arrays, learn = {}, {}
    for layer in reversed(range(model.num_layers)):
        w_ih, w_hh = model.layer_weights(layer)[:2]
        tr = traces[layer]
        dh, dc, delta = BACKWARD[kind](tr, above, w_hh.t().contiguous())
        arrays[f"grad_h/{layer}"] = dh
        if dc is not None:
            arrays[f"grad_c/{layer}"] = dc
        if learning:
            learn[f"learn_w_ih/{layer}"] = step_update_norms(_input_delta(tr, dh, delta), tr.inp)
            learn[f"learn_w_hh/{layer}"] = step_update_norms(delta, tr.prev)
        above = _below(tr, dh, delta, w_ih)  # (T, C_layer, B)
    arrays["grad_x"] = above
    past = (torch.arange(t_len)[:, None] >= lengths[None, :]).to(top.device)[:, None, :]  # (T, 1, B)
    out = {}
    for name in sorted(arrays, key=_order):  # NaN past each end, in place; then a (B, T, F) view, no copy
        out[name] = arrays[name].masked_fill_(past, float("nan")).permute(2, 0, 1)
    return StepGradients(kind, out, lengths, loss.cpu(), {k: learn[k] for k in sorted(learn, key=_order)})


ORDER = ("grad_h", "grad_c", "grad_stream", "grad_x", "learn_w_ih", "learn_w_hh")


def _order(name: str):
    head, _, layer = name.partition("/")
    return (ORDER.index(head) if head in ORDER else len(ORDER), int(layer) if layer else 0)


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


# ---- backward through time, one layer ------------------------------------------------------------
# Each takes the layer's trace, G (T, H, B) the gradient from above (overwritten: it becomes ∂L/∂h), and
# W_hhᵀ (H, G*H); returns (dh, dc or None, δ for the recurrent weights (T, G*H, B)). See forward.LayerTrace.


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


def _below(tr: LayerTrace, dh: Tensor, delta: Tensor, w_ih: Tensor) -> Tensor:
    """Gradient at the layer's input, all steps at once: W_ihᵀ δ_ih -> (T, C, B).

    For the gru the input weights' n block gets ∂L/∂n_pre = dh ⊙ s (no reset gate), not δ's r ⊙ ∂L/∂n_pre.
    """
    if tr.kind != "gru":
        return batched_mm(w_ih.t(), delta)
    h = dh.shape[1]
    out = batched_mm(w_ih[: 2 * h].t(), delta[:, : 2 * h])
    return out.add_(batched_mm(w_ih[2 * h:].t(), dh * tr.s))


def _input_delta(tr: LayerTrace, dh: Tensor, delta: Tensor) -> Tensor:
    """δ for the input weights (T, G*H, B): δ itself, except the gru's n block (see `_below`)."""
    if tr.kind != "gru":
        return delta
    d = delta.clone()
    h = dh.shape[1]
    torch.mul(dh, tr.s, out=d[:, 2 * h:])
    return d


BACKWARD = {"rnn": _rnn_backward, "lstm": _lstm_backward, "gru": _gru_backward}


# ---- the Transformer: plain autograd on its residual streams ------------------------------------
def _transformer_gradients(model, x, y, lengths) -> StepGradients:
    p = model.head.weight
    last = (lengths - 1).to(p.device)
    with eval_mode(model), torch.enable_grad():
        xin = x.detach().to(device=p.device, dtype=p.dtype).requires_grad_()
        streams, _ = model.encode(xin)
        top = streams[-1][torch.arange(x.shape[0], device=p.device), last]
        loss = F.cross_entropy(model.head(model.norm(top)), y.to(p.device), reduction="none")
        grads = torch.autograd.grad(loss.sum(), [xin, *streams])
    valid = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(p.device)[..., None]
    arrays = {f"grad_stream/{i}": g.masked_fill(~valid, float("nan")) for i, g in enumerate(grads[1:])}
    arrays["grad_x"] = grads[0].masked_fill(~valid, float("nan"))
    return StepGradients("transformer", arrays, lengths, loss.detach().cpu())
