"""`rnnscope compare`: results.csv and the figures of an architecture comparison.

SWEEP_DIR/results.csv                         one tidy row per run (rnnscope.sweep.compare.columns)
SWEEP_DIR/accuracy_vs_<axis>.png|svg          test accuracy vs length or distance
SWEEP_DIR/training_curves.png|svg             validation accuracy per epoch, overlaid
SWEEP_DIR/gradient_profiles.png|svg           the top layer's gradient vs step, per architecture
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.io import RunFileError
from rnnscope.plots import save_figure
from rnnscope.plots.compare import plot_accuracy_vs, plot_gradient_profiles, plot_training_overlay
from rnnscope.rundir import RunPaths, SweepPaths, read_history, write_csv
from rnnscope.sweep.compare import columns, gradient_profiles, rows_from
from rnnscope.sweep.store import aggregate


def histories(jobs: list[dict], results: list[dict]) -> list[dict]:
    """[{model, seed, axis value..., "history": [...]}] for every run with a readable history."""
    out = []
    for job, result in zip(jobs, results, strict=True):
        if result["status"] == "failed":
            continue
        try:
            out.append({**job["tags"], "history": read_history(RunPaths(job["out"]).root)})
        except RunFileError:
            continue
    return out


def write_compare(out: str | Path, config: dict, jobs: list[dict], results: list[dict]) -> list[dict]:
    """SWEEP_DIR/results.csv and the three figures -> the rows."""

    paths = SweepPaths(out)
    axis = config["axis"]
    rows = rows_from(jobs, results, paths.root)
    write_csv(paths.results_csv, rows, columns(axis))
    ceilings = [r["task_ceiling"] for r in rows if isinstance(r["task_ceiling"], (int, float))]
    values = config["values"]
    log_x = len(values) > 2 and max(values) / min(values) >= 20
    fig = plot_accuracy_vs(
        aggregate(rows, axis, "test_acc"), axis, rows, ceiling=max(ceilings, default=None), log_x=log_x
    )
    save_figure(fig, paths.accuracy_figure(axis).stem)
    save_figure(plot_training_overlay(histories(jobs, results), axis), paths.training_overlay.stem)
    profiles, missing = gradient_profiles(jobs, axis)
    save_figure(plot_gradient_profiles(profiles, axis, missing), paths.gradient_overlay.stem)
    return rows
