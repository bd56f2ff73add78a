"""Raw series -> padded Splits: labels, missing values, truncation/downsampling, z-normalisation, padding.

The order is fixed: labels are mapped, missing values handled, series downsampled then truncated,
normalised (statistics from what the model will see), and finally zero-padded with their lengths to
one T shared by train and test.
The choices and their reasons are in docs/data.md.

Key: N = number of series, T = padded length, T_i = length of series i, C = channels.
"""

from __future__ import annotations

import math

import numpy as np

from rnnscope.config import DOWNSAMPLE_BY  # by k: the mean of each block of k steps, or every k-th
from rnnscope.data.dataset import DataBundle, Split
from rnnscope.data.formats import RawSplit, fail
from rnnscope.errors import BadArgument

NORMALIZE = ("none", "series", "channel")
MISSING = ("interpolate", "error")
_TINY_STD = 1e-8  # below this a series/channel counts as constant: centred, not scaled
# downsample="auto": k = ceil(longest training series / the limit of its downsample_by): frames keep every
# value, so they were chosen at 50 steps; block means and every k-th step lose values and stay at 100
# (docs/training.md, "How it was chosen")
AUTO_MAX_STEPS = {"frames": 50, "mean": 100, "every": 100}


def reduce_steps(x: np.ndarray, k: int | None, by: str = "every") -> np.ndarray:
    """One (T_i, C) series shortened by k -> (ceil(T_i / k), C), or (ceil(T_i / k), k * C) by "frames".

    by="every": steps 0, k, 2k, ... kept. by="frames": each block of k steps becomes one step holding all
    k * C values (lossless: step j's features are x[jk, 0..C-1], x[jk+1, 0..C-1], ...; a short last block
    is completed by repeating its last step). by="mean": the mean of each block of k consecutive steps (steps
    0..k-1, k..2k-1, ...; the last block may be shorter and is the mean of the steps it holds) — an
    anti-aliasing low-pass before the decimation, so that spikes and fast oscillations between the kept
    steps are not lost or folded into slow ones. k None or 1: unchanged.
    """
    if not k or k < 2:
        return x
    if by == "every":
        return x[::k]
    if by == "frames":
        n = -(-len(x) // k)
        if n * k > len(x):  # the last block, short: its last step repeated (edge padding)
            x = np.concatenate([x, np.repeat(x[-1:], n * k - len(x), axis=0)])
        return x.reshape(n, k * x.shape[1])
    starts = np.arange(0, len(x), k)
    counts = np.minimum(starts + k, len(x)) - starts
    return np.add.reduceat(x, starts, axis=0) / counts[:, None]


def auto_downsample(longest: int, by: str, max_steps: int | None = None) -> int | None:
    """k for downsample="auto" by `by` ("frames" | "mean" | "every"): ceil(longest / max_steps), the limit
    AUTO_MAX_STEPS[by] unless given, or None when the series are short enough."""
    k = math.ceil(longest / (max_steps or AUTO_MAX_STEPS[by]))
    return k if k > 1 else None


def _as_number(label: str) -> float | None:
    try:
        value = float(label)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _canonical(value: float) -> str:
    return str(int(value)) if value == round(value) and abs(value) < 2**53 else repr(value)


def map_labels(train: RawSplit, test: RawSplit) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Label strings -> class indices. Returns (y_train (N_train,), y_test (N_test,), class_names).

    If every label (train and test) parses as a number, labels are compared by value ("1" == "1.0") and
    sorted numerically (2 before 10) and named canonically ("1"); otherwise sorted as text.
    Needs at least two classes in train, and no test class that train lacks.
    """
    numbers = [_as_number(s) for s in train.labels + test.labels]
    if all(v is not None for v in numbers):
        keys = [_canonical(v) for v in numbers]
        order = {k: v for k, v in zip(keys, numbers)}
        names = sorted(set(keys[: len(train.labels)]), key=order.__getitem__)
    else:
        keys = list(train.labels + test.labels)
        names = sorted(set(keys[: len(train.labels)]))
    if len(names) < 2:
        raise fail(train.path, "", f"only one class ({names[0]!r}) in the training data; need at least two")
    index = {name: i for i, name in enumerate(names)}
    train_keys, test_keys = keys[: len(train.labels)], keys[len(train.labels) :]
    for key, where in zip(test_keys, test.where):
        if key not in index:
            raise fail(test.path, where, f"class {key!r} does not occur in the training data ({train.path})")
    y_train = np.array([index[k] for k in train_keys], dtype=np.int64)
    y_test = np.array([index[k] for k in test_keys], dtype=np.int64)
    return y_train, y_test, names


def clean_series(x: np.ndarray, missing: str, path: str, where: str) -> tuple[np.ndarray, int]:
    """Handle NaN in one (T_i, C) series. Returns (series (T'_i, C) without NaN, number of values filled).

    Trailing steps missing in every channel are end padding (UCR 2018 variable length) and are cut under
    every policy. Then missing="error" rejects any NaN left; missing="interpolate" cuts leading steps missing
    in every channel and fills the rest per channel by linear interpolation between the nearest observed
    values (the nearest observed value at either end of a channel).
    """
    observed = np.flatnonzero(~np.isnan(x).all(axis=1))
    if observed.size == 0:
        raise fail(path, where, "series has no values (all missing)")
    x = x[: observed[-1] + 1]
    if not np.isnan(x).any():
        return x, 0
    if missing == "error":
        t, c = np.argwhere(np.isnan(x))[0]
        raise fail(
            path,
            where,
            f"missing value at step {t + 1}, channel {c + 1}, "
            "not allowed with missing='error' (missing='interpolate' fills it)",
        )
    x = x[observed[0] :].copy()
    holes = np.isnan(x)
    for c in range(x.shape[1]):
        gap = holes[:, c]
        if gap.all():
            raise fail(path, where, f"channel {c + 1} has no values (all missing)")
        if gap.any():
            steps = np.arange(x.shape[0])
            x[gap, c] = np.interp(steps[gap], steps[~gap], x[~gap, c])
    return x, int(holes.sum())


def _z(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (x - mean) / np.where(std < _TINY_STD, 1.0, std)


def normalize_series(train: list[np.ndarray], test: list[np.ndarray], how: str):
    """z-normalise lists of (T_i, C) series. Returns (train, test, stats dict for `source`).

    "none": unchanged. "series": each series and channel by its own mean/std.
    "channel": per channel, mean/std over every time step of every TRAIN series, applied to train and test.
    A std below 1e-8 (a constant series or channel) only centres.
    """
    if how == "none":
        return train, test, {}
    if how == "series":
        own = [_z(x, x.mean(axis=0), x.std(axis=0)) for x in train]
        return own, [_z(x, x.mean(axis=0), x.std(axis=0)) for x in test], {}
    steps = np.concatenate(train, axis=0)  # (sum T_i, C)
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    stats = {"channel_mean": mean.tolist(), "channel_std": std.tolist()}
    return [_z(x, mean, std) for x in train], [_z(x, mean, std) for x in test], stats


def pad(series: list[np.ndarray], t: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """List of (T_i, C) -> (x (N, T, C) float32 zero past each length, lengths (N,) int64).

    T = t, or max T_i when t is None.
    """
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    x = np.zeros((len(series), t or int(lengths.max()), series[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(series):
        x[i, : len(s)] = s
    return x, lengths


def _check_step(name: str, value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise BadArgument(f"{name} must be None or a positive integer, got {value!r}")


def prepare(
    train: RawSplit,
    test: RawSplit,
    *,
    normalize: str = "channel",
    missing: str = "interpolate",
    truncate: int | None = None,
    downsample: int | None = None,
    downsample_by: str = "every",
    source: dict | None = None,
    downsample_max_steps: int | None = None,
) -> DataBundle:
    """Two RawSplits -> DataBundle with x (N, T, C) float32, y (N,), lengths (N,).

    normalize: "none" | "series" | "channel" (train statistics). missing: "interpolate" | "error".
    downsample: shorten by k, or "auto": k = ceil(longest training series / the limit) (none when it fits),
    the limit `downsample_max_steps` (None: AUTO_MAX_STEPS[downsample_by]); downsample_by: "every" keeps
    steps 0, k, 2k, ..., "mean" averages each block of k steps, "frames" feeds each block whole
    (`reduce_steps`); truncate: then keep at most this many steps.
    source: what the loader knows (name, paths, format); preparation steps and the label mapping are added.
    """
    if normalize not in NORMALIZE:
        raise BadArgument(f"normalize must be one of {', '.join(NORMALIZE)}; got {normalize!r}")
    if missing not in MISSING:
        raise BadArgument(f"missing must be one of {', '.join(MISSING)}; got {missing!r}")
    if downsample_by not in DOWNSAMPLE_BY:
        raise BadArgument(f"downsample_by must be one of {', '.join(DOWNSAMPLE_BY)}; got {downsample_by!r}")
    _check_step("truncate", truncate)
    _check_step("downsample_max_steps", downsample_max_steps)
    auto = downsample == "auto"
    if not auto:
        _check_step("downsample", downsample)
    limit = (downsample_max_steps or AUTO_MAX_STEPS[downsample_by]) if auto else None
    if train.n_channels != test.n_channels:
        raise fail(
            test.path,
            "",
            f"{test.n_channels} channel(s) but the training data ({train.path}) has {train.n_channels}",
        )
    y_train, y_test, names = map_labels(train, test)
    cleaned, filled = [], {}
    for split_name, raw in (("train", train), ("test", test)):
        out, n_filled = [], 0
        for x, where in zip(raw.series, raw.where):
            x, n = clean_series(x, missing, raw.path, where)
            out.append(x)
            n_filled += n
        cleaned.append(out)
        filled[split_name] = n_filled
    longest = max(len(x) for x in cleaned[0])
    if auto:  # from the training series only
        downsample = auto_downsample(longest, downsample_by, limit)
    prepared = [[reduce_steps(x, downsample, downsample_by)[:truncate] for x in out] for out in cleaned]
    tr, te, stats = normalize_series(prepared[0], prepared[1], normalize)
    t = max(len(x) for x in tr + te)  # one T for both splits: models see the same padded length
    (x_tr, len_tr), (x_te, len_te) = pad(tr, t), pad(te, t)
    for raw, x in ((train, x_tr), (test, x_te)):  # e.g. 1e308 passes as float64 but not as float32
        if not np.isfinite(x).all():
            i = int(np.flatnonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1))[0])
            raise fail(
                raw.path,
                raw.where[i],
                "values too large for float32 (or overflowing the normalisation); rescale the data",
            )
    info = dict(source or {})
    info.update(
        {
            "normalize": normalize,
            "missing": missing,
            "missing_filled": filled,
            "truncate": truncate,
            "downsample": downsample,
            "downsample_auto": auto,
            "downsample_max_steps": limit,
            "downsample_by": downsample_by,
            "longest_train_series": int(longest),
            "label_mapping": {name: i for i, name in enumerate(names)},
            "lengths": {
                "train": [int(len_tr.min()), int(len_tr.max())],
                "test": [int(len_te.min()), int(len_te.max())],
            },
            **stats,
        }
    )
    return DataBundle(Split(x_tr, y_train, len_tr), Split(x_te, y_test, len_te), len(names), names, info)
