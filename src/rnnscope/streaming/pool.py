"""A pool of concurrent streams through one trained model: open, feed, close, in any order.

    pool = StreamPool(model)
    a, b = pool.open(), pool.open()
    p = pool.feed([a, b], x)              # x (2, C): one step each -> probabilities (2, K)
    p = pool.feed([a], chunk)             # chunk (1, n, C): n steps -> (1, n, K)
    out = pool.feed_ragged({a: xa, b: xb})  # different numbers of steps per stream
    pool.close(a)                         # its slot is reused by the next open()

Every stream carries its own state between calls; feeding one stream never changes another. The
probabilities after each step equal the full-sequence forward of the stream so far (recurrent models:
1e-5; the Transformer: its full causal forward), whatever the chunking.

Key: S = streams in a call, n = steps in a chunk, C = input channels, K = classes.
"""

from __future__ import annotations

import heapq

import numpy as np
import torch
from torch import Tensor

from rnnscope.errors import BadArgument
from rnnscope.models.protocol import StreamKernel, has_readout, is_recurrent, model_device, supports
from rnnscope.streaming.kvcache import KVCacheEngine
from rnnscope.streaming.recurrent import Rows, SteppedEngine


class StreamPool:
    """Slots of per-stream state for one model (not changed by the pool; use it in eval mode).

    capacity: slots allocated up front (the pool doubles it when full). chunk_method (models with the
    `StreamKernel` capability, the built-in cells): how a chunk of n > 1 steps runs — "stepped" (the
    in-place step, looped), "fused" (the fused nn.RNN/LSTM/GRU with the carried state as hx), or "auto"
    (per call, whichever measured faster for that many streams: fused for few, stepped for many on CPU;
    fused on GPU). The engine: the model's own `stream_engine` where it has one, else `SteppedEngine`
    (any recurrent protocol model, through `step`), else the KV-cache engine (the Transformer).
    """

    def __init__(self, model, capacity: int = 16, chunk_method: str = "auto"):
        if capacity < 1:
            raise BadArgument(f"capacity must be positive, got {capacity}")
        if chunk_method not in ("auto", "stepped", "fused"):
            raise BadArgument(f"chunk_method must be 'auto', 'stepped' or 'fused', got {chunk_method!r}")
        if not has_readout(model):
            raise BadArgument(f"{type(model).__name__} has no readout: streaming gives class probabilities")
        self.model = model
        self.input_size = model.input_size
        self.n_classes = model.n_classes
        if supports(model, StreamKernel):
            self.engine = model.stream_engine(capacity, chunk_method)
        elif is_recurrent(model):
            self.engine = SteppedEngine(model, capacity)
        else:
            self.engine = KVCacheEngine(model, capacity)
        self._device, self._dtype = model_device(model)
        self._open = np.zeros(capacity, dtype=bool)
        self._steps = np.zeros(capacity, dtype=np.int64)
        self._free = list(range(capacity))  # a heap: the lowest free slot is reused first

    # ---- slots ---------------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.engine.capacity

    def open(self) -> int:
        """Start a stream from the model's initial state; returns its slot number."""
        if not self._free:
            self._grow(2 * self.capacity)
        slot = heapq.heappop(self._free)
        self.engine.reset(slice(slot, slot + 1))
        self._open[slot] = True
        self._steps[slot] = 0
        return slot

    def open_many(self, count: int) -> list[int]:
        """Open `count` streams at once (one reset); returns their slots."""
        while len(self._free) < count:
            self._grow(2 * self.capacity)
        slots = [heapq.heappop(self._free) for _ in range(count)]
        rows = torch.tensor(slots, dtype=torch.long, device=self._device)
        self.engine.reset(rows)
        self._open[slots] = True
        self._steps[slots] = 0
        return slots

    def close(self, slot: int) -> None:
        """End a stream; its slot is free for the next `open`."""
        self._check_open([slot])
        self._open[slot] = False
        self.engine.reset(slice(slot, slot + 1))  # frees a KV cache at once
        heapq.heappush(self._free, slot)

    def is_open(self, slot: int) -> bool:
        return 0 <= slot < self.capacity and bool(self._open[slot])

    @property
    def open_slots(self) -> list[int]:
        return np.flatnonzero(self._open).tolist()

    def steps(self, slot: int) -> int:
        """Steps the stream in `slot` has been fed so far."""
        self._check_open([slot])
        return int(self._steps[slot])

    def state(self, slot: int):
        """The stream's state in the model's own layout (recurrent: PyTorch's hx with batch 1)."""
        self._check_open([slot])
        st = self.engine.state(slice(slot, slot + 1))
        return st[0] if isinstance(st, list) else st

    def state_bytes(self, slot: int) -> int:
        """Bytes of state the stream carries now (fixed for recurrent models; grows for the KV cache)."""
        self._check_open([slot])
        return self.engine.state_bytes(slot)

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        self.engine.grow(capacity)
        self._open = np.concatenate([self._open, np.zeros(capacity - old, dtype=bool)])
        self._steps = np.concatenate([self._steps, np.zeros(capacity - old, dtype=np.int64)])
        for s in range(old, capacity):
            heapq.heappush(self._free, s)

    def _check_open(self, slots) -> None:
        for s in slots:
            if not self.is_open(int(s)):
                raise BadArgument(f"slot {int(s)} is not an open stream")

    def _rows(self, slots) -> tuple[Rows, slice | np.ndarray]:
        """Slots (int, range, sequence or tensor) -> (engine rows, the same as an index of this pool's
        arrays).

        A run of consecutive slots becomes a slice (views, no gather); anything else an index tensor.
        """
        if isinstance(slots, (int, np.integer)):
            slots = range(int(slots), int(slots) + 1)
        elif isinstance(slots, (list, tuple)) and len(slots) == 1 and isinstance(slots[0], (int, np.integer)):
            slots = range(int(slots[0]), int(slots[0]) + 1)
        if isinstance(slots, range) and slots.step == 1 and len(slots):
            a, b = slots.start, slots.stop
            if a < 0 or b > self.capacity or not (self._open[a] if b - a == 1 else self._open[a:b].all()):
                self._check_open(slots)
            return slice(a, b), slice(a, b)
        arr = np.asarray(slots.tolist() if isinstance(slots, Tensor) else list(slots), dtype=np.int64)
        if arr.ndim != 1 or not len(arr):
            raise BadArgument("slots must be a non-empty sequence of slot numbers")
        if ((arr < 0) | (arr >= self.capacity)).any() or not self._open[arr].all():
            self._check_open(arr)
        if len(arr) == 1 or (np.diff(arr) == 1).all():
            sl = slice(int(arr[0]), int(arr[-1]) + 1)
            return sl, sl
        if len(np.unique(arr)) != len(arr):
            raise BadArgument("a slot appears more than once in one call")
        return torch.as_tensor(arr, device=self._device), arr

    # ---- feeding -------------------------------------------------------------------------------
    def feed(self, slots, x) -> Tensor:
        """Feed the same number of steps to each stream in `slots`.

        x (S, C): one step each -> probabilities (S, K); x (S, n, C): n steps each -> (S, n, K), the
        running probabilities after every step.
        """
        rows, index = self._rows(slots)
        x = self._as_input(x, _count(rows))
        probs = self.engine.step(rows, x) if x.ndim == 2 else self.engine.chunk(rows, x)
        self._steps[index] += 1 if x.ndim == 2 else x.shape[1]
        return probs

    def feed_ragged(self, chunks: dict) -> dict:
        """Feed each stream its own number of steps: {slot: x (n_i, C)} -> {slot: probs (n_i, K)}."""
        if not chunks:
            return {}
        items = sorted(chunks.items(), key=lambda kv: -len(kv[1]))  # longest first, as packing needs
        slots = [s for s, _ in items]
        xs = [torch.as_tensor(v, dtype=torch.float32) for _, v in items]
        lengths = [len(v) for v in xs]
        if min(lengths) < 1:
            raise BadArgument("every stream in feed_ragged needs at least one step")
        for s, v in zip(slots, xs):
            if v.ndim != 2 or v.shape[1] != self.input_size:
                raise BadArgument(
                    f"slot {s}: expected rows of shape (n, {self.input_size}), got {tuple(v.shape)}"
                )
        if len(set(lengths)) == 1 and lengths[0] == 1:
            probs = self.feed(slots, torch.cat(xs))
            return {s: probs[i : i + 1] for i, s in enumerate(slots)}
        rows, index = self._rows(slots)  # a slice only when the sorted order is ascending slot order
        x = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True).to(self._device, self._dtype)
        probs = self.engine.chunk(rows, x, torch.tensor(lengths))
        self._steps[index] += np.asarray(lengths)
        return {s: probs[i, : lengths[i]] for i, s in enumerate(slots)}

    def _as_input(self, x, s: int) -> Tensor:
        x = torch.as_tensor(x, device=self._device, dtype=self._dtype)
        if x.ndim not in (2, 3) or x.shape[0] != s or x.shape[-1] != self.input_size:
            raise BadArgument(
                f"expected x of shape ({s}, {self.input_size}) or ({s}, n, {self.input_size}), "
                f"got {tuple(x.shape)}"
            )
        if x.ndim == 3 and x.shape[1] < 1:
            raise BadArgument("a chunk needs at least one step")
        return x


def _count(rows: Rows) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else int(rows.shape[0])
