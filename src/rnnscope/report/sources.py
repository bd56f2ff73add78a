"""Reading what a run or comparison directory holds, for the report: present, missing, or corrupt.

A missing file is normal (its stage has not run) and the readers return None; a file that is present
but unreadable raises RunFileError naming it, because a report built over a corrupt file would silently
tell the reader something false. Figures are validated PNGs; tables are CSV with required columns.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from rnnscope.io import RunFileError, read_json
from rnnscope.report.html import png_size

COMPARISON_FILES = ("results.csv", "context.csv", "cost.csv")


def kind_of(path: Path) -> str:
    """ "run" or "comparison"; RunFileError (one line) for anything else."""
    if not path.exists():
        raise RunFileError(f"{path} does not exist")
    if not path.is_dir():
        raise RunFileError(f"{path} is not a directory")
    if (path / "config.json").exists():
        return "run"
    if any((path / name).exists() for name in COMPARISON_FILES):
        return "comparison"
    raise RunFileError(
        f"{path} is neither a run directory (no config.json; create one with `rnnscope run` or "
        f"`rnnscope train`) nor a comparison output (no {', '.join(COMPARISON_FILES)})"
    )


def optional_json(path: Path, what: str) -> dict | None:
    return read_json(path, what) if path.exists() else None


def read_png(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RunFileError(f"figure {path} cannot be read ({err.__class__.__name__})") from None
    try:
        png_size(data)
    except ValueError:
        raise RunFileError(f"figure {path} is corrupt (not a PNG image)") from None
    return data


def find_png(
    directory: Path, keywords: tuple[str, ...], exclude: tuple[str, ...] = (), taken: set[Path] | None = None
) -> Path | None:
    """The first PNG in `directory` (sorted by name) whose name contains one of `keywords` (in the order
    the keywords are given) and none of `exclude`, skipping those already `taken`."""
    if not directory.is_dir():
        return None
    files = sorted(directory.glob("*.png"))
    for kw in keywords:
        for f in files:
            name = f.stem.lower()
            if kw in name and not any(x in name for x in exclude) and (taken is None or f not in taken):
                return f
    return None


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


def layer_index(value) -> int | None:
    """0 from 0, "0", "l0", "layer0", "layer 0"; None otherwise."""
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    for prefix in ("layer", "l"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    return int(text) if text.isdigit() else None
