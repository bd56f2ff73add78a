"""Pooled readouts: a recurrent classifier read out from its top layer's h pooled over the valid steps.

`PooledClassifier(core, readout)` wraps a `RecurrentClassifier` (its layers and its linear head) and reads
out the mean, the max or an attention-weighted average of the top layer's h over each sequence's steps,
instead of the last step's h. The pooling accumulator lives in the state, so readout stays a function of
the protocol's state and every analysis (recording, gradients, Jacobians, streaming) works through `step`:

    state parts per layer: the core's ("h",) or ("h", "c"), then "pool" (B, H) and "norm" (B, H)
    pool: the layer's pooled h so far; norm: log Σ_t w_t (the log of the weights' sum, the same in every
    unit), -1e4 before the first step.  Update with weight w_t = exp(e_t):
        norm' = logaddexp(norm, e_t);  pool' = pool * exp(norm - norm') + h_t * exp(e_t - norm')
    mean: e_t = 0 (pool = running mean, norm = log t); attention: e_t = h_t · a_l (a learned score vector
    per layer, softmax weights over time); max: pool' = max(pool, h_t) (h_1 at the first step).

Every layer pools its own h by the same rule; the head reads the top layer's pool. The pool never feeds
back into the recurrence, so the core dynamics (and their Jacobian blocks) are those of the last-step model.
The fused training path (`forward`) pools the fused kernel's output sequence; tests hold it equal to `step`.
Capabilities: `HasGates`, `LayeredStep`; not the fused-state, traced or streaming kernels (the generic
paths through `step` serve those analyses).

Key: B = batch, T = time, C = input channels, H = hidden size, L = layers, K = classes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnscope.errors import BadArgument
from rnnscope.models.recurrent import RecurrentClassifier

POOLED = ("mean", "max", "attention")
EMPTY = -1e4  # `norm` before the first step: exp(EMPTY - anything finite) underflows to exactly 0


class PooledClassifier(nn.Module):
    """forward(x (B, T, C), lengths (B,) | None) -> logits (B, K) from the pooled top-layer h."""

    def __init__(self, core: RecurrentClassifier, readout: str):
        super().__init__()
        if readout not in POOLED:
            raise BadArgument(f"pooled readout must be one of {', '.join(POOLED)}, got {readout!r}")
        self.core, self.readout_kind = core, readout
        self.kind, self.input_size, self.n_classes = core.kind, core.input_size, core.n_classes
        self.hidden_size, self.num_layers, self.layer_sizes = (
            core.hidden_size,
            core.num_layers,
            core.layer_sizes,
        )
        self.core_parts = core.state_names
        self.state_names = (*core.state_names, "pool", "norm")
        self.gate_names, self.carry_gate = core.gate_names, core.carry_gate
        # attention: one score vector per layer (only the top layer's reaches the loss)
        self.attn = (
            nn.Parameter(torch.zeros(core.num_layers, core.hidden_size)) if readout == "attention" else None
        )

    # ---- fused training path --------------------------------------------------------------------
    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        ragged = lengths is not None and bool((lengths < x.shape[1]).any())
        if ragged:
            packed = pack_padded_sequence(x, lengths.detach().cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.core.core(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        else:
            out, _ = self.core.core(x)
        steps = torch.arange(x.shape[1], device=x.device)
        valid = (
            (steps[None] < lengths.to(x.device)[:, None])
            if ragged
            else torch.ones_like(out[..., 0], dtype=bool)
        )
        return self.core.head(pool_sequence(out, valid, self.readout_kind, self._score(-1)))

    # ---- the protocol ---------------------------------------------------------------------------
    def init_state(self, batch: int, device=None, dtype=None) -> list[dict[str, Tensor]]:
        layers = self.core.layer_states(self.core.init_state(batch, device, dtype))
        return [
            {**p, "pool": torch.zeros_like(p["h"]), "norm": torch.full_like(p["h"], EMPTY)} for p in layers
        ]

    def layer_states(self, state: list[dict[str, Tensor]]) -> list[dict[str, Tensor]]:
        return state

    def make_state(self, layers: list[dict[str, Tensor]]) -> list[dict[str, Tensor]]:
        return [dict(layer) for layer in layers]

    def readout(self, state: list[dict[str, Tensor]]) -> Tensor:
        """Class logits from the top layer's pool: (B, K)."""
        return self.core.head(state[-1]["pool"])

    def step(self, x_t: Tensor, state):
        return self.step_with_gates(x_t, state)[0]

    def step_with_gates(self, x_t: Tensor, state):
        layers, gates, inp = [], [], x_t
        for layer, parts in enumerate(state):
            core_parts, g = self.core._cell(layer, inp, {k: parts[k] for k in self.core_parts})
            layers.append(self._pool(layer, core_parts, parts))
            gates.append(g)
            inp = core_parts["h"]
        return layers, gates

    def step_layer(self, layer: int, inp: Tensor, parts: dict[str, Tensor]) -> dict[str, Tensor]:
        core_parts = self.core.step_layer(layer, inp, {k: parts[k] for k in self.core_parts})
        return self._pool(layer, core_parts, parts)

    def _score(self, layer: int):
        return None if self.attn is None else self.attn[layer]

    def _pool(self, layer: int, new: dict[str, Tensor], old: dict[str, Tensor]) -> dict[str, Tensor]:
        h, pool, norm = new["h"], old["pool"], old["norm"]
        if self.readout_kind == "max":
            first = norm <= EMPTY / 2
            return {
                **new,
                "pool": torch.where(first, h, torch.maximum(pool, h)),
                "norm": torch.logaddexp(norm, torch.zeros_like(norm)),
            }
        e = torch.zeros_like(h[:, :1]) if self.attn is None else h @ self._score(layer)[:, None]  # (B, 1)
        e = e.expand_as(h)
        norm_new = torch.logaddexp(norm, e)
        return {
            **new,
            "pool": pool * torch.exp(norm - norm_new) + h * torch.exp(e - norm_new),
            "norm": norm_new,
        }


def pool_sequence(out: Tensor, valid: Tensor, how: str, score: Tensor | None) -> Tensor:
    """Pool out (B, T, H) over the steps where valid (B, T) is True -> (B, H)."""
    m = valid[..., None]
    if how == "max":
        return out.masked_fill(~m, float("-inf")).amax(1)
    e = (out @ score)[..., None] if score is not None else torch.zeros_like(out[..., :1])  # (B, T, 1)
    w = torch.softmax(e.masked_fill(~m, float("-inf")), dim=1)
    return (w * out).sum(1)
