"""Delayed recall: remember a cue across `distance` distractor steps, report it at a go signal.
Probes memory, vanishing gradients and context length: the cue-to-answer distance is the knob.

Channels (input size = n_classes + n_distractors + 1):
    0 .. K-1          cue: one-hot at step 0 only, zero everywhere else
    K .. K+M-1        distractors: one random symbol (one-hot) at each of steps 1 .. distance
    K+M               go: 1 at the last step only
Sequence length T = distance + 2; the class is the cue. Nothing after step 0 carries information
about the class, so the network must hold it in its state for `distance` steps.

Worked example (n_classes=3, n_distractors=2, distance=4, cue 2), rows = channels, columns = steps:

    step     0  1  2  3  4  5
    cue 0    .  .  .  .  .  .
    cue 1    .  .  .  .  .  .
    cue 2    1  .  .  .  .  .      <- the class
    dist 0   .  1  .  .  1  .
    dist 1   .  .  1  1  .  .
    go       .  .  .  .  .  1      <- answer now

Oracle: read the cue channels at step 0. The cue is noise-free, so the ceiling is exactly 1.0
(chance 1/n_classes). Elicits persistent memory units (one stable state per cue).
`distance` may range from 1 to MAX_DISTANCE.

Key: N = number of sequences, T = distance + 2, K = n_classes, M = n_distractors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rnnscope.errors import BadArgument
from rnnscope.tasks.base import Task

MAX_DISTANCE = 10000  # longest supported delay (2000 such sequences already take ~0.7 GB as float32)


@dataclass(frozen=True)
class DelayedRecall(Task):
    """Classify a cue shown at step 0 after `distance` distractor steps and a go signal."""

    name: ClassVar[str] = "recall"
    summary: ClassVar[str] = "recall a cue after `distance` distractor steps (memory, vanishing gradients)"

    n_classes: int = 4  # number of cue symbols; the cue shown at step 0 is the class
    distance: int = 20  # distractor steps between the cue and the go signal (dependency distance)
    n_distractors: int = 4  # number of distractor symbols, each on its own channel (0: silent delay)

    def __post_init__(self) -> None:
        if self.n_classes < 2:
            raise BadArgument(f"n_classes must be at least 2, got {self.n_classes}")
        if not 0 < self.distance <= MAX_DISTANCE:
            raise BadArgument(f"distance must lie in [1, {MAX_DISTANCE}], got {self.distance}")
        if self.n_distractors < 0:
            raise BadArgument(f"n_distractors must be non-negative, got {self.n_distractors}")

    @property
    def input_size(self) -> int:
        return self.n_classes + self.n_distractors + 1

    @property
    def seq_len(self) -> int:
        return self.distance + 2

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        k, m, d = self.n_classes, self.n_distractors, self.distance
        y = rng.integers(k, size=n)
        x = np.zeros((n, self.seq_len, self.input_size), dtype=np.float32)
        x[np.arange(n), 0, y] = 1.0
        if m:
            symbols = rng.integers(m, size=(n, d))  # (N, distance)
            x[np.arange(n)[:, None], np.arange(1, d + 1), k + symbols] = 1.0
        x[:, -1, -1] = 1.0
        return x, y.astype(np.int64)

    def oracle(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(x[:, 0, : self.n_classes], axis=1).astype(np.int64)

    def ceiling(self, seed: int = 0, n: int = 20000) -> float:
        """Exactly 1.0: the cue is noise-free (seed and n are unused)."""
        return 1.0
