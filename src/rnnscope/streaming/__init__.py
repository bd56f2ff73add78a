"""Streaming inference: many concurrent streams, one step (or chunk) at a time, running probabilities.

`StreamPool` is the API (open / feed / feed_ragged / close). The per-slot state lives in an engine: the
model's own in-place kernel where it offers one (`StreamKernel`: the built-in cells' `RecurrentEngine`,
in `models.stream_kernel`), else `SteppedEngine` (any recurrent protocol model, through `step`), and
`KVCacheEngine` for the Transformer. See docs/streaming.md and docs/models.md.
"""

from __future__ import annotations

from rnnscope.models.stream_kernel import RecurrentEngine
from rnnscope.streaming.kvcache import KVCacheEngine
from rnnscope.streaming.pool import StreamPool
from rnnscope.streaming.recurrent import SteppedEngine

__all__ = ["KVCacheEngine", "RecurrentEngine", "SteppedEngine", "StreamPool"]
