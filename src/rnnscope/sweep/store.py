"""Seed aggregates of a sweep's tidy rows. The sweep directory's files (sweep.json, the CSV tables) are
read and written by rnnscope.rundir."""

from __future__ import annotations

import math


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
