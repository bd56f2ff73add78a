"""`rnnscope bench`: measured cost curves, their fitted slopes, and the figures.

SWEEP_DIR/cost.csv                 one row per model and length (rnnscope.costs.COLUMNS)
SWEEP_DIR/summary.json             BenchSummary: log-log fits, crossings, stopped series, the spec
SWEEP_DIR/cost_time.png|svg        training step and inference time vs T, with fitted lines
SWEEP_DIR/cost_memory.png|svg      peak memory and state bytes vs T, with fitted lines
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from rnnscope.costs import cost_csv_text, run_bench, stopped_points, summarize
from rnnscope.costs.runner import BenchSpec
from rnnscope.costs.summary import LABELS
from rnnscope.io import atomic_write_bytes
from rnnscope.plots import save_figure
from rnnscope.plots.costs import plot_cost_curves
from rnnscope.rundir import BenchSummary, SweepPaths, write_bench_summary

FIGURES = (
    ["train_step_seconds", "inference_seconds"],  # cost_time
    ["train_peak_bytes", "inference_peak_bytes", "state_bytes"],
)  # cost_memory


def bench(spec: BenchSpec, out: str | Path, progress=None) -> tuple[BenchSummary, list[Path]]:
    """Measure every model's series (progress(row) after each point), write the files -> (summary, paths)."""
    rows = run_bench(spec, progress)
    summary = BenchSummary(asdict(spec), stopped_points(rows), **summarize(rows))
    return summary, write_outputs(out, rows, summary)


def write_outputs(out: str | Path, rows: list[dict], summary: BenchSummary) -> list[Path]:
    """cost.csv, summary.json, cost_time.{png,svg} and cost_memory.{png,svg} in `out` (atomic writes)."""

    paths = SweepPaths(out)
    atomic_write_bytes(paths.cost_csv, cost_csv_text(rows).encode())
    write_bench_summary(paths.root, summary)
    written = [paths.cost_csv, paths.bench_summary]
    for fig_paths, metrics in zip((paths.cost_time, paths.cost_memory), FIGURES, strict=True):
        fig = plot_cost_curves(rows, summary.fits, metrics, [LABELS[m] for m in metrics])
        written += save_figure(fig, fig_paths.stem)
    return written
