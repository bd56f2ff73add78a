"""What every built-in task is: a frozen dataclass of parameters that samples labelled sequences.

A task knows its input size, number of classes and sequence length, samples `(x, y)` from a numpy
Generator, and knows its accuracy ceiling: the accuracy of the Bayes-optimal (or a stated oracle) rule,
computed — analytically where possible, otherwise by applying the rule to a large fresh sample.

Key: N = number of sequences, T = sequence length, C = input channels.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from rnnscope.data.dataset import DataBundle, Split
from rnnscope.errors import BadArgument

# Salts that make train, test and ceiling samples independent streams of one seed.
_TRAIN, _TEST, _CEILING = 0, 1, 2


class Task(ABC):
    """Base class. Subclasses are `@dataclass(frozen=True)` with one comment per parameter."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `rnnscope tasks`

    @property
    @abstractmethod
    def input_size(self) -> int: ...

    @property
    @abstractmethod
    def n_classes(self) -> int: ...

    @property
    @abstractmethod
    def seq_len(self) -> int: ...

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw n sequences. Returns x (n, T, C) float32 and y (n,) int64."""

    @abstractmethod
    def oracle(self, x: np.ndarray) -> np.ndarray:
        """The Bayes-optimal (or stated oracle) decision for x (N, T, C) -> (N,) int64."""

    def latents(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Named latent signals of the generative process, each (N, T): e.g. cumulative evidence.

        Analyses correlate units with them (integration). Default: none.
        """
        return {}

    def ceiling(self, seed: int = 0, n: int = 20000) -> float:
        """Accuracy of `oracle` on n fresh sequences (override with an exact formula where one exists)."""
        x, y = self.sample(n, np.random.default_rng([seed, _CEILING]))
        return float(np.mean(self.oracle(x) == y))

    @property
    def class_names(self) -> list[str]:
        return [str(k) for k in range(self.n_classes)]

    def params(self) -> dict:
        """The task's parameters as a JSON-serialisable dict (rebuild with `type(task)(**params)`)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def make(self, n_train: int, n_test: int, seed: int) -> DataBundle:
        """Deterministic train/test data: the same (task, sizes, seed) always gives the same arrays."""
        if n_train < 1 or n_test < 1:
            raise BadArgument("n_train and n_test must be positive")
        with np.errstate(over="ignore", invalid="ignore"):  # reported below as one clear error
            xtr, ytr = self.sample(n_train, np.random.default_rng([seed, _TRAIN]))
            xte, yte = self.sample(n_test, np.random.default_rng([seed, _TEST]))
        if not (np.isfinite(xtr).all() and np.isfinite(xte).all()):
            raise BadArgument(
                f"task {self.name!r} with these parameters produces non-finite inputs "
                "(a value too large for float32?)"
            )
        return DataBundle(
            train=Split.full_length(xtr, ytr),
            test=Split.full_length(xte, yte),
            n_classes=self.n_classes,
            class_names=self.class_names,
            source={"kind": "task", "task": self.name, "params": self.params(), "seed": seed},
        )
