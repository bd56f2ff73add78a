"""Streaming inference: many concurrent streams, one step (or chunk) at a time, running probabilities.

`StreamPool` is the API (open / feed / feed_ragged / close); `RecurrentEngine` and `KVCacheEngine` hold
the per-slot state of recurrent models and of the Transformer. See docs/streaming.md.
"""

from __future__ import annotations

from rnnscope.streaming.kvcache import KVCacheEngine
from rnnscope.streaming.pool import StreamPool
from rnnscope.streaming.recurrent import RecurrentEngine

__all__ = ["KVCacheEngine", "RecurrentEngine", "StreamPool"]
