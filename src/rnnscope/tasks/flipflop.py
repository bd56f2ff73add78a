"""The N-bit flip-flop (Sussillo & Barak 2013) as classification: hold the last pulse of every channel.

Each of the N channels carries sparse pulses of +1 or -1 (zero in between); a channel's bit is the sign of
its most recent pulse. Every channel is set at step 0 (a pulse of random sign), then pulses a random sign
with probability `p_pulse` at each later step. The class is the bit pattern held at the last step,
k = Σ_i bit_i 2^i with bit_i = 1 for +1, so there are 2^N classes; class names spell the pattern by channel,
e.g. "+-+" (channel 0 first). Input size = N. A network solves it by holding one of 2^N memories between
pulses: the classic picture is 2^N stable fixed points at the corners of a cube, with saddles between them.

Worked example (n_bits=3, seq_len=6, class 0b101 = 5, name "+-+"), rows = channels, columns = steps:

    step        0   1   2   3   4   5    held at the end
    channel 0  +1   .   .  -1   .  +1    +   bit 1
    channel 1  -1   .   .   .   .   .    -   bit 0
    channel 2  -1  +1   .   .   .   .    +   bit 1

Oracle: the sign of each channel's last non-zero input. The inputs are noise-free and every channel is
set at step 0, so the ceiling is exactly 1.0 (chance 1/2^N).
Latents: `bit_i` (N, T), channel i's held sign (+1 / -1) after each step.

Key: N = number of sequences (in shapes), T = seq_len, C = n_bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rnnscope.tasks.base import Task

MAX_BITS = 10  # 2^10 classes already; more is not a classification task anyone can read


@dataclass(frozen=True)
class FlipFlop(Task):
    """Report the bit pattern held by `n_bits` flip-flops, each set and reset by sparse +-1 pulses."""

    name: ClassVar[str] = "flipflop"
    summary: ClassVar[str] = "N-bit flip-flop: hold the sign of each channel's last pulse (2^N fixed points)"

    n_bits: int = 3  # channels; the class is the held pattern of all of them, 2^n_bits classes
    seq_len: int = 30  # steps per sequence
    p_pulse: float = 0.1  # probability of a pulse (random sign) on a channel at each step after step 0

    def __post_init__(self) -> None:
        if not 1 <= self.n_bits <= MAX_BITS:
            raise ValueError(f"n_bits must lie in [1, {MAX_BITS}], got {self.n_bits}")
        if self.seq_len < 1:
            raise ValueError(f"seq_len must be positive, got {self.seq_len}")
        if not 0 <= self.p_pulse <= 1:
            raise ValueError(f"p_pulse must lie in [0, 1], got {self.p_pulse}")

    @property
    def input_size(self) -> int:
        return self.n_bits

    @property
    def n_classes(self) -> int:
        return 2**self.n_bits

    @property
    def class_names(self) -> list[str]:
        return [
            "".join("+" if (k >> i) & 1 else "-" for i in range(self.n_bits)) for k in range(self.n_classes)
        ]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        shape = (n, self.seq_len, self.n_bits)
        pulse = rng.random(shape) < self.p_pulse
        pulse[:, 0] = True
        signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        x = np.where(pulse, signs, 0.0).astype(np.float32)
        return x, self.oracle(x)

    def _held(self, x: np.ndarray) -> np.ndarray:
        """(N, T, C) sign held after each step (+1 / -1; 0 before a channel's first pulse)."""
        idx = np.where(x != 0, np.arange(x.shape[1])[None, :, None], -1)
        last = np.maximum.accumulate(idx, axis=1)  # index of the latest pulse so far
        held = np.take_along_axis(x, np.maximum(last, 0), axis=1)
        return np.where(last >= 0, held, 0.0)

    def oracle(self, x: np.ndarray) -> np.ndarray:
        bits = self._held(x)[:, -1] > 0  # (N, C)
        return (bits * (1 << np.arange(self.n_bits))).sum(axis=1).astype(np.int64)

    def latents(self, x: np.ndarray) -> dict[str, np.ndarray]:
        held = self._held(x)
        return {f"bit_{i}": held[:, :, i].astype(np.float64) for i in range(self.n_bits)}

    def ceiling(self, seed: int = 0, n: int = 20000) -> float:
        """Exactly 1.0: noise-free pulses and every channel set at step 0 (seed and n are unused)."""
        return 1.0
