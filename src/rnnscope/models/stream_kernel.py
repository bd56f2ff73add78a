"""The in-place many-stream kernel of the built-in recurrent models (rnn, lstm, gru): the `StreamKernel`
capability (`RecurrentClassifier.stream_engine`), which `streaming.StreamPool` drives.

Every stream owns one row ("slot") of a per-layer state buffer. One step for a set of rows is a few
in-place BLAS calls per layer (`addmm` with `out=` into preallocated scratch, then the cell's
nonlinearity in place), read straight from the fused module's weights: the equations of
`rnnscope.models.cells`, so results equal `model.step` and the fused forward (tests hold them to
1e-5). When every slot is stepped the new state is swapped in rather than copied.

A chunk of n steps either loops that step or runs the fused module (`nn.RNN`/`LSTM`/`GRU`) with the
gathered state as `hx` (PyTorch's layout). "auto" picks whichever measured faster on CPU for the
number of streams in the call (fused for few streams, the loop for many; `FUSED_BELOW`), and the fused
kernel on GPU (see docs/streaming.md).

Key: S = streams in a call, n = steps in a chunk, C = input channels, H = hidden size, L = layers,
K = classes, cap = slot capacity.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnscope.errors import BadArgument

Rows = slice | Tensor  # a contiguous range of slots, or a LongTensor (S,) of slot indices
FUSED_BELOW = {"rnn": 64, "gru": 256, "lstm": 1024}  # "auto" chunks: fused below this many streams (CPU)


def plain_mode():
    """No autograd, and ordinary tensors even inside a caller's inference_mode (the state buffers must
    stay writable whatever mode the next call comes in)."""
    if torch.is_inference_mode_enabled():
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode(False))
        stack.enter_context(torch.no_grad())
        return stack
    return torch.no_grad()


class _Work:
    """The state rows one call works on: hs / cs lists over layers of (S, H) tensors.

    own: the tensors belong to this call (or are the engine's full buffers), so a finished step may be
    swapped in instead of copied into them.
    """

    __slots__ = ("cs", "hs", "own")

    def __init__(self, hs: list[Tensor], cs: list[Tensor] | None, own: bool):
        self.hs, self.cs, self.own = hs, cs, own


class RecurrentEngine:
    """Per-slot state of a RecurrentClassifier and the stepping arithmetic (the engine interface that
    `streaming.StreamPool` drives: grow, reset, state, state_bytes, step, chunk).

    State: h, a list over layers of (cap, H) tensors (plus c for the LSTM); `state(rows)` gives it in
    PyTorch's hx layout (L, S, H). The engine reads the model's weights at every call (no copies), so
    it never goes stale; it never changes the model.
    """

    def __init__(self, model, capacity: int, chunk_method: str = "auto"):
        if chunk_method not in ("auto", "stepped", "fused"):
            raise BadArgument(f"chunk_method must be 'auto', 'stepped' or 'fused', got {chunk_method!r}")
        self.model = model
        self.kind = model.kind
        self.capacity = 0
        p = model.head.weight
        self._dev, self._dtype = p.device, p.dtype
        self.chunk_method = chunk_method
        self.h: list[Tensor] = []
        self.c: list[Tensor] | None = [] if self.kind == "lstm" else None
        self._scratch: dict[tuple, Tensor] = {}
        self._bias: dict[int, tuple] = {}
        self._names = [
            tuple(f"{w}_l{layer}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            for layer in range(model.num_layers)
        ]
        self.grow(capacity)

    # ---- storage -------------------------------------------------------------------------------
    def grow(self, capacity: int) -> None:
        """Enlarge the slot buffers to `capacity` rows, keeping every existing row."""
        if capacity <= self.capacity:
            return
        H, L = self.model.hidden_size, self.model.num_layers

        def bigger(old: list[Tensor]) -> list[Tensor]:
            new = [torch.zeros(capacity, H, device=self._dev, dtype=self._dtype) for _ in range(L)]
            for n, o in zip(new, old):
                n[: o.shape[0]] = o
            return new

        with plain_mode():
            self.h = bigger(self.h)
            if self.c is not None:
                self.c = bigger(self.c)
        self.capacity = capacity
        self._scratch.clear()

    def reset(self, rows: Rows) -> None:
        """Zero the state of `rows` (a new stream starts from the model's initial state)."""
        with plain_mode():
            for buf in self.h + (self.c or []):
                buf[rows] = 0.0

    def state(self, rows: Rows):
        """The state of `rows` in the model's layout: h (L, S, H), or (h, c) for the LSTM (copies)."""
        with plain_mode():
            h = torch.stack([b[rows] for b in self.h])
            return (h, torch.stack([b[rows] for b in self.c])) if self.c is not None else h

    def state_bytes(self, slot: int = 0) -> int:
        """Bytes of state one stream carries (fixed: it does not grow with the stream)."""
        per = self.model.num_layers * self.model.hidden_size * self.h[0].element_size()
        return per * (2 if self.c is not None else 1)

    # ---- gather / scatter ----------------------------------------------------------------------
    def _gather(self, rows: Rows) -> _Work:
        if len(self._scratch) > 96:  # many distinct batch sizes seen: keep the scratch cache small
            self._scratch.clear()
        if isinstance(rows, slice):
            if rows == slice(0, self.capacity):
                return _Work(self.h, self.c, own=True)
            return _Work(
                [b[rows] for b in self.h],
                [b[rows] for b in self.c] if self.c is not None else None,
                own=False,
            )
        take = lambda bufs: [b.index_select(0, rows) for b in bufs]
        return _Work(take(self.h), take(self.c) if self.c is not None else None, own=True)

    def _scatter(self, rows: Rows, work: _Work) -> None:
        if isinstance(rows, slice):
            if work.hs is self.h:
                return
            for dst, src in zip(self.h + (self.c or []), work.hs + (work.cs or [])):
                if dst[rows].data_ptr() != src.data_ptr():
                    dst[rows] = src
            return
        for dst, src in zip(self.h + (self.c or []), work.hs + (work.cs or [])):
            dst.index_copy_(0, rows, src)

    def _buf(self, name: str, layer: int, rows: int, cols: int) -> Tensor:
        key = (name, layer, rows, cols)
        buf = self._scratch.get(key)
        if buf is None:
            buf = self._scratch[key] = torch.empty(rows, cols, device=self._dev, dtype=self._dtype)
        return buf

    # ---- the step ------------------------------------------------------------------------------
    def _advance(self, work: _Work, x: Tensor, m: int) -> Tensor:
        """One step for the first m rows of `work`: x (m, C) -> the new top-layer h (m, H)."""
        H = self.model.hidden_size
        inp = x
        for layer, (w_ih, w_hh, b_ih, b_hh, b) in enumerate(self._weights()):
            h = work.hs[layer][:m]
            out = self._buf("h", layer, m, H)
            if self.kind == "gru":
                gi = torch.addmm(b_ih, inp, w_ih.t(), out=self._buf("gi", layer, m, 3 * H))
                gh = torch.addmm(b_hh, h, w_hh.t(), out=self._buf("gh", layer, m, 3 * H))
                rz = gi[:, : 2 * H].add_(gh[:, : 2 * H]).sigmoid_()
                r, z = rz[:, :H], rz[:, H:]
                n = gi[:, 2 * H :].addcmul_(r, gh[:, 2 * H :]).tanh_()
                torch.sub(h, n, out=out).mul_(z).add_(n)  # (1 - z) * n + z * h
            elif self.kind == "lstm":
                g = torch.addmm(b, inp, w_ih.t(), out=self._buf("g", layer, m, 4 * H))
                g.addmm_(h, w_hh.t())
                g[:, : 2 * H].sigmoid_()  # i, f
                g[:, 3 * H :].sigmoid_()  # o
                i, f, gg, o = g[:, :H], g[:, H : 2 * H], g[:, 2 * H : 3 * H].tanh_(), g[:, 3 * H :]
                c = torch.mul(f, work.cs[layer][:m], out=self._buf("c", layer, m, H)).addcmul_(i, gg)
                torch.tanh(c, out=out).mul_(o)
                self._commit(work, work.cs, layer, ("c", layer, m, H), m)
            else:
                torch.addmm(b, inp, w_ih.t(), out=out).addmm_(h, w_hh.t()).tanh_()
            inp = self._commit(work, work.hs, layer, ("h", layer, m, H), m)
        return inp

    def _weights(self) -> list[tuple[Tensor, ...]]:
        """Per layer (w_ih, w_hh, b_ih, b_hh, b_ih + b_hh): the model's own tensors, read at every call;
        the bias sum is recomputed whenever either bias has changed (in-place updates bump _version)."""
        out, params = [], self.model.core._parameters  # the same tensors as model.layer_weights(l)
        for layer, names in enumerate(self._names):
            w_ih, w_hh, b_ih, b_hh = (params[n] for n in names)
            key = (id(b_ih), id(b_hh), b_ih._version, b_hh._version)
            b = self._bias.get(layer)
            if b is None or b[0] != key:
                b = self._bias[layer] = (key, (b_ih + b_hh).detach())
            out.append((w_ih, w_hh, b_ih, b_hh, b[1]))
        return out

    def _commit(self, work: _Work, bufs: list[Tensor], layer: int, key: tuple, m: int) -> Tensor:
        """Make scratch `key` (m, H) the new state of the first m rows of bufs[layer]; returns its holder.

        When the call owns every row, the buffers trade places (no copy); otherwise the rows are copied.
        """
        new = self._scratch[key]
        if work.own and bufs[layer].shape[0] == m:
            bufs[layer], self._scratch[key] = new, bufs[layer]
            return new
        bufs[layer][:m].copy_(new)
        return bufs[layer][:m]

    def _probs(self, top: Tensor) -> Tensor:
        """top (S, H) -> probabilities (S, K). Computed as (K, S): ATen's softmax over a last dimension
        of a few classes is several times slower than over the first (measured), and so is the GEMM."""
        head = self.model.head
        return torch.addmm(head.bias.unsqueeze(1), head.weight, top.t()).softmax(0).t().contiguous()

    def step(self, rows: Rows, x: Tensor) -> Tensor:
        """One step for the streams in `rows`: x (S, C) -> class probabilities (S, K)."""
        with plain_mode():
            work = self._gather(rows)
            probs = self._probs(self._advance(work, x, x.shape[0]))
            self._scatter(rows, work)
        return probs

    def chunk(self, rows: Rows, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """n steps for the streams in `rows`: x (S, n, C) -> probabilities (S, n, K).

        lengths (S,), sorted in descending order, gives each stream's number of valid steps (a ragged
        chunk); a stream's state stops at its own last step and its probabilities past it are zero.
        """
        if lengths is not None and bool((lengths[1:] > lengths[:-1]).any()):
            raise BadArgument("lengths must be sorted in descending order")
        with plain_mode():
            work = self._gather(rows)
            dropout = self.model.core.training and self.model.core.dropout
            if self.method(x.shape[0]) == "fused" and not dropout:
                probs = self._chunk_fused(work, x, lengths)
            else:
                probs = self._chunk_stepped(work, x, lengths)
            self._scatter(rows, work)
        return probs

    def method(self, streams: int) -> str:
        """How a chunk for `streams` streams runs: chunk_method, or for "auto" the one measured faster.

        On CPU (benchmarks/streaming.py, 2 layers, H=128, chunks of 16) the fused module wins while few
        streams share a call — its time loop runs in C++ — and the in-place step wins from about
        FUSED_BELOW[kind] streams on. On GPU the fused (cuDNN) kernel is taken (not measured here).
        """
        if self.chunk_method != "auto":
            return self.chunk_method
        if self._dev.type == "cuda" or streams < FUSED_BELOW[self.kind]:
            return "fused"
        return "stepped"

    def _chunk_stepped(self, work: _Work, x: Tensor, lengths: Tensor | None) -> Tensor:
        S, n, _ = x.shape
        probs = torch.zeros(S, n, self.model.n_classes, device=x.device, dtype=x.dtype)
        if lengths is None:
            active = [S] * n
        else:
            active = (lengths.view(1, -1) > torch.arange(n).view(-1, 1)).sum(1).tolist()
        for t in range(n):  # x[:, t] is strided; BLAS reads it in place (a transposed copy measured slower)
            m = active[t]
            if m:
                probs[:m, t] = self._probs(self._advance(work, x[:m, t], m))
        return probs

    def _chunk_fused(self, work: _Work, x: Tensor, lengths: Tensor | None) -> Tensor:
        n = x.shape[1]
        h0 = torch.stack(work.hs)
        hx = (h0, torch.stack(work.cs)) if work.cs is not None else h0
        if lengths is not None and int(lengths[-1]) < n:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=True)
            out, hn = self.model.core(packed, hx)
            out = pad_packed_sequence(out, batch_first=True, total_length=n)[0]
        else:
            out, hn = self.model.core(x, hx)
        probs = self.model.head(out).softmax(-1)
        if lengths is not None:
            probs = probs * (torch.arange(n, device=x.device).view(1, -1, 1) < lengths.view(-1, 1, 1))
        hn_h, hn_c = hn if work.cs is not None else (hn, None)
        for layer in range(self.model.num_layers):
            work.hs[layer].copy_(hn_h[layer])
            if work.cs is not None:
                work.cs[layer].copy_(hn_c[layer])
        return probs
