""".csv files: one series per row, the label in one column (the first by default), with or without a header.

A header row is detected the way `rnnscope stream --header` reads one: the first non-blank row is a header
when any of its value cells (every column but the label column) is not a number; it then names the columns,
and `label_column` may be one of those names. Rows must all have the header's (or the first row's) number of
fields; empty trailing cells are end padding of shorter series (as NaN in the UCR 2018 .tsv files).

Key: T_i = stored length of series i (one channel).
"""

from __future__ import annotations

import csv
import io

from rnnscope.data.formats import RawSplit, _check_label, _floats, fail
from rnnscope.names import unknown_column


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def label_index(label_column, names: list[str] | None, n_fields: int, path: str) -> int:
    """The 0-based label column from an index (int or digits) or a header name; one-line errors."""
    if label_column is None:
        return 0
    text = str(label_column).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < n_fields:
            raise fail(
                path, "", f"label column {index} is out of range: rows have {n_fields} columns (0-based)"
            )
        return index
    if names is None:
        raise fail(path, "", f"label column {text!r} is a name, but the file has no header row")
    if text not in names:
        raise fail(path, "", f"no column named {text!r} in the header; {unknown_column(text, names)}")
    return names.index(text)


def parse_csv(text: str, path: str = "<csv>", label_column=None) -> RawSplit:
    """Rows of values with a label column -> RawSplit of (T_i, 1) series (NaN: missing/padding)."""
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text))) if any(c.strip() for c in r)]
    if not rows:
        raise fail(path, "", "empty file (no data rows)")
    first, first_line = [c.strip() for c in rows[0][1]], rows[0][0]
    guess = label_index(label_column, first, len(first), path) if label_column is not None else 0
    values = [c for j, c in enumerate(first) if j != guess]
    names = first if any(c and not _is_number(c) for c in values) else None
    if names is not None:
        rows = rows[1:]
    n_fields = len(first)
    label = label_index(label_column, names, n_fields, path)
    if n_fields < 2:
        raise fail(path, "line 1", "only one column: expected a label column and values, comma-separated")
    series, labels, where = [], [], []
    for number, row in rows:
        loc = f"line {number}"
        if len(row) != n_fields:
            raise fail(path, loc, f"ragged row: {len(row)} fields but line {first_line} has {n_fields}")
        labels.append(_check_label(row[label], path, loc))
        cells = [c.strip() for j, c in enumerate(row) if j != label]
        series.append(_floats(cells, path, loc, missing=("", "NaN", "nan"))[:, None])
        where.append(loc)
    if not series:
        raise fail(path, "", "no data rows after the header")
    meta = {"format": "csv", "header": names is not None, "label_column": label}
    return RawSplit(series, labels, where, path, meta)
