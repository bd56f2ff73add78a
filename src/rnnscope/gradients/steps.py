"""Per-step gradients of one batch as named, batch-first arrays (what every gradient path returns).

Key: B = batch, T = time, C = input channels, H = hidden, D = Transformer width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from torch import Tensor

from rnnscope.errors import BadArgument
from rnnscope.io import FORMAT_VERSION, load_tensors, save_tensors
from rnnscope.models.protocol import eval_mode

__all__ = ["StepGradients", "check_lengths", "eval_mode", "sort_names"]


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
            raise BadArgument(f"no gradient named {name!r}; have {', '.join(self.arrays)}")
        return torch.linalg.vector_norm(self.arrays[name].double(), dim=-1).cpu().numpy()

    def to_tensors(self) -> dict[str, Tensor]:
        return {**self.arrays, **self.learning, "lengths": self.lengths, "loss": self.loss}

    def save(self, path: str | Path) -> None:
        save_tensors(path, self.to_tensors(), {"format_version": str(FORMAT_VERSION), "kind": self.kind})

    @classmethod
    def load(cls, path: str | Path) -> StepGradients:
        t = load_tensors(path, "step gradients")
        with safe_open(str(path), "pt") as f:
            kind = (f.metadata() or {}).get("kind", "")
        learning = {k: v for k, v in t.items() if k.startswith("learn_")}
        arrays = {k: v for k, v in t.items() if k.startswith("grad_")}
        return cls(kind, arrays, t["lengths"], t["loss"], learning)


def check_lengths(x: Tensor, lengths) -> Tensor:
    b, t = x.shape[:2]
    if lengths is None:
        return torch.full((b,), t, dtype=torch.long)
    lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
    if lengths.shape != (b,) or bool((lengths < 1).any()) or bool((lengths > t).any()):
        raise BadArgument(f"lengths must have shape ({b},) with values in [1, {t}]")
    return lengths


ORDER = ("grad_h", "grad_c", "grad_stream", "grad_x", "learn_w_ih", "learn_w_hh")


def _order(name: str):
    head, _, layer = name.partition("/")
    return (ORDER.index(head) if head in ORDER else len(ORDER), int(layer) if layer else 0)


def sort_names(names) -> list[str]:
    """Array names in the fixed order: quantity (ORDER), then layer."""
    return sorted(names, key=_order)
