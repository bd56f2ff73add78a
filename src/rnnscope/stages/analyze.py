"""`rnnscope analyze RUN_DIR`: record if needed, analyse every unit, write RUN_DIR/analysis/.

    RUN_DIR/analysis/units.csv, summary.json, arrays.safetensors, and the five figures (unless
    figures=False); layout in rnnscope.rundir.AnalysisPaths, the analysis in rnnscope.unitreport.

Everything is computed in a temporary directory inside RUN_DIR and moved into place only when it all
succeeded, so bad input (NaN activity, too few sequences) leaves the run directory as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from rnnscope.analysis import RoleThresholds
from rnnscope.errors import BadArgument
from rnnscope.plots import save_figure
from rnnscope.plots.units import unit_figures
from rnnscope.recording.impulse import model_impulse
from rnnscope.recording.probes import probe_dynamics
from rnnscope.recording.store import replace_directory
from rnnscope.rundir import AnalysisPaths, RunPaths, write_analysis_summary, write_arrays, write_units_csv
from rnnscope.stages.record import matching_recording, record_run
from rnnscope.training.api import load_run
from rnnscope.unitreport import (
    UnitReport,
    analyze_recording,
    check_recording,
    default_sequences,
    task_evidence,
)


def analyze_run(
    run_dir: str | Path,
    *,
    split: str = "test",
    max_sequences: int | None = None,
    thresholds: RoleThresholds | None = None,
    rerecord: bool = False,
    impulse_sequences: int = 64,
    figures: bool = True,
) -> UnitReport:
    """Record RUN_DIR if needed, analyse it, write RUN_DIR/analysis/ (and the new RUN_DIR/recording/)."""
    paths = RunPaths(run_dir)
    if split not in ("train", "test"):
        raise BadArgument(f"split must be train or test, got {split!r}")
    run = load_run(paths.root)
    if max_sequences is not None and max_sequences < 1:
        raise BadArgument(f"max_sequences must be positive, got {max_sequences}")
    kind = run.model.kind
    names = [
        ("residual" if kind == "transformer" else "hidden") + f".l{i}" for i in range(run.model.num_layers)
    ]
    names += ["inputs", "labels"]
    data = getattr(run.data, split)
    n = (
        default_sequences(len(data), data.seq_len, run.model.hidden_size)
        if max_sequences is None
        else min(max_sequences, len(data))
    )
    with tempfile.TemporaryDirectory(dir=paths.root, prefix=".analyze-") as tmp:
        staged = RunPaths(tmp)
        rec = None if rerecord else matching_recording(paths.root, split, names, n)
        fresh = rec is None
        if fresh:
            rec = record_run(paths.root, split=split, max_sequences=n, run=run, out=staged.recording)
        rec.verify()
        seqs = np.arange(n)
        check_recording(rec, seqs)
        index = rec.read("index", seqs)
        evidence, ev_names = task_evidence(run.task, data.x[index], rec.steps)
        lengths = data.lengths[index[:impulse_sequences]]
        t_min = int(lengths.min())
        dynamics, impulse = None, None
        if t_min >= 8 and len(lengths) >= 3:
            probe_x = data.x[index[:impulse_sequences], :t_min]
            dynamics = probe_dynamics(run.model, probe_x, thresholds=thresholds)
            if dynamics is None:  # no recurrent state (the Transformer): the impulse response alone
                impulse = model_impulse(run.model, probe_x, at=t_min // 4)
        report = analyze_recording(
            rec,
            seqs,
            evidence=evidence,
            impulse=impulse,
            dynamics=dynamics,
            thresholds=thresholds,
            class_names=list(run.data.class_names),
            evidence_names=ev_names,
        )
        report.summary.split = split
        report.summary.impulse = (
            {"sequences": len(lengths), "at": t_min // 4, "steps": t_min} if dynamics or impulse else None
        )
        write_report(report, staged.analysis, figures=figures)
        replace_directory(staged.analysis.dir, paths.analysis.dir)
        if fresh:
            replace_directory(staged.recording, paths.recording)
    return report


def write_report(report: UnitReport, out: AnalysisPaths | str | Path, figures: bool = True) -> None:
    """units.csv, summary.json, arrays.safetensors and (unless figures=False) the figures, into `out`."""
    out = out if isinstance(out, AnalysisPaths) else AnalysisPaths(Path(out))
    out.dir.mkdir(parents=True, exist_ok=True)
    write_units_csv(out.units_csv, report.columns())
    write_analysis_summary(out.summary, report.summary)
    write_arrays(out.arrays, report.arrays)
    if figures:
        save_unit_figures(report, out)


def save_unit_figures(report: UnitReport, out: AnalysisPaths) -> list[Path]:
    """The five figures of the unit analysis (rnnscope.plots.units.unit_figures), png + svg."""

    table = report.table
    layers = list(report.summary.layers)
    figs = unit_figures(
        report.summary,
        report.arrays,
        {layer: table.role[table.layer == layer] for layer in layers},
        {layer: _histogram_tau(table)[table.layer == layer] for layer in layers},
    )
    if not (table.role == "oscillatory").any():  # no empty figure: the report says so in a sentence
        figs.pop("psd")
    return [p for key, fig in figs.items() for p in save_figure(fig, out.figure(key).stem)]


def _histogram_tau(table) -> np.ndarray:
    """tau (U,) for the histogram: inf where censored above (longer than measurable), 0 where below."""
    return np.where(
        table.tau_censored == "above", np.inf, np.where(table.tau_censored == "below", 0.0, table.tau)
    )
