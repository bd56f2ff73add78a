"""Rows of feature values (CSV text) in, running predictions out: the engine of `rnnscope stream`.

One row is one time step. Streams are separated either by blank lines (streams "0", "1", ... in
order; a blank line ends the current stream) or by an id column (rows of different streams may
interleave; a row holding only the id ends that stream, and the id may then start a new one; blank
lines are ignored). A malformed row — wrong number of columns, a value that is not a finite number —
is reported (one line naming it) and skipped: it is never fed, so no stream's state changes, and every
other stream goes on. With stop_on_error the first bad row ends the run instead (rows before it are
answered).

Output rows: stream, step (1-based, per stream), prediction (class name), p_<class> ...
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import numpy as np

from rnnscope.config import DOWNSAMPLE_BY
from rnnscope.data.prepare import reduce_steps
from rnnscope.errors import BadArgument, BadRunDirectory
from rnnscope.names import unknown_column


@dataclass
class StreamStats:
    """What a run of `CSVStreamer` did."""

    rows: int = 0  # rows fed (steps answered)
    streams: int = 0  # streams started
    bad_rows: list[str] = field(default_factory=list)  # one message per skipped row
    stopped: bool = False  # ended at a bad row (stop_on_error)


class CSVStreamer:
    """Feed CSV lines into a StreamPool and write one output row per step.

    pool: a `StreamPool`. class_names: K names. id_column: None, a 0-based index, or a header name.
    header: the first non-blank line names the columns (implied when id_column is a name).
    transform: optional function x (n, C) float32 -> x (n, C), e.g. the run's channel normalisation.
    every: feed only each stream's rows 1, 1 + every, 1 + 2 every, ... (a run trained on every k-th
    step: its `downsample`); only those rows are answered, numbered by their row in the stream.
    by (with every = k > 1): "every" as above; "mean": feed the mean of each block of k rows instead (rows
    1..k, k+1..2k, ...: a run trained on block means, `downsample_by` "mean"); "frames": feed each block of
    k rows of C values as one step of k * C values, row after row (a run trained on frames, whose model
    takes k * C inputs). Both answer at the block's last row; a stream that ends inside a block gets the
    mean of the rows its last block holds, or its frame completed by repeating its last row (as training
    completed a short last block), answered at its last row.
    block: rows gathered before the model runs (1 answers each row as it arrives; larger is faster —
    the answers are the same). write: called with each output row (a list); report: with each
    bad-row message; flush: called after each block is written.
    """

    def __init__(
        self,
        pool,
        class_names: list[str],
        write,
        report,
        *,
        id_column=None,
        header: bool = False,
        transform=None,
        block: int = 1,
        stop_on_error: bool = False,
        flush=None,
        every: int = 1,
        by: str = "every",
    ):
        if block < 1:
            raise BadArgument(f"block must be positive, got {block}")
        if every < 1:
            raise BadArgument(f"every must be positive, got {every}")
        if by not in DOWNSAMPLE_BY:
            raise BadArgument(f"by must be one of {', '.join(DOWNSAMPLE_BY)}, got {by!r}")
        self.every, self.by = every, by if every > 1 else "every"
        self._blocks: dict[str, list[np.ndarray]] = {}  # mean, frames: open stream -> its block's rows
        self._rows_in: dict[str, int] = {}  # open stream name -> its good rows so far (fed or not)
        self.pool, self.class_names = pool, [str(c) for c in class_names]
        self.write, self.report, self.flush = write, report, flush or (lambda: None)
        self.id_column, self.header = id_column, header or (id_column is not None and not _is_int(id_column))
        self.transform, self.block, self.stop_on_error = transform, block, stop_on_error
        self.n_features = pool.input_size
        if self.by == "frames":  # the model takes k rows at once
            if pool.input_size % every:
                raise BadRunDirectory(
                    f"the model takes {pool.input_size} inputs, not a whole number of frames of {every} rows"
                )
            self.n_features = pool.input_size // every
        self.stats = StreamStats()
        self._slots: dict[str, int] = {}  # open stream name -> slot
        self._pending: list[tuple[str, np.ndarray, int]] = []  # (stream, row values, row number in it)
        self._next_name = 0  # blank-line mode: the number of the current stream
        self._seen_rows = False  # blank-line mode: the current stream has had a (good or bad) row
        self._id_index: int | None = (
            None if id_column is None else (int(id_column) if _is_int(id_column) else None)
        )

    def header_row(self) -> list[str]:
        return ["stream", "step", "prediction"] + [f"p_{c}" for c in self.class_names]

    # ---- driving -------------------------------------------------------------------------------
    def run(self, lines) -> StreamStats:
        """Consume an iterable of text lines to the end (or to the first bad row with stop_on_error).

        The output header is written once the input's own header (if any) has been read and checked.
        """
        need_header, started = self.header, False
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if need_header:
                if text:
                    self._read_header(text, number)
                    need_header = False
                continue
            if not started:
                self.write(self.header_row())
                started = True
            if not text:
                if self.id_column is None:
                    self._end_current()
                continue
            if not self._take(text, number):
                if self.stop_on_error:
                    self.stats.stopped = True
                    break
            elif len(self._pending) >= self.block:
                self._run_block()
        if not started:
            self.write(self.header_row())
        for name in list(self._blocks):  # the input ended: the open streams' partial blocks
            self._end_block(name)
        self._run_block()
        self.flush()
        return self.stats

    def _read_header(self, text: str, number: int) -> None:
        names = [c.strip() for c in next(csv.reader([text]))]
        if self.id_column is not None and self._id_index is None:
            if self.id_column not in names:
                raise BadArgument(
                    f"line {number}: the header has no column {self.id_column!r}; "
                    f"{unknown_column(self.id_column, names)}"
                )
            self._id_index = names.index(self.id_column)

    def _take(self, text: str, number: int) -> bool:
        """Parse one data row into the pending block; False (after reporting) when it is malformed."""
        fields = [f.strip() for f in next(csv.reader([text]))]
        name, where = None, f"line {number}"
        if self._id_index is None:
            self._seen_rows = True
            where = f"line {number} (stream {str(self._next_name)!r})"
        if self._id_index is not None:
            if self._id_index >= len(fields):
                return self._bad(
                    f"{where}: no id column {self._id_index} (the row has {len(fields)} columns)"
                )
            name = fields.pop(self._id_index)
            where = f"line {number} (stream {name!r})"
            if not any(fields):  # only the id: the stream ends
                self._end_block(name)
                self._run_block()
                self._close(name)
                return True
        expected = self.n_features + (self._id_index is not None)
        if len(fields) != self.n_features:
            return self._bad(f"{where}: expected {expected} columns, got {len(fields) + (name is not None)}")
        try:
            values = np.array([float(f) for f in fields], dtype=np.float32)
        except ValueError:
            col = next(i for i, f in enumerate(fields) if not _is_float(f))
            return self._bad(
                f"{where}: column {self._csv_column(col)} ({fields[col]!r}) is not a number"
                + (" (use --header if the first line names the columns)" if number == 1 else "")
            )
        if not np.isfinite(values).all():
            col = int(np.flatnonzero(~np.isfinite(values))[0])
            return self._bad(f"{where}: column {self._csv_column(col)} ({fields[col]!r}) is not finite")
        if name is None:
            name = str(self._next_name)
        seen = self._rows_in.get(name, 0)
        self._rows_in[name] = seen + 1
        if self.by != "every":
            rows = self._blocks.setdefault(name, [])
            rows.append(values)
            if len(rows) == self.every:
                self._end_block(name)
        elif seen % self.every == 0:  # a step the run's model was trained on
            self._pending.append((name, values, seen + 1))
        return True

    def _end_block(self, name: str) -> None:
        """mean, frames: the stream's current block (full, or partial when the stream ends) -> one step, as
        training made it (`data.prepare.reduce_steps`: the mean, or the frame), pending."""
        rows = self._blocks.pop(name, [])
        if rows:
            x = reduce_steps(np.stack(rows).astype(np.float64), self.every, self.by)[0]
            self._pending.append((name, x.astype(np.float32), self._rows_in[name]))

    def _csv_column(self, feature: int) -> int:
        """1-based column number in the file of 0-based feature `feature`."""
        skip = self._id_index is not None and feature >= self._id_index
        return feature + 1 + skip

    def _bad(self, message: str) -> bool:
        message += " — stopped" if self.stop_on_error else " — row skipped"
        self.stats.bad_rows.append(message)
        self.report(message)
        return False

    # ---- streams -------------------------------------------------------------------------------
    def _end_current(self) -> None:
        """A blank line: the current stream (if it had any row) ends; the next row starts the next one."""
        if self._seen_rows:
            self._end_block(str(self._next_name))
            self._run_block()
            self._close(str(self._next_name))
            self._next_name += 1
            self._seen_rows = False

    def _close(self, name: str) -> None:
        self._rows_in.pop(name, None)
        slot = self._slots.pop(name, None)
        if slot is not None:
            self.pool.close(slot)

    def _slot(self, name: str) -> int:
        slot = self._slots.get(name)
        if slot is None:
            slot = self._slots[name] = self.pool.open()
            self.stats.streams += 1
        return slot

    def _run_block(self) -> None:
        """Feed the pending rows (grouped per stream, order kept) and write their answers in input order."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        per: dict[str, list[int]] = {}
        for i, (name, _, _) in enumerate(pending):
            per.setdefault(name, []).append(i)
        chunks = {}
        for name, idx in per.items():
            x = np.stack([pending[i][1] for i in idx])
            chunks[self._slot(name)] = self.transform(x) if self.transform is not None else x
        probs = self.pool.feed_ragged(chunks)
        out: list[list | None] = [None] * len(pending)
        for name, idx in per.items():
            slot = self._slots[name]
            p = probs[slot].numpy()
            for j, i in enumerate(idx):
                row, step = p[j], pending[i][2]  # step: the row's number in its stream
                out[i] = [name, step, self.class_names[int(row.argmax())]] + [_prob(v) for v in row]
        for row in out:
            self.write(row)
        self.stats.rows += len(pending)
        self.flush()


def _prob(v: float) -> str:
    return f"{v:.6f}"


def _is_int(v) -> bool:
    if isinstance(v, int):
        return True
    try:
        int(v)
        return True
    except (TypeError, ValueError):
        return False


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def channel_transform(mean, std, tiny: float = 1e-8):
    """x (n, C) -> (x - mean) / std per channel, as the run's training data was normalised
    (a channel whose std is below `tiny` is only centred)."""
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    std = np.where(std < tiny, 1.0, std).astype(np.float32)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise BadRunDirectory("the run's channel statistics are not finite")
    return lambda x: (x - mean) / std


__all__ = ["CSVStreamer", "StreamStats", "channel_transform"]
