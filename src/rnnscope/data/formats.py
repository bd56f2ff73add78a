"""Parsers for the UCR/UEA archive formats: `.ts`, `.tsv`, `.txt` and `.npz`. Pure numpy, no pickle.

Every parser returns a `RawSplit` per split: the series exactly as stored (NaN where a value is missing or a
row is padded), the labels as text, and where each series came from, so that later errors can name the line.
Turning raw series into padded arrays is `prepare.py`'s job. Formats are described in docs/data.md.

Key: T_i = stored length of series i, C = channels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnscope.errors import BadFile


class DataFormatError(BadFile):
    """A data file that cannot be used; the message is one line naming the file (and line, where known)."""


def fail(path: str | Path, where: str, msg: str) -> DataFormatError:
    """Build a one-line DataFormatError: '<path>: <where>: <msg>'."""
    text = f"{path}: {where}: {msg}" if where else f"{path}: {msg}"
    return DataFormatError(" ".join(text.split()))


@dataclass(frozen=True)
class RawSplit:
    """One split as stored in a file.

    series: list of N arrays, each (T_i, C) float64; NaN = missing value or end padding.
    labels: list of N label strings as written (numeric labels are canonicalised in prepare.py).
    where: list of N locations ("line 23", "X_train[4]") for error messages.
    path: the file it came from. meta: format name and header fields.
    """

    series: list[np.ndarray]
    labels: list[str]
    where: list[str]
    path: str
    meta: dict = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return int(self.series[0].shape[1])


def _short(token: str) -> str:
    return repr(token if len(token) <= 20 else token[:20] + "...")


def _floats(tokens: list[str], path: str, where: str, missing: tuple[str, ...] = ()) -> np.ndarray:
    """Parse text tokens to (len(tokens),) float64; tokens in `missing` become NaN; inf is an error."""
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = np.empty(len(tokens))
        for j, tok in enumerate(tokens):
            tok = tok.strip()
            if tok in missing:
                values[j] = np.nan
                continue
            try:
                values[j] = float(tok)
            except ValueError:
                what = "an empty value" if not tok else f"non-numeric value {_short(tok)}"
                raise fail(path, where, f"{what} (value {j + 1})") from None
    if np.isinf(values).any():
        j = int(np.flatnonzero(np.isinf(values))[0])
        bad = _short(tokens[j].strip())
        raise fail(path, where, f"infinite value {bad} (value {j + 1}); only finite numbers allowed")
    return values


def _reason(e: Exception) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text[:80]}" if text else type(e).__name__


def _read_text(path: str | Path) -> str:
    """The file as text; undecodable bytes become U+FFFD and then fail as non-numeric values."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise fail(path, "", f"cannot read file ({e.strerror or e})") from None
    return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- .ts (sktime / aeon)

_TS_BOOLS = {"timestamps", "missing", "univariate", "equallength", "classlabel", "targetlabel"}


def _ts_header(lines: list[str], path: str) -> tuple[dict, int]:
    """Parse the header up to @data. Returns (header, index of the first line after @data)."""
    header: dict = {}
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        where = f"line {i + 1}"
        if not s.startswith("@"):
            raise fail(path, where, "data before the @data line (a .ts header ends with @data)")
        if len(s) == 1 or s[1].isspace():
            raise fail(path, where, "a lone '@' (expected a tag such as @data)")
        tag, *values = s[1:].split()
        tag = tag.lower()
        if tag == "data":
            if values:
                raise fail(path, where, "@data takes no value")
            return header, i + 1
        if tag in _TS_BOOLS:
            if not values or values[0].lower() not in ("true", "false"):
                raise fail(path, where, f"@{tag} needs true or false")
            header[tag] = values[0].lower() == "true"
            if tag == "classlabel":
                if header[tag] and len(values) < 2:
                    raise fail(path, where, "@classLabel true must list the class labels")
                header["labels"] = values[1:]
        elif tag in ("dimensions", "serieslength"):
            if len(values) != 1 or not values[0].isdecimal() or len(values[0]) > 9 or int(values[0]) < 1:
                raise fail(path, where, f"@{tag} needs a positive integer")
            header[tag] = int(values[0])
        elif tag == "problemname":
            header.setdefault("problemname", " ".join(values))
        header.setdefault("lines", {})[tag] = i + 1  # unknown tags are kept, never fatal
    if not any(line.strip() for line in lines):
        raise fail(path, "", "empty file")
    raise fail(path, "", "no @data line (not a .ts file?)")


def _ts_check_header(h: dict, path: str) -> None:
    def at(tag: str) -> str:
        return f"line {h['lines'][tag]}"

    if h.get("timestamps"):
        raise fail(path, at("timestamps"), "time-stamped .ts data (@timeStamps true) is not supported")
    if h.get("targetlabel"):
        raise fail(path, at("targetlabel"), "regression data (@targetLabel true); need class labels")
    if h.get("classlabel") is False:
        raise fail(path, at("classlabel"), "@classLabel false: no label column, rnnscope needs class labels")
    if h.get("univariate") and h.get("dimensions", 1) != 1:
        raise fail(
            path,
            at("dimensions"),
            f"header contradicts itself: @univariate true but @dimensions {h['dimensions']}",
        )


def parse_ts(text: str, path: str = "<ts>") -> RawSplit:
    """Parse the text of a .ts file (header checked against the data). Series: (T_i, C) float64."""
    lines = text.splitlines()
    h, start = _ts_header(lines, path)
    _ts_check_header(h, path)
    n_dims = 1 if h.get("univariate") else h.get("dimensions")
    declared = set(h.get("labels", [])) if h.get("classlabel") else None
    series, labels, where = [], [], []
    for i in range(start, len(lines)):
        s = lines[i].strip()
        if not s or s.startswith("#"):
            continue
        loc = f"line {i + 1}"
        *dims, label = s.split(":")
        label = label.strip()
        if not dims or "," in label or not label:
            raise fail(path, loc, "missing class label (each line ends with ':<label>')")
        if declared is not None and label not in declared:
            listed = " ".join(sorted(declared))
            raise fail(path, loc, f"label {_short(label)} is not listed in @classLabel ({listed})")
        if n_dims is None:
            n_dims = len(dims)
        elif len(dims) != n_dims:
            source = "the header says" if ("dimensions" in h or h.get("univariate")) else "earlier lines have"
            raise fail(path, loc, f"{len(dims)} dimensions but {source} {n_dims}")
        chans = [_floats(d.split(","), path, loc, missing=("?",)) for d in dims]
        if len({len(c) for c in chans}) > 1:
            sizes = ", ".join(str(len(c)) for c in chans)
            raise fail(path, loc, f"dimensions of one series differ in length ({sizes})")
        x = np.stack(chans, axis=1)
        if h.get("missing") is False and np.isnan(x).any():
            raise fail(path, loc, "missing value ('?' or NaN) but the header says @missing false")
        t = x.shape[0]
        if h.get("equallength") and series and t != series[0].shape[0]:
            first = series[0].shape[0]
            raise fail(path, loc, f"length {t} but @equalLength true and the first series has {first}")
        if h.get("equallength") is not False and h.get("serieslength", t) != t:
            raise fail(path, loc, f"length {t} but the header says @seriesLength {h['serieslength']}")
        series.append(x)
        labels.append(label)
        where.append(loc)
    if not series:
        raise fail(path, "", "empty file (no series after @data)")
    meta = {"format": "ts", "problem_name": h.get("problemname"), "declared_labels": h.get("labels")}
    return RawSplit(series, labels, where, path, meta)


def summarize_ts(path: str | Path) -> dict:
    """Cheap summary of a .ts file, numbers left unparsed: n, length_min/max, channels, labels (sorted)."""
    lines = _read_text(path).splitlines()
    _, start = _ts_header(lines, str(path))
    lengths, channels, labels = [], set(), set()
    for line in lines[start:]:
        s = line.strip()
        if s and not s.startswith("#"):
            *dims, label = s.split(":")
            lengths.append(dims[0].count(",") + 1 if dims else 0)
            channels.add(len(dims))
            labels.add(label.strip())
    return {
        "n": len(lengths),
        "length_min": min(lengths, default=0),
        "length_max": max(lengths, default=0),
        "channels": sorted(channels),
        "labels": sorted(labels),
    }


# ---------------------------------------------------------------- .tsv (UCR 2018) and .txt (UCR 2015)


def _check_label(label: str, path: str, loc: str) -> str:
    """Labels are free text, but a number must be an integer: a real-valued first column means no labels."""
    label = label.strip()
    if not label:
        raise fail(path, loc, "missing label (the first column is empty)")
    try:
        value = float(label)
    except ValueError:
        return label
    if not np.isfinite(value) or value != round(value):
        raise fail(path, loc, f"label {_short(label)} is not an integer class; is the label column missing?")
    return label


def _parse_rows(text: str, path: str, fmt: str) -> RawSplit:
    """Rows of '<label> v1 v2 ...'. Trailing NaN is end padding (handled in prepare.py). Series: (T_i, 1)."""
    series, labels, where = [], [], []
    n_fields = first_line = None
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        loc = f"line {i + 1}"
        if fmt == "tsv":
            fields = line.split("\t")
        else:
            fields = line.split(",") if "," in line else line.split()
        if n_fields is None:
            n_fields, first_line = len(fields), i + 1
        elif len(fields) != n_fields:
            raise fail(path, loc, f"ragged row: {len(fields)} fields but line {first_line} has {n_fields}")
        if len(fields) < 2:
            sep = "tab" if fmt == "tsv" else "comma or whitespace"
            raise fail(path, loc, f"only one field: expected '<label> <values...>' separated by {sep}")
        try:
            labels.append(_check_label(fields[0], path, loc))
            series.append(_floats(fields[1:], path, loc)[:, None])
        except DataFormatError as err:
            if series or not any(_is_text(f) for f in fields[1:]):
                raise
            raise DataFormatError(
                f"{err}; the first row looks like a header naming the columns: .{fmt} files have none "
                "(remove it, or save the file as .csv, where a header row is detected)"
            ) from None
        where.append(loc)
    if not series:
        raise fail(path, "", "empty file (no data rows)")
    return RawSplit(series, labels, where, path, {"format": fmt})


def _is_text(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return bool(token.strip())
    return False


def parse_tsv(text: str, path: str = "<tsv>") -> RawSplit:
    """UCR 2018 .tsv: label first, tab-separated, NaN padding at the end of shorter series."""
    return _parse_rows(text, path, "tsv")


def parse_txt(text: str, path: str = "<txt>") -> RawSplit:
    """UCR 2015 .txt: label first, comma- or whitespace-separated."""
    return _parse_rows(text, path, "txt")


# ---------------------------------------------------------------- .npz


_NPZ_KEYS = ("X_train", "y_train", "X_test", "y_test")


def _npz_labels(y: np.ndarray, key: str, n: int, path: str) -> list[str]:
    """Label array (n,) of ints, integral floats, bools or strings -> list of label strings."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,):
        raise fail(path, key, f"shape {y.shape} but the X array holds {n} series; expected ({n},)")
    if y.dtype.kind in "biu":
        return [str(int(v)) for v in y]
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise fail(path, f"{key}[{j}]", f"label {y[j]!r} is not an integer class")
        return [str(int(v)) for v in y]
    if y.dtype.kind == "U":
        return [str(v) for v in y]
    if y.dtype.kind == "S":
        return [bytes(v).decode("utf-8", errors="replace") for v in y]
    raise fail(path, key, f"labels of dtype {y.dtype} (expected integers or strings)")


def _npz_series(x: np.ndarray, key: str, path: str) -> list[np.ndarray]:
    """X as (n, time) or (n, time, channels), numeric -> list of (time, channels) float64."""
    if x.dtype.kind not in "biuf":
        raise fail(path, key, f"dtype {x.dtype} is not numeric")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise fail(path, key, f"shape {x.shape}; expected (n, time) or (n, time, channels)")
    if 0 in x.shape:
        raise fail(path, key, f"empty array of shape {x.shape}")
    x = x.astype(np.float64)
    if np.isinf(x).any():
        j = int(np.flatnonzero(np.isinf(x).any(axis=(1, 2)))[0])
        raise fail(path, f"{key}[{j}]", "infinite value; only finite numbers allowed")
    return list(x)


def parse_npz(fileobj: io.BufferedIOBase, path: str = "<npz>") -> tuple[RawSplit, RawSplit]:
    """Read X_train, y_train, X_test, y_test from an open .npz, never unpickling. Returns (train, test)."""
    head = fileobj.read(6)
    fileobj.seek(0)
    if not head:
        raise fail(path, "", "empty file")
    if head == b"\x93NUMPY":
        raise fail(path, "", "a single .npy array; expected a .npz holding X_train, y_train, X_test, y_test")
    if head[:4] != b"PK\x03\x04":
        raise fail(path, "", "not a .npz (zip) archive")
    try:
        archive = np.load(fileobj, allow_pickle=False)
    except Exception as e:
        raise fail(path, "", f"cannot read .npz archive ({_reason(e)})") from None
    with archive:
        missing = [k for k in _NPZ_KEYS if k not in archive.files]
        if missing:
            what = "missing label array" if any(k.startswith("y") for k in missing) else "missing array"
            raise fail(path, "", f"{what}(s) {', '.join(missing)} (a .npz needs {', '.join(_NPZ_KEYS)})")
        arrays = {}
        for key in _NPZ_KEYS:
            try:
                arrays[key] = archive[key]
            except ValueError as e:
                if "pickle" in str(e) or "Object arrays" in str(e):
                    raise fail(
                        path,
                        key,
                        "holds pickled Python objects; rnnscope never unpickles data "
                        "files, save plain numeric/string arrays instead",
                    ) from None
                raise fail(path, key, f"cannot read array ({_reason(e)})") from None
            except Exception as e:
                raise fail(path, key, f"cannot read array ({_reason(e)})") from None
            if not isinstance(arrays[key], np.ndarray):
                raise fail(path, key, "member is not a .npy array")
    splits = []
    for split in ("train", "test"):
        xs = _npz_series(arrays[f"X_{split}"], f"X_{split}", path)
        ys = _npz_labels(arrays[f"y_{split}"], f"y_{split}", len(xs), path)
        where = [f"X_{split}[{i}]" for i in range(len(xs))]
        splits.append(RawSplit(xs, ys, where, path, {"format": "npz"}))
    return splits[0], splits[1]


# ---------------------------------------------------------------- files


def read_split(path: str | Path) -> RawSplit:
    """Read one .ts/.tsv/.txt file (chosen by extension)."""
    ext = Path(path).suffix.lower()
    parsers = {".ts": parse_ts, ".tsv": parse_tsv, ".txt": parse_txt}
    if ext not in parsers:
        raise fail(path, "", f"unsupported extension {ext!r} (expected .ts, .tsv, .txt or .npz)")
    return parsers[ext](_read_text(path), str(path))


def read_npz(path: str | Path) -> tuple[RawSplit, RawSplit]:
    """Read a .npz file holding X_train, y_train, X_test, y_test. Returns (train, test)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise fail(path, "", f"cannot read file ({e.strerror or e})") from None
    return parse_npz(io.BytesIO(data), str(path))
