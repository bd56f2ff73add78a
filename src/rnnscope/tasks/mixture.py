"""The default task: Poisson clicks plus a rhythm — one decision that needs three behaviours at once.

Channels (C = 3), length T = `seq_len`:
  0: left clicks   — a click (value 1) at each step with probability `p_high` or `p_low`,
  1: right clicks  — the other probability, so one side clicks more (Brunton et al. 2013's task),
  2: a rhythm      — `amplitude * sin(2π f t + φ)` with f one of `freqs`, random phase φ,
every channel plus Gaussian noise of std `noise`. Class = 2 * (which rhythm) + (right side clicks more),
so K = 4 classes: "slow/left", "slow/right", "fast/left", "fast/right".

    step:   0    1    2    3    4    5    6    7 ...
    left:   0    1    0    0    0    1    0    0      (noise not shown)
    right:  0    0    0    1    1    0    1    1      -> right clicks more
    rhythm: .00  .50  .87  1.0  .87  .50  .00 -.50    (f = 1/12: slow)  => class 1 "slow/right"

What it elicits in a trained network (roles of docs/analysis.md, counts per seed from
benchmarks/demo_promise.py in the README): *transient* units that respond to each click and decay
(short-term memory), *integrators* that hold a graded running sum of the click difference, *latching*
units that switch to a saturated state and hold it, and *oscillatory* units that ring by themselves when
the input is removed (on seed 0 at the fast rhythm's period, 5 steps) — not merely entrained by the input.
Gradients must reach back to the first clicks, so the profile of ∂L/∂h_t shows how far back a model learns.

Ceiling: the Bayes rule is separable. For the clicks, the log-likelihood ratio of Bernoulli trains with
swapped rates is (n_L - n_R)·log-odds, so the optimal choice is the side with more clicks (ties: a coin);
clicks are recovered exactly by thresholding at 1/2 (noise ≪ 1/2). For the rhythm (equal energy, uniform
phase) the optimal choice is the candidate with the larger Fourier magnitude. The ceiling is the oracle's
accuracy on 20 000 fresh sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.errors import BadArgument
from rnnscope.tasks.base import Task


@dataclass(frozen=True)
class Mixture(Task):
    seq_len: int = 60  # steps per sequence
    p_high: float = 0.25  # click probability per step on the side that clicks more
    p_low: float = 0.10  # click probability per step on the other side
    freqs: tuple[float, float] = (1 / 12, 1 / 5)  # rhythm frequencies (cycles/step): slow, fast
    amplitude: float = 0.5  # rhythm amplitude
    noise: float = 0.15  # Gaussian noise std on every channel

    name = "mixture"
    summary = "clicks on two channels + a rhythm: integrate, respond transiently, oscillate (default)"

    def __post_init__(self) -> None:
        if self.seq_len < 2:
            raise BadArgument(f"seq_len must be at least 2, got {self.seq_len}")
        if not 0 <= self.p_low < self.p_high <= 1:
            raise BadArgument(f"need 0 <= p_low < p_high <= 1, got p_low={self.p_low}, p_high={self.p_high}")
        if len(self.freqs) != 2 or not all(0 < f < 0.5 for f in self.freqs) or self.freqs[0] == self.freqs[1]:
            raise BadArgument(
                f"freqs must be two different frequencies in (0, 0.5) cycles/step, got {self.freqs}"
            )
        if self.amplitude <= 0 or self.noise < 0:
            raise BadArgument("amplitude must be positive and noise non-negative")
        object.__setattr__(self, "freqs", tuple(float(f) for f in self.freqs))

    @property
    def input_size(self) -> int:
        return 3

    @property
    def n_classes(self) -> int:
        return 4

    @property
    def class_names(self) -> list[str]:
        return ["slow/left", "slow/right", "fast/left", "fast/right"]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(self.seq_len)
        rhythm = rng.integers(0, 2, n)
        side = rng.integers(0, 2, n)  # 1: right clicks more
        p = np.where(side[:, None] == 1, [self.p_low, self.p_high], [self.p_high, self.p_low])  # (n, 2)
        clicks = rng.random((n, self.seq_len, 2)) < p[:, None, :]
        phase = rng.uniform(0, 2 * np.pi, n)
        f = np.asarray(self.freqs)[rhythm]
        wave = self.amplitude * np.sin(2 * np.pi * f[:, None] * t[None] + phase[:, None])
        x = np.concatenate([clicks.astype(np.float64), wave[:, :, None]], axis=2)
        x += self.noise * rng.standard_normal(x.shape)
        return x.astype(np.float32), (2 * rhythm + side).astype(np.int64)

    def oracle(self, x: np.ndarray) -> np.ndarray:
        counts = (x[:, :, :2] > 0.5).sum(1)  # (N, 2)
        diff = counts[:, 1] - counts[:, 0]
        tie_break = (np.arange(len(x)) % 2).astype(np.int64)  # a fair, deterministic coin for ties
        side = np.where(diff > 0, 1, np.where(diff < 0, 0, tie_break))
        t = np.arange(x.shape[1])
        power = [np.abs(x[:, :, 2] @ np.exp(-2j * np.pi * f * t)) for f in self.freqs]
        rhythm = (power[1] > power[0]).astype(np.int64)
        return 2 * rhythm + side

    def latents(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """evidence: running click difference right - left (N, T); clicks: instantaneous difference."""
        clicks = (x[:, :, 1] > 0.5).astype(np.float32) - (x[:, :, 0] > 0.5).astype(np.float32)
        return {"evidence": np.cumsum(clicks, axis=1), "clicks": clicks}
