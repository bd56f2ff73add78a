"""CSV files of run and sweep directories: tidy tables written atomically, read with validation.

`read_table` returns None for a missing file (its stage has not run) and raises RunFileError naming
the file when it is present but unreadable or lacks a required column, because a report built over a
corrupt file would silently tell the reader something false.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnscope.io import RunFileError, atomic_write_bytes

UNIT_COLUMNS = (
    "layer",
    "unit",
    "role",
    "tau",
    "peak_freq",
    "selectivity",
    "saturation",
    "memory",
    "prominence",
    "selectivity_p",
    "integration",
    "input_drive",
    "mean",
    "std",
    "criteria",
    "tau_censored",
    "memory_censored",
    "free_tau",
    "free_tau_censored",
    "free_persistence",
    "free_saturation",
    "free_period",
    "dynamics",
)
PROFILE_COLUMNS = ("step", "layer", "quantity", "mean")  # required columns of profile.csv (std optional)


def _number(text: str):
    try:
        v = float(text)
    except ValueError:
        return text
    if v.is_integer() and "." not in text and "e" not in text.lower() and math.isfinite(v):
        return int(v)
    return v


@dataclass
class Table:
    """A CSV file as columns and typed rows (numbers parsed); `raw` keeps the bytes for download."""

    path: Path
    columns: list[str]
    rows: list[list]
    raw: bytes

    def col(self, name: str) -> list:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def read_table(path: Path, what: str, required: tuple[str, ...] = ()) -> Table | None:
    """A CSV table, or None when the file is missing; RunFileError when corrupt or lacking columns."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RunFileError(f"{what} {path} cannot be read ({err.__class__.__name__})") from None
    if "\x00" in text:
        raise RunFileError(f"{what} {path} is corrupt (binary data in a CSV file)")
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise RunFileError(f"{what} {path} is corrupt ({err})") from None
    lines = [ln for ln in lines if ln]
    if not lines:
        raise RunFileError(f"{what} {path} is empty")
    header = [h.strip() for h in lines[0]]
    lacking = [c for c in required if c not in header]
    if lacking:
        raise RunFileError(f"{what} {path} is corrupt (no column {', '.join(lacking)})")
    rows = []
    for i, ln in enumerate(lines[1:], 2):
        if len(ln) != len(header):
            raise RunFileError(
                f"{what} {path} is corrupt (line {i} has {len(ln)} fields, the header {len(header)})"
            )
        rows.append([_number(v) for v in ln])
    return Table(path, header, rows, raw)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


def write_csv(path: str | Path, rows: list[dict], columns: list[str]) -> None:
    """A tidy CSV (header = columns; missing values empty), written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in columns])
    atomic_write_bytes(path, buf.getvalue().encode())


def read_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV as dicts of strings (OSError / UnicodeDecodeError when unreadable)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_units_csv(path: str | Path, columns: dict[str, list], extra: tuple[str, ...] = ()) -> None:
    """units.csv: one row per unit, UNIT_COLUMNS in order (then `extra`); floats with 7 significant digits.

    columns: {column: values (U_all,)} for every name in UNIT_COLUMNS (and extra)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = (*UNIT_COLUMNS, *extra)
    w.writerow(names)
    n = len(columns[UNIT_COLUMNS[0]])
    for i in range(n):
        w.writerow(
            [f"{columns[c][i]:.7g}" if isinstance(columns[c][i], float) else columns[c][i] for c in names]
        )
    atomic_write_bytes(path, buf.getvalue().encode())


def read_units(path: Path) -> Table | None:
    """units.csv (None when missing); needs at least layer, unit, role."""
    return read_table(path, "unit table", ("layer", "unit", "role"))


def read_profile(path: Path) -> Table | None:
    """A gradient profile.csv (None when missing)."""
    return read_table(path, "gradient profile", PROFILE_COLUMNS)


def profile_by_step(profile: Table | None) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """{(quantity, layer): (mean (T,), std (T,))} from profile.csv, steps ascending (NaN where empty)."""
    if profile is None:
        return {}
    acc: dict = {}
    for r in profile.dicts():
        layer, step = r["layer"], r["step"]
        if not isinstance(layer, int) or not isinstance(step, int):
            raise RunFileError(f"gradient profile {profile.path} is corrupt (layer {layer!r}, step {step!r})")
        mean = float(r["mean"]) if isinstance(r["mean"], (int, float)) else math.nan
        std = float(r["std"]) if isinstance(r.get("std"), (int, float)) else math.nan
        acc.setdefault((str(r["quantity"]), layer), []).append((step, mean, std))
    out = {}
    for key, rows in acc.items():
        rows.sort()
        out[key] = (np.array([m for _, m, _ in rows]), np.array([s for _, _, s in rows]))
    return out
