"""`rnnscope context`: context.csv, context.json and the context figure of a delayed-recall sweep.

SWEEP_DIR/context.csv          one tidy row per run, with chance and chance-corrected accuracy
SWEEP_DIR/context.json         ContextSummary: definition (b) of the effective context per model
SWEEP_DIR/context.png|svg      accuracy and chance-corrected accuracy vs distance
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.plots import save_figure
from rnnscope.plots.compare import plot_context
from rnnscope.rundir import ContextSummary, SweepPaths, write_context_summary, write_csv
from rnnscope.sweep.context import COLUMNS, context_rows, summarize
from rnnscope.sweep.store import aggregate


def write_context(
    out: str | Path, jobs: list[dict], results: list[dict]
) -> tuple[list[dict], ContextSummary]:
    """The three files -> (rows, summary)."""

    paths = SweepPaths(out)
    rows = context_rows(jobs, results, paths.root)
    write_csv(paths.context_csv, rows, COLUMNS)
    summary = ContextSummary.from_json(summarize(rows))
    write_context_summary(paths.root, summary)
    fig = plot_context(
        aggregate(rows, "distance", "test_acc"),
        aggregate(rows, "distance", "chance_corrected"),
        summary.to_json(),
        rows,
    )
    save_figure(fig, paths.context_figure.stem)
    return rows, summary
