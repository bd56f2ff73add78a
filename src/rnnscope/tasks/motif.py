"""Motif detection: which of K short multichannel motifs is hidden somewhere in noise? Elicits
selective and transient units.

The K motifs are fixed patterns of `motif_len` steps over `channels` channels, drawn once from
`motif_seed`, made orthogonal to each other and scaled so that every entry has root-mean-square
`amplitude` (so all motifs carry the same energy). Each sequence is Gaussian noise with the class's
motif added at a uniformly random position. A unit that fires briefly when "its" motif passes by is
the natural solution. Input size = channels; number of classes = n_classes.

Worked example (channels=1 for the picture, motif_len=4, class 0 planted at t = 5):

    motif 0:  + + - +          motif 1:  - + + -
    t:        0  1  2  3  4 [5  6  7  8] 9 10 11
    x:        .  .  .  .  . [+  +  -  +] .  .  .      (. = noise only; noise is added everywhere)

Oracle: the exact Bayes rule. With equal-energy motifs and a uniform position p, the likelihood of
class k is proportional to  sum_p exp(<x[p:p+L], motif_k> / noise^2),  so the rule is the argmax over
k of a log-sum-exp over positions of the matched-filter outputs (not just their maximum).
Defaults give a Monte-Carlo ceiling of about 0.97 (chance 1/3).

Latents: `match_k` (N, T), the correlation of motif k with the window that ends at step t (zero for
the first motif_len - 1 steps): it peaks as the motif completes.

Key: N = number of sequences, T = seq_len, C = channels, K = n_classes, L = motif_len,
P = T - L + 1 possible positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import logsumexp

from rnnscope.errors import BadArgument
from rnnscope.tasks.base import Task


@dataclass(frozen=True)
class Motif(Task):
    """Which of `n_classes` fixed motifs occurs at a random position in Gaussian noise."""

    name: ClassVar[str] = "motif"
    summary: ClassVar[str] = "which of K short motifs appears somewhere in noise (selective, transient)"

    n_classes: int = 3  # number of distinct motifs; the planted motif's index is the class
    seq_len: int = 60  # steps per sequence
    channels: int = 4  # input channels the motifs span
    motif_len: int = 5  # steps per motif
    amplitude: float = 1.0  # root-mean-square value of a motif entry
    noise: float = 1.0  # standard deviation of the Gaussian noise on every channel and step
    motif_seed: int = 0  # seed that fixes the motif patterns (independent of the data seed)

    def __post_init__(self) -> None:
        for field in ("n_classes", "seq_len", "channels", "motif_len"):
            if getattr(self, field) < 1:
                raise BadArgument(f"{field} must be positive, got {getattr(self, field)}")
        if self.n_classes < 2:
            raise BadArgument(f"n_classes must be at least 2, got {self.n_classes}")
        if self.motif_len > self.seq_len:
            raise BadArgument(f"motif_len must be at most seq_len={self.seq_len}, got {self.motif_len}")
        if self.n_classes > self.motif_len * self.channels:
            raise BadArgument(
                f"n_classes must be at most motif_len * channels = {self.motif_len * self.channels} "
                f"(motifs are orthogonal), got {self.n_classes}"
            )
        if not self.amplitude > 0:
            raise BadArgument(f"amplitude must be positive, got {self.amplitude}")
        if not self.noise >= 0:
            raise BadArgument(f"noise must be non-negative, got {self.noise}")

    @property
    def input_size(self) -> int:
        return self.channels

    def motifs(self) -> np.ndarray:
        """The K fixed motifs, (K, L, C) float64: orthogonal, every entry of RMS `amplitude`."""
        dim = self.motif_len * self.channels
        g = np.random.default_rng(self.motif_seed).standard_normal((dim, self.n_classes))
        q, r = np.linalg.qr(g)  # orthonormal columns; fix signs so the result depends on the seed only
        q = q * np.sign(np.diag(r))
        return (q.T * self.amplitude * np.sqrt(dim)).reshape(self.n_classes, self.motif_len, self.channels)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(self.n_classes, size=n)
        pos = rng.integers(self.seq_len - self.motif_len + 1, size=n)
        x = self.noise * rng.standard_normal((n, self.seq_len, self.channels), dtype=np.float32)
        steps = pos[:, None] + np.arange(self.motif_len)  # (N, L)
        x[np.arange(n)[:, None], steps] += self.motifs()[y].astype(np.float32)
        return x, y.astype(np.int64)

    def _match(self, x: np.ndarray) -> np.ndarray:
        """Matched-filter outputs <x[p:p+L], motif_k>, (N, P, K): one (N, P, C) @ (C, K) per motif step."""
        x, m, n_pos = x.astype(np.float64), self.motifs(), x.shape[1] - self.motif_len + 1
        return sum(x[:, i : i + n_pos] @ m[:, i].T for i in range(self.motif_len))

    def oracle(self, x: np.ndarray) -> np.ndarray:
        inv_var = 1.0 / max(self.noise**2, 1e-12)
        score = logsumexp(self._match(x) * inv_var, axis=1)  # (N, K) log-likelihood up to a constant
        return np.argmax(score, axis=1).astype(np.int64)

    def latents(self, x: np.ndarray) -> dict[str, np.ndarray]:
        match = self._match(x)  # (N, P, K); window p ends at step p + L - 1
        out = np.zeros((x.shape[0], x.shape[1], self.n_classes))
        out[:, self.motif_len - 1 :] = match
        return {f"match_{k}": out[:, :, k] for k in range(self.n_classes)}
