"""Spiking activity from an NWB file: the Units table's spike times binned into the trials table's intervals.

    data = read_nwb("session.nwb", bin_ms=10, align="start_time", window=(0.0, 1.5), label_column="cond")

For trial s with alignment time a_s (the trials column `align`, default start_time), the bins are
[a_s + start + k * bin, a_s + start + (k + 1) * bin) for k = 0 .. T - 1 with T = floor((stop - start) / bin);
activity[s, k, u] is unit u's spike count in that bin (spikes per bin; divide by the bin width for a rate).
The window defaults to (0, the shortest trial's duration) after its start. Labels come from the trials
column `label_column` (names or numbers), if given; `events` names trials columns of event times (s, on
the file's clock, e.g. a stimulus onset): each becomes an input channel (S, T) that is 1 in the bin holding
the event, so the transient role (a short memory of the inputs) can be measured. Needs the `nwb` extra
(pynwb), read-only; an NWB file holds no code. Bad input (no trials table, no Units table, an unknown
column, a window that holds no bin) raises BadFile in one line naming the file; a missing pynwb raises
MissingExtra.

Key: S = trials, T = bins, U = units.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from rnnscope.data.activity import ActivityData, activity_arrays
from rnnscope.errors import BadArgument, BadFile, MissingExtra

INSTALL = 'pip install "rnnscope[nwb]" (pynwb)'
DEFAULT_BIN_MS = 10.0


def _pynwb():
    try:
        return importlib.import_module("pynwb")
    except ImportError:
        raise MissingExtra(f"reading NWB files needs pynwb: {INSTALL}") from None


def read_nwb(
    path: str | Path,
    *,
    bin_ms: float | None = None,
    align: str | None = None,
    window: tuple[float, float] | None = None,
    label_column: str | None = None,
    events: list[str] | tuple[str, ...] | None = None,
) -> ActivityData:
    """ActivityData (S, T, U) of spike counts from an NWB file (see the module docstring)."""
    path = Path(path)
    bin_ms = DEFAULT_BIN_MS if bin_ms is None else float(bin_ms)
    align = align or "start_time"
    if not bin_ms > 0:
        raise BadArgument(f"bin_ms must be positive, got {bin_ms}")
    pynwb = _pynwb()
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
        nwb = io.read()
    except (OSError, ValueError, KeyError) as err:  # h5py: not HDF5; hdmf: not an NWB layout
        first = (str(err).splitlines() or [type(err).__name__])[0][:160]
        raise BadFile(f"NWB file {path} cannot be read ({type(err).__name__}: {first})") from None
    try:
        trials, units = nwb.trials, nwb.units
        if trials is None:
            raise BadFile(
                f"NWB file {path} has no trials table (intervals/trials), so there is nothing to bin"
            )
        if units is None or len(units) == 0:
            raise BadFile(f"NWB file {path} has no Units table with spike times")
        columns = list(trials.colnames)
        named = [("--align", align), ("--label-column", label_column)]
        for what, col in named + [("--events", e) for e in events or ()]:
            if col is not None and col not in columns:
                raise BadFile(
                    f"NWB file {path}: the trials table has no column {col!r} ({what}); it has {columns}"
                )
        start = np.asarray(trials["start_time"].data[:], dtype=np.float64)
        stop = np.asarray(trials["stop_time"].data[:], dtype=np.float64)
        at = np.asarray(trials[align].data[:], dtype=np.float64)
        labels = np.asarray(trials[label_column].data[:]) if label_column is not None else None
        event_times = [np.asarray(trials[e].data[:], dtype=np.float64) for e in events or ()]
        spikes = [np.asarray(units["spike_times"][u], dtype=np.float64) for u in range(len(units))]
    finally:
        io.close()
    if len(start) == 0:
        raise BadFile(f"NWB file {path} has an empty trials table")
    w0, w1 = window if window is not None else (0.0, float((stop - start).min()))
    width = bin_ms / 1000.0
    n_bins = int(np.floor((w1 - w0) / width + 1e-9))
    if n_bins < 1:
        raise BadFile(f"NWB file {path}: the window ({w0:g}, {w1:g}) s holds no bin of {bin_ms:g} ms")
    counts = np.zeros((len(start), n_bins, len(spikes)), dtype=np.float32)
    for s, a in enumerate(at):
        edges = a + w0 + width * np.arange(n_bins + 1)
        for u, times in enumerate(spikes):
            counts[s, :, u] = np.histogram(times, bins=edges)[0]
    if isinstance(labels, np.ndarray) and labels.dtype.kind == "O":
        labels = np.asarray([str(v) for v in labels])
    inputs = None
    if event_times:
        inputs = np.zeros((len(start), n_bins, len(event_times)), dtype=np.float32)
        for e, when in enumerate(event_times):
            k = np.floor((when - at - w0) / width)
            ok = np.isfinite(k) & (k >= 0) & (k < n_bins)
            inputs[np.flatnonzero(ok), k[ok].astype(np.int64), e] = 1.0
    try:
        data = activity_arrays(counts, labels=labels, inputs=inputs)
    except BadArgument as err:
        raise BadFile(f"NWB file {path}: {err}") from None
    data.source = {
        "format": "nwb",
        "bin_ms": bin_ms,
        "align": align,
        "window": [w0, w1],
        "label_column": label_column,
        "events": list(events or []),
        "units": len(spikes),
        "trials": len(start),
    }
    return data
