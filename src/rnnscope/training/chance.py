"""Never silent at chance: did a run's training accuracy leave the majority-class rate?

`chance_warning(history, majority)` -> one sentence with what to try, or None. A run "stayed near chance" when
its best training accuracy over every epoch is within `MARGIN` of the majority-class rate of its training
split (the accuracy of always answering the most common class), i.e. it never fitted even its own
training series. Such a run has nothing to converge to: its `converged_epoch` is None.
"""

from __future__ import annotations

import math

import numpy as np

MARGIN = 0.05  # best training accuracy within this of the majority rate counts as "near chance"


def majority_rate(y: np.ndarray) -> float:
    """Share of the most common class in y (N,) int: the accuracy of always answering it."""
    return float(np.bincount(y).max() / len(y)) if len(y) else float("nan")


def best_train_acc(history: list[dict]) -> float:
    vals = [r.get("train_acc", float("nan")) for r in history[1:]]  # epoch 0 is the untrained model
    finite = [v for v in vals if math.isfinite(v)]
    return max(finite) if finite else float("nan")


def near_chance(history: list[dict], majority: float) -> bool:
    best = best_train_acc(history)
    return math.isfinite(best) and best <= majority + MARGIN


def chance_warning(
    history: list[dict], majority: float, cfg, kind: str, long_series: bool = False
) -> str | None:
    """One sentence naming the accuracies and what to try, or None when training left chance."""
    if not near_chance(history, majority):
        return None
    tries = []
    if cfg is not None:
        tries.append(f"more epochs (--epochs {2 * cfg.epochs})")
        if cfg.batch_size > 8:
            tries.append(f"a smaller batch (--batch-size {max(cfg.batch_size // 2, 8)})")
    if kind in ("rnn", "lstm", "gru"):  # the kinds with a choice of readout (not the transformer)
        tries.append("--readout mean")
    if long_series:
        tries.append("a larger --downsample k (fewer, coarser steps)")
    if kind != "gru":
        tries.append("--model gru")
    return (
        f"training accuracy stayed near chance (best {best_train_acc(history):.3f}, majority class "
        f"{majority:.3f}): the model learned nothing from this data; try {', '.join(tries)}"
    )
