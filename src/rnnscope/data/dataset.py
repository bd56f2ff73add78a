"""The one data container: padded arrays with lengths, for built-in tasks and real data alike.

Key: N = number of sequences, T = padded sequence length, C = input channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnscope.errors import BadArgument


@dataclass(frozen=True)
class Split:
    """One split of a data set.

    x: (N, T, C) float32, zero past each sequence's length.
    y: (N,) int64 class indices in [0, n_classes).
    lengths: (N,) int64, 1 <= lengths <= T.
    """

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        if self.x.ndim != 3:
            raise BadArgument(f"x must have shape (N, T, C), got {self.x.shape}")
        n, t, _ = self.x.shape
        if self.y.shape != (n,):
            raise BadArgument(f"y must have shape ({n},), got {self.y.shape}")
        if self.lengths.shape != (n,):
            raise BadArgument(f"lengths must have shape ({n},), got {self.lengths.shape}")
        if n and (self.lengths.min() < 1 or self.lengths.max() > t):
            raise BadArgument(f"lengths must lie in [1, {t}]")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.x.shape[1])

    @property
    def variable_length(self) -> bool:
        return bool(len(self) and self.lengths.min() < self.seq_len)

    def subset(self, idx: np.ndarray) -> Split:
        """Rows `idx` (index array or boolean mask) as a new Split."""
        return Split(self.x[idx], self.y[idx], self.lengths[idx])

    @staticmethod
    def full_length(x: np.ndarray, y: np.ndarray) -> Split:
        """A Split whose sequences all have the full length T."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        return Split(x, np.asarray(y, dtype=np.int64), np.full(x.shape[0], x.shape[1], dtype=np.int64))


@dataclass(frozen=True)
class DataBundle:
    """Train and test splits plus what a model needs to know about them.

    class_names: label text for each class index (the mapping saved in config.json).
    source: JSON-serialisable description (task parameters or file paths, preparation steps).
    """

    train: Split
    test: Split
    n_classes: int
    class_names: list[str]
    source: dict = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        return int(self.train.x.shape[2])
