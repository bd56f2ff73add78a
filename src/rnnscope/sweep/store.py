"""Seed aggregates of a sweep's tidy rows. The sweep directory's files (sweep.json, the CSV tables) are
read and written by rnnscope.rundir."""

from __future__ import annotations

import math

CHANCE_MARGIN = 3.0  # standard errors above chance a training accuracy must reach to count as learning


def at_chance(train_acc, n_classes: int, n_train: int) -> bool | None:
    """Did a run learn nothing? True when its final training accuracy is within CHANCE_MARGIN binomial
    standard errors of chance (1 / n_classes) over its `n_train` training sequences:
    train_acc <= p + 3·sqrt(p(1 − p) / n_train), p = 1 / n_classes. None when there is no accuracy
    (a failed run)."""
    if not isinstance(train_acc, (int, float)) or not math.isfinite(train_acc):
        return None
    p = 1.0 / n_classes
    return bool(train_acc <= p + CHANCE_MARGIN * math.sqrt(p * (1 - p) / max(1, n_train)))


def aggregate(rows: list[dict], x: str, key: str, group: str = "model") -> list[dict]:
    """Mean and spread of `key` over seeds, per (group, x): rows with finite values only.

    Returns [{group, x, "mean", "std", "min", "max", "n"}], sorted by group order of first
    appearance, then x.
    """
    cells: dict[tuple, list[float]] = {}
    for r in rows:
        v = r.get(key)
        if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        cells.setdefault((r[group], r[x]), []).append(float(v))
    order = list(dict.fromkeys(r[group] for r in rows))
    out = []
    for (g, xv), vals in sorted(cells.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        n = len(vals)
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
        out.append({group: g, x: xv, "mean": mean, "std": std, "min": min(vals), "max": max(vals), "n": n})
    return out
