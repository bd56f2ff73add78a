"""`rnnscope activity FILE --out DIR` / `rnnscope.analyze_activity(...)`: the unit analysis of recorded
activity (neurons, or any model's units) with no model, into an *activity* directory.

    report = rnnscope.analyze_activity(rates, labels=labels, dt=0.01, out="runs/session")

Writes (layout: rnnscope.rundir):
    DIR/activity.json          ActivitySummary: where the activity came from, its sizes, dt
    DIR/recording/             the activity as a recording (hidden.l0: one population, layer 0), with
                               labels, inputs and evidence when given: what the report's explorer reads
    DIR/analysis/              units.csv (a run's schema; with dt also tau_s and peak_freq_hz), summary.json,
                               arrays.safetensors and the five figures, as `rnnscope analyze` writes them
    DIR/report.html            the unit sections and the explorer; sections that need a model say so

Everything is validated and computed in a temporary directory moved into place whole, so bad input
leaves nothing behind. The analysis is rnnscope.unitreport.analyze_recording (no impulse probe, no model).
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnscope import __version__
from rnnscope.analysis import RoleThresholds
from rnnscope.data.activity import ActivityData, activity_arrays, read_activity_file
from rnnscope.data.nwb import read_nwb
from rnnscope.errors import BadArgument
from rnnscope.io import sha256
from rnnscope.recording.store import Recording, RecordingWriter
from rnnscope.report import build_report
from rnnscope.rundir import RunPaths, write_units_csv
from rnnscope.rundir.imported import (
    ActivitySummary,
    check_new_dir,
    publish,
    staging_dir,
    write_activity_summary,
)
from rnnscope.stages.analyze import write_report
from rnnscope.unitreport import UnitReport, analyze_recording

SECONDS_COLUMNS = ("tau_s", "peak_freq_hz")  # units.csv's extra columns when dt is known


def analyze_activity(
    activity,
    labels=None,
    inputs=None,
    evidence=None,
    mask=None,
    dt: float | None = None,
    out: str | Path | None = None,
    *,
    lengths=None,
    class_names: list[str] | None = None,
    thresholds: RoleThresholds | None = None,
    overwrite: bool = False,
    figures: bool = True,
    report: bool = True,
) -> UnitReport:
    """Classify every unit of activity (S, T, U) (or (T, U): one trial); see the module docstring.

    labels (S,), inputs (S, T, C), evidence (S, T[, E]), mask (S, T) or lengths (S,): optional. dt: seconds
    per step (timescales and frequencies then also in s / Hz). out: the directory to write (None: only
    return the analysis). BadArgument (a ValueError) naming the problem; nothing written then."""
    data = activity_arrays(
        activity,
        labels=labels,
        inputs=inputs,
        evidence=evidence,
        mask=mask,
        lengths=lengths,
        class_names=class_names,
    )
    data.source = {"format": "arrays"}
    return analyze_data(
        data, out, dt=dt, thresholds=thresholds, overwrite=overwrite, figures=figures, report=report
    )


def activity_file(
    path: str | Path,
    out: str | Path,
    *,
    dt: float | None = None,
    overwrite: bool = False,
    thresholds: RoleThresholds | None = None,
    **nwb_options,
) -> UnitReport:
    """`rnnscope activity FILE`: read FILE (.npz, .npy, .safetensors, or .nwb with nwb_options: bin_ms,
    align, window, label_column) and analyse it into `out`."""
    path = Path(path)
    check_dt(dt)
    check_new_dir(out, overwrite, "activity")
    if path.suffix.lower() == ".nwb":
        data = read_nwb(path, **nwb_options)
        if dt is None:
            dt = data.source["bin_ms"] / 1000.0
    else:
        if nwb_options:
            raise BadArgument(f"{', '.join(nwb_options)} apply to NWB files only, not {path.suffix}")
        data = read_activity_file(path)
    data.source.update(file=str(path.resolve()), sha256=sha256(path))
    return analyze_data(data, out, dt=dt, thresholds=thresholds, overwrite=overwrite)


def check_dt(dt) -> float | None:
    if dt is not None and not (isinstance(dt, (int, float)) and not isinstance(dt, bool) and 0 < dt < np.inf):
        raise BadArgument(f"dt must be a positive number of seconds per step, got {dt!r}")
    return dt


def analyze_data(
    data: ActivityData,
    out: str | Path | None,
    *,
    dt: float | None = None,
    thresholds: RoleThresholds | None = None,
    overwrite: bool = False,
    figures: bool = True,
    report: bool = True,
) -> UnitReport:
    """The analysis of validated activity, written to `out` (when given) as an activity directory."""
    check_dt(dt)
    if out is not None:
        check_new_dir(out, overwrite, "activity")
    s, t, u = data.activity.shape
    if data.labels is not None and s < 2:
        raise BadArgument("the unit analysis needs at least 2 trials")
    if out is None:
        with tempfile.TemporaryDirectory(prefix="rnnscope-activity-") as tmp:
            return _analyze(data, Path(tmp), dt, thresholds)
    staged = staging_dir(out, "activity")
    try:
        result = _analyze(data, staged, dt, thresholds)
        paths = RunPaths(staged)
        write_report(result, paths.analysis, figures=figures)
        if dt is not None:
            write_units_csv(paths.analysis.units_csv, seconds_columns(result, dt), extra=SECONDS_COLUMNS)
        write_activity_summary(
            staged,
            ActivitySummary(
                source=data.source,
                sequences=s,
                steps=t,
                units=u,
                given=list(data.given),
                dt=dt,
                class_names=data.class_names,
                versions={"rnnscope": __version__, "python": platform.python_version()},
                created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            ),
        )
        if report:
            build_report(staged, RunPaths(staged).report, shown_as=Path(out))
        publish(staged, out)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return result


def seconds_columns(result: UnitReport, dt: float) -> dict[str, list]:
    """units.csv's columns plus tau_s = tau x dt and peak_freq_hz = peak_freq / dt."""
    cols = result.columns()
    cols["tau_s"] = [float(v) * dt for v in cols["tau"]]
    cols["peak_freq_hz"] = [float(v) / dt for v in cols["peak_freq"]]
    return cols


def _analyze(data: ActivityData, root: Path, dt, thresholds) -> UnitReport:
    rec = write_recording(data, RunPaths(root).recording, dt)
    return analyze_recording(
        rec,
        np.arange(rec.n_sequences),
        evidence=data.evidence,
        thresholds=thresholds,
        class_names=data.class_names,
        evidence_names=None
        if data.evidence is None
        else [f"evidence {e}" for e in range(data.evidence.shape[2])],
    )


def write_recording(data: ActivityData, path: Path, dt: float | None, chunk: int = 256) -> Recording:
    """The activity as a recording (one population: hidden.l0) at `path`."""
    s, t, u = data.activity.shape
    arrays = {
        "hidden.l0": data.activity,
        "lengths": data.lengths,
        "index": np.arange(s, dtype=np.int64),
    }
    if data.labels is not None:
        arrays["labels"] = data.labels
    if data.inputs is not None:
        arrays["inputs"] = data.inputs
    with RecordingWriter(path, overwrite=True) as writer:
        for start in range(0, s, chunk):
            writer.write({k: v[start : start + chunk] for k, v in arrays.items()})
        return writer.commit(
            {
                "model": {"kind": "activity", "layers": 1, "hidden": u, "n_classes": None},
                "layers": [0],
                "quantities": ["hidden"] + (["inputs"] if data.inputs is not None else []),
                "seq_len": t,
                "steps": list(range(t)),
                "dtype": "float32",
                "chunk_size": chunk,
                "source": {
                    "split": "recorded",
                    "class_names": data.class_names or [],
                    "activity": True,
                    "dt": dt,
                },
            }
        )
