"""Many concurrent streams through the causal Transformer, each with its own key/value cache.

A stream's state is the model's KV cache ({"k", "v": per-layer (1, N, t, D/N), "t", "h"}); a step is
`model.step`. Streams that have seen the same number of positions are stepped together (their caches
are concatenated along the batch); others go separately. Unlike a recurrent state, the cache — and the
cost of a step — grows with the context t: benchmarks/streaming.py measures it.

Key: S = streams in a call, n = steps in a chunk, C = input channels, D = model width, N = heads,
K = classes.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor

from rnnscope.models.protocol import model_kind
from rnnscope.models.stream_kernel import Rows, plain_mode


class KVCacheEngine:
    """Per-slot KV caches of a CausalTransformerClassifier. Same interface as `SteppedEngine`."""

    def __init__(self, model, capacity: int):
        self.model = model
        self.kind = model_kind(model)
        self.capacity = 0
        self.caches: list[dict | None] = []
        self.grow(capacity)

    def grow(self, capacity: int) -> None:
        if capacity > self.capacity:
            self.caches += [None] * (capacity - self.capacity)
            self.capacity = capacity

    def _slots(self, rows: Rows) -> list[int]:
        return list(range(self.capacity))[rows] if isinstance(rows, slice) else rows.tolist()

    def reset(self, rows: Rows) -> None:
        for s in self._slots(rows):
            self.caches[s] = None

    def _cache(self, slot: int) -> dict:
        if self.caches[slot] is None:
            with plain_mode():
                self.caches[slot] = self.model.init_state(1)
        return self.caches[slot]

    def state(self, rows: Rows) -> list[dict]:
        """The KV cache of each slot in `rows` (the engine's own dicts; do not modify)."""
        return [self._cache(s) for s in self._slots(rows)]

    def state_bytes(self, slot: int) -> int:
        """Bytes of the slot's cache now: grows by L * 2 * D * itemsize per position."""
        c = self._cache(slot)
        return sum(t.numel() * t.element_size() for t in c["k"] + c["v"] + [c["h"]])

    def step(self, rows: Rows, x: Tensor) -> Tensor:
        """One position for the streams in `rows`: x (S, C) -> class probabilities (S, K)."""
        slots = self._slots(rows)
        probs = torch.empty(len(slots), self.model.n_classes, device=x.device, dtype=x.dtype)
        groups: dict[int, list[int]] = defaultdict(list)  # positions seen -> indices into slots
        for i, s in enumerate(slots):
            groups[self._cache(s)["t"]].append(i)
        with plain_mode():
            for idx in groups.values():
                caches = [self.caches[slots[i]] for i in idx]
                state = caches[0] if len(idx) == 1 else _stack(caches)
                new = self.model.step(x[idx], state)
                probs[idx] = self.model.readout(new).softmax(-1)
                for j, i in enumerate(idx):
                    self.caches[slots[i]] = new if len(idx) == 1 else _pick(new, j)
        return probs

    def chunk(self, rows: Rows, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """n positions for the streams in `rows`: x (S, n, C) -> probabilities (S, n, K); lengths as in
        `SteppedEngine.chunk` (sorted descending; zeros past a stream's length)."""
        slots = self._slots(rows)
        S, n, _ = x.shape
        probs = torch.zeros(S, n, self.model.n_classes, device=x.device, dtype=x.dtype)
        for t in range(n):
            m = S if lengths is None else int((lengths > t).sum())
            if m:
                probs[:m, t] = self.step(torch.tensor(slots[:m], dtype=torch.long), x[:m, t])
        return probs


def _stack(caches: list[dict]) -> dict:
    return {
        "k": [torch.cat(ks) for ks in zip(*(c["k"] for c in caches))],
        "v": [torch.cat(vs) for vs in zip(*(c["v"] for c in caches))],
        "t": caches[0]["t"],
        "h": torch.cat([c["h"] for c in caches]),
    }


def _pick(state: dict, j: int) -> dict:
    return {
        "k": [k[j : j + 1] for k in state["k"]],
        "v": [v[j : j + 1] for v in state["v"]],
        "t": state["t"],
        "h": state["h"][j : j + 1],
    }
