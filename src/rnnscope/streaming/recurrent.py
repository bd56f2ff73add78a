"""Many concurrent streams through any recurrent protocol model, stepped through its `step`.

The generic engine: every stream owns one row ("slot") of a buffer per layer and state part, (cap, H_l),
read and written through `layer_states` / `make_state` (docs/models.md). A step for a set of rows
gathers their state, calls `model.step` and `model.readout`, and scatters the new state back; a chunk of
n steps loops that. A model with the `StreamKernel` capability (the built-in cells) brings its own
in-place engine instead (`models.stream_kernel`, several times faster); the two are tested equal.

Key: S = streams in a call, n = steps in a chunk, C = input channels, H_l = hidden size of layer l,
K = classes, cap = slot capacity.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnscope.errors import BadArgument
from rnnscope.models.protocol import model_device
from rnnscope.models.stream_kernel import Rows, plain_mode

__all__ = ["Rows", "SteppedEngine", "plain_mode"]


class SteppedEngine:
    """Per-slot state of a recurrent protocol model (the interface `StreamPool` drives: grow, reset,
    state, state_bytes, step, chunk). It never changes the model."""

    def __init__(self, model, capacity: int):
        self.model = model
        self.capacity = 0
        self._dev, self._dtype = model_device(model)
        with plain_mode():
            self._init = [
                {n: v.detach() for n, v in parts.items()}
                for parts in model.layer_states(model.init_state(1, self._dev, self._dtype))
            ]
        self.bufs: list[dict[str, Tensor]] = [
            {n: v.new_zeros((0, v.shape[-1])) for n, v in parts.items()} for parts in self._init
        ]
        self.grow(capacity)

    def grow(self, capacity: int) -> None:
        """Enlarge the slot buffers to `capacity` rows, keeping every existing row."""
        if capacity <= self.capacity:
            return
        with plain_mode():
            for parts in self.bufs:
                for n, old in parts.items():
                    new = old.new_zeros((capacity, old.shape[1]))
                    new[: old.shape[0]] = old
                    parts[n] = new
        self.capacity = capacity

    def reset(self, rows: Rows) -> None:
        """Set `rows` to the model's initial state (a new stream starts there)."""
        with plain_mode():
            for parts, init in zip(self.bufs, self._init):
                for n, buf in parts.items():
                    buf[rows] = init[n]

    def state(self, rows: Rows):
        """The state of `rows` in the model's own layout (copies)."""
        with plain_mode():
            return self.model.make_state(
                [{n: buf[rows].clone() for n, buf in parts.items()} for parts in self.bufs]
            )

    def state_bytes(self, slot: int = 0) -> int:
        """Bytes of state one stream carries (fixed: it does not grow with the stream)."""
        return sum(buf.shape[1] * buf.element_size() for parts in self.bufs for buf in parts.values())

    def step(self, rows: Rows, x: Tensor) -> Tensor:
        """One step for the streams in `rows`: x (S, C) -> class probabilities (S, K)."""
        with plain_mode():
            new = self.model.step(x, self.state(rows))
            for parts, layer in zip(self.bufs, self.model.layer_states(new)):
                for n, buf in parts.items():
                    buf[rows] = layer[n]
            return self.model.readout(new).softmax(-1)

    def chunk(self, rows: Rows, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """n steps for the streams in `rows`: x (S, n, C) -> probabilities (S, n, K). lengths (S,), sorted
        in descending order: each stream's valid steps; its state stops there and its probabilities past
        it are zero."""
        if lengths is not None and bool((lengths[1:] > lengths[:-1]).any()):
            raise BadArgument("lengths must be sorted in descending order")
        S, n, _ = x.shape
        probs = torch.zeros(S, n, self.model.n_classes, device=x.device, dtype=x.dtype)
        for t in range(n):
            m = S if lengths is None else int((lengths > t).sum())
            if m:
                sub = slice(rows.start, rows.start + m) if isinstance(rows, slice) else rows[:m]
                probs[:m, t] = self.step(sub, x[:m, t])
        return probs
