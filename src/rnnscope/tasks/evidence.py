"""Evidence accumulation: which of K noisy channels drifts upward? Elicits integrator units.

Every channel is white Gaussian noise; the channel named by the class also carries a small constant
mean (`drift`) at every step. One step tells almost nothing; only the sum over the whole sequence
separates the classes, so a network has to integrate. Input size = n_classes (one channel per class).

Worked example (n_classes=3, seq_len=6, drift=0.4, noise=1, class 1; numbers rounded):

    t          0     1     2     3     4     5    sum
    channel 0  0.3  -1.1   0.6  -0.2   0.9  -0.8  -0.3
    channel 1  1.2  -0.1   0.9   0.7  -0.5   1.0   3.2   <- drifts: mean 0.4 per step
    channel 2 -0.7   0.8  -1.3   0.1   0.4  -0.2  -0.9

Bayes-optimal rule (equal priors, equal variances): the channel with the largest sum. With
d = drift * sqrt(seq_len) / noise its accuracy is exactly  P = integral phi(z) Phi(z + d)^(K-1) dz,
which `ceiling` evaluates by numerical quadrature. Defaults give d = 3.10, ceiling 0.974 (chance 1/3).

Latents: `evidence_k` (N, T), the running sum of channel k, for each k.

Key: N = number of sequences, T = seq_len, K = n_classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import integrate

from rnnscope.errors import BadArgument
from rnnscope.tasks.base import Task


@dataclass(frozen=True)
class Evidence(Task):
    """Which of `n_classes` noisy channels has a positive mean (needs integration over time)."""

    name: ClassVar[str] = "evidence"
    summary: ClassVar[str] = "which of K noisy channels drifts upward (integration over the whole sequence)"

    n_classes: int = 3  # number of channels; exactly one drifts, and its index is the class
    seq_len: int = 60  # steps per sequence
    drift: float = 0.4  # mean added at every step to the drifting channel
    noise: float = 1.0  # standard deviation of the Gaussian noise on every channel and step

    def __post_init__(self) -> None:
        if self.n_classes < 2:
            raise BadArgument(f"n_classes must be at least 2, got {self.n_classes}")
        if self.seq_len < 1:
            raise BadArgument(f"seq_len must be positive, got {self.seq_len}")
        if not self.drift > 0:
            raise BadArgument(f"drift must be positive, got {self.drift}")
        if not self.noise >= 0:
            raise BadArgument(f"noise must be non-negative, got {self.noise}")

    @property
    def input_size(self) -> int:
        return self.n_classes

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(self.n_classes, size=n)
        x = self.noise * rng.standard_normal((n, self.seq_len, self.n_classes), dtype=np.float32)
        x[np.arange(n), :, y] += np.float32(self.drift)  # (N, T) slice of each sequence's own channel
        return x, y.astype(np.int64)

    def oracle(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(x.astype(np.float64).sum(axis=1), axis=1).astype(np.int64)  # (N,)

    def latents(self, x: np.ndarray) -> dict[str, np.ndarray]:
        cum = np.cumsum(x.astype(np.float64), axis=1)  # (N, T, K)
        return {f"evidence_{k}": cum[:, :, k] for k in range(self.n_classes)}

    def ceiling(self, seed: int = 0, n: int = 20000) -> float:
        """Exact accuracy of the largest-sum rule (seed and n are unused: no sampling)."""
        if self.noise == 0:
            return 1.0
        d = self.drift * np.sqrt(self.seq_len) / self.noise
        k = self.n_classes - 1
        value, _ = integrate.quad(lambda z: _normal_pdf(z) * _normal_cdf(z + d) ** k, -np.inf, np.inf)
        return float(value)


def _normal_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _normal_cdf(z: float) -> float:
    # scipy.stats would do the same, at a second of import time for every sweep worker
    return 0.5 * math.erfc(-z / math.sqrt(2))
