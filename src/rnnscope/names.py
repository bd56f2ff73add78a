"""The names of the built-in models, tasks and data sets, and the one way they are matched.

A light module (no torch, numpy or scipy), so the CLI can refuse a mistyped name before it imports any
of them. The registries themselves (`config.MODEL_KINDS`, `tasks.TASKS`, `data.ucr.DATASETS`) must list
the same names; tests/test_cli_errors.py checks that they do.

Matching is case-insensitive and returns the canonical spelling: `canonical("LSTM", MODEL_KINDS, "model")`
-> "lstm", `canonical("gunpoint", DATASET_NAMES, "dataset")` -> "GunPoint".
"""

from __future__ import annotations

import difflib

from rnnscope.errors import BadArgument

MODEL_KINDS = ("rnn", "lstm", "gru", "transformer")
TASK_NAMES = ("mixture", "evidence", "motif", "frequency", "recall", "flipflop")
DATASET_NAMES = (
    "GunPoint",
    "ItalyPowerDemand",
    "ArrowHead",
    "OSULeaf",
    "ACSF1",
    "PickupGestureWiimoteZ",
    "BasicMotions",
    "JapaneseVowels",
)
COMPANION_CHOICES = ("auto", "none", "lstm", "gru")  # `rnnscope run --companion` (stages.companion.CHOICES)


def canonical(name: str, names, what: str) -> str:
    """The entry of `names` that equals `name` ignoring case; BadArgument naming the choices otherwise."""
    by_lower = {n.lower(): n for n in names}
    found = by_lower.get(str(name).strip().lower())
    if found is None:
        raise BadArgument(f"unknown {what} {name!r}; choose from {', '.join(names)}")
    return found


def listing(names, limit: int = 12) -> str:
    """The names joined for a one-line message, the first `limit` only when there are more:
    listing(["a", "b", "c"], 2) -> "a, b, ... (3 in all)"."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])}, ... ({len(names)} in all)"


def unknown_column(name: str, names) -> str:
    """The tail of a "no such column" message: the nearest header name, if one is close, and the columns
    (shortened by `listing`): "did you mean 'label'? columns: label, t0, ... (252 in all)"."""
    close = difflib.get_close_matches(str(name), [str(n) for n in names], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}columns: {listing(names)}"


def spelled(name: str, names) -> str:
    """The canonical spelling of `name` when `names` holds it in any case, else `name` unchanged (for
    registries a user may extend: the registry itself refuses an unknown name when it is used)."""
    return {n.lower(): n for n in names}.get(str(name).strip().lower(), name)


def model_kind(name: str) -> str:
    """'LSTM' -> 'lstm'."""
    return canonical(name, MODEL_KINDS, "model")


def task_name(name: str) -> str:
    """'Mixture' -> 'mixture'."""
    return canonical(name, TASK_NAMES, "task")


def dataset_name(name: str) -> str:
    """'gunpoint' -> 'GunPoint'."""
    return canonical(name, DATASET_NAMES, "dataset")


def companion(name: str) -> str:
    """'LSTM' -> 'lstm' among COMPANION_CHOICES."""
    return canonical(name, COMPANION_CHOICES, "companion")


DEFAULT_MAX_DISTANCE = 1000  # `rnnscope context --max-distance`: the longest delay a sweep accepts
PIPELINE_SEQUENCES = 512  # `rnnscope run --sequences`: test sequences recorded and analysed
