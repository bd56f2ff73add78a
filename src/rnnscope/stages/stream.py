"""`rnnscope stream RUN_DIR`: CSV rows in (one time step per row), running predictions out.

The stream sees what the run was trained on: the run's channel normalisation and its downsampling (every
k-th row, the mean of each block of k rows, or each block of k rows fed whole as a frame) are applied to
the rows (or refused in one line where a stream cannot reproduce them); `raw` feeds rows as given.
"""

from __future__ import annotations

from rnnscope.errors import BadArgument
from rnnscope.rundir.runfacts import ordinal
from rnnscope.streaming import StreamPool
from rnnscope.streaming.csvrows import CSVStreamer, channel_transform


def input_transform(run, raw: bool):
    """The normalisation the run's training data had, as x (n, C) -> x (n, C), or None.

    Raises BadArgument where a stream cannot reproduce it (per-series z-normalisation needs the whole
    series before its first step); raw=True feeds values as given."""
    how = (run.config.get("data") or {}).get("normalize")
    source = run.config.get("data_source") or {}
    if raw or run.data_cfg.task is not None:
        return None
    if how == "channel" and "channel_mean" in source:
        return channel_transform(source["channel_mean"], source["channel_std"])
    if how == "series":
        raise BadArgument(
            "this run was trained on per-series z-normalised data, which a stream cannot compute before "
            "the series has ended; pass --raw to feed rows as given (at your own risk), or train with "
            "--normalize channel"
        )
    return None


def input_by(run) -> str:
    """How the run's downsampling shortened its series: `downsample_by` "mean" (block means), "frames"
    (each block of k steps as one step) or "every"; a run whose data source does not say so (written
    before block means) kept every k-th step."""
    return (run.config.get("data_source") or {}).get("downsample_by", "every")


def input_every(run, raw: bool) -> tuple[int, str | None]:
    """(k, the sentence saying so) when the run was trained on data shortened by k (its downsample:
    every k-th step, block means or frames), else (1, None); raw=True: (1, None)."""
    k = (run.config.get("data_source") or {}).get("downsample") if run.data_cfg.task is None else None
    if raw or not k or k < 2:
        return 1, None
    by = input_by(run)
    if by == "frames":
        note = (
            f"this run was trained on frames of {k} steps (downsample {k}, by frames): each block of {k} "
            f"rows of a stream is fed as one step, answered at rows {k}, {2 * k}, ... and at a stream's last "
            "row, whose short frame is completed by repeating its last row as in training (--raw feeds rows "
            f"as given: each must then hold a whole frame, {k} steps' values side by side)"
        )
    elif by == "mean":
        note = (
            f"this run was trained on the means of blocks of {k} steps (downsample {k}, by mean): each "
            f"block of {k} rows of a stream is averaged and fed, answered at rows {k}, {2 * k}, ... and at "
            "a stream's last row (--raw feeds every row)"
        )
    else:
        note = (
            f"this run was trained on every {ordinal(k)} step (downsample {k}): rows 1, {k + 1}, "
            f"{2 * k + 1}, ... of each stream are fed and answered (--raw feeds every row)"
        )
    return int(k), note


def streamer(run, write_row, on_error, *, transform=None, every: int = 1, **options) -> CSVStreamer:
    """A CSVStreamer over a StreamPool of the run's model; options: id_column, header, block,
    stop_on_error, flush (see rnnscope.streaming.csvrows.CSVStreamer). every > 1 averages blocks of
    `every` rows, or feeds them whole, where the run was trained on block means or frames (`input_by`)."""
    return CSVStreamer(
        StreamPool(run.model),
        run.config["class_names"],
        write_row,
        on_error,
        transform=transform,
        every=every,
        by=input_by(run) if every > 1 else "every",
        **options,
    )
