"""Frequency discrimination: which of K oscillation periods is present in a noisy signal? Invites
oscillatory units.

One channel: x_t = amplitude * sin(2 pi t / period_k + phase) + noise * e_t, t = 0..T-1, with the
phase uniform on [0, 2 pi) and independent per sequence, e_t standard Gaussian. The class is k.
Input size = 1; number of classes = len(periods).

Worked example (periods=(6, 10, 15), class 0, amplitude 1, noise 0, phase 0), first 12 steps:

    t:    0    1    2    3    4    5    6    7    8    9   10   11
    x:  0.0  0.9  0.9  0.0 -0.9 -0.9  0.0  0.9  0.9  0.0 -0.9 -0.9     (period 6)

Oracle: the exact Bayes rule for a uniform random phase with known amplitude. The likelihood of
class k averages exp((<x, s_k,phi> - |s_k,phi|^2 / 2) / noise^2) over the phase phi; the integrand
is smooth and periodic in phi, so a 64-point phase grid evaluates it far more accurately than a
Monte-Carlo ceiling needs at any practical signal-to-noise ratio. When every period fits a whole
number of cycles into T (as the defaults do: 10, 6 and 4 cycles), the energy |s_k,phi|^2 =
amplitude^2 T / 2 is the same for every k and phi, the average becomes I0(amplitude |X(f_k)| /
noise^2), and the rule reduces to the largest quadrature (DFT) magnitude |X(f_k)| =
|sum_t x_t exp(-2 pi i t / period_k)|. Ceiling: Monte Carlo of this rule; about 0.98 for the
defaults (chance 1/3).

Key: N = number of sequences, T = seq_len, K = number of periods, G = phase-grid points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import logsumexp

from rnnscope.errors import BadArgument
from rnnscope.tasks.base import Task

_PHASES = 64  # G: phase-grid points for the Bayes average over the unknown phase


@dataclass(frozen=True)
class Frequency(Task):
    """Which of several sinusoid periods (random phase) is buried in Gaussian noise."""

    name: ClassVar[str] = "frequency"
    summary: ClassVar[str] = "which of K oscillation periods is present in a noisy signal (oscillatory units)"

    periods: tuple[float, ...] = (6.0, 10.0, 15.0)  # candidate periods in steps, one per class
    seq_len: int = 60  # steps per sequence
    amplitude: float = 0.7  # sinusoid amplitude
    noise: float = 1.0  # standard deviation of the Gaussian noise at every step

    def __post_init__(self) -> None:
        periods = tuple(float(p) for p in self.periods)  # accept lists (e.g. from JSON) and store a tuple
        object.__setattr__(self, "periods", periods)
        if len(periods) < 2:
            raise BadArgument(f"periods must list at least 2 values, got {len(periods)}")
        if len(set(periods)) != len(periods):
            raise BadArgument(f"periods must be distinct, got {periods}")
        if not all(p >= 2 for p in periods):
            raise BadArgument(f"every period must be at least 2 steps (the Nyquist limit), got {periods}")
        if self.seq_len < 1:
            raise BadArgument(f"seq_len must be positive, got {self.seq_len}")
        if not self.amplitude > 0:
            raise BadArgument(f"amplitude must be positive, got {self.amplitude}")
        if not self.noise >= 0:
            raise BadArgument(f"noise must be non-negative, got {self.noise}")

    @property
    def input_size(self) -> int:
        return 1

    @property
    def n_classes(self) -> int:
        return len(self.periods)

    @property
    def class_names(self) -> list[str]:
        return [f"period {p:g}" for p in self.periods]

    def _waves(self, phase: np.ndarray, k: np.ndarray) -> np.ndarray:
        """amplitude * sin(2 pi t / period_k + phase) for broadcastable phase and k, time last."""
        omega = 2 * np.pi / np.asarray(self.periods)[k]
        t = np.arange(self.seq_len)
        return self.amplitude * np.sin(omega[..., None] * t + np.asarray(phase)[..., None])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(self.n_classes, size=n)
        phase = rng.uniform(0, 2 * np.pi, size=n)
        x = self._waves(phase, y) + self.noise * rng.standard_normal((n, self.seq_len))  # (N, T)
        return x[:, :, None].astype(np.float32), y.astype(np.int64)

    def oracle(self, x: np.ndarray) -> np.ndarray:
        phi = 2 * np.pi * np.arange(_PHASES) / _PHASES
        s = self._waves(phi[None, :], np.arange(self.n_classes)[:, None])  # (K, G, T)
        inv_var = 1.0 / max(self.noise**2, 1e-12)
        loglik = (x[:, :, 0].astype(np.float64) @ s.reshape(-1, self.seq_len).T).reshape(-1, *s.shape[:2])
        loglik = (loglik - 0.5 * (s**2).sum(-1)) * inv_var  # (N, K, G)
        return np.argmax(logsumexp(loglik, axis=2), axis=1).astype(np.int64)
