"""The HTML report: one self-contained file per run (or per comparison directory), built from its files.

    build_report("runs/demo")        -> runs/demo/report.html  (a run directory)
    build_report("runs/compare")     -> runs/compare/report.html  (results.csv / context.csv / cost.csv)

The report only reads, and only through rnnscope.rundir: figures are the PNGs the commands wrote where
rundir keeps them (drawn with rnnscope.plots only when a file is missing but its data exist), tables and
numbers come from the CSV/JSON/safetensors files, validated as they are read. Every
section whose data are missing says so and names the command that makes them. A directory that is not
a run or whose files are corrupt raises RunFileError (one line) before anything is written; the file is
written atomically. What the report shows and why it is built this way: docs/report.md.
"""

from __future__ import annotations

import time
from pathlib import Path

from rnnscope import __version__
from rnnscope.io import atomic_write_bytes
from rnnscope.report.compare_report import comparison_sections
from rnnscope.report.html import esc, page
from rnnscope.report.imported_report import directory_sections, directory_title
from rnnscope.report.run_report import run_sections, title_of
from rnnscope.report.sources import kind_of
from rnnscope.rundir import RunPaths

REPORT_NAME = RunPaths(".").report.name

__all__ = ["REPORT_NAME", "build_report", "render_report"]


def render_report(path: str | Path, shown_as: str | Path | None = None) -> str:
    """The report of directory `path` as HTML text (nothing written). RunFileError for a bad directory.

    shown_as: the path the report names an imported or activity directory by (the stage that writes one
    in a staging directory passes the final path); default `path`. Run and comparison directories are
    always named by `path`."""

    root = Path(path)
    kind = kind_of(root)
    shown = root
    if kind == "run":
        sections = run_sections(root)
        title, subtitle = title_of(root)
    elif kind in ("imported", "activity"):
        shown = Path(shown_as) if shown_as is not None else root
        sections = directory_sections(root, kind, shown)
        title, subtitle = directory_title(root, kind, shown)
    else:
        sections = comparison_sections(root)
        title, subtitle = f"rnnscope comparison: {root.name}", f"comparison outputs in {root}"
    footer = (
        f"Built by rnnscope {esc(__version__)} on {time.strftime('%Y-%m-%d %H:%M')} from {esc(shown)}. "
        "Self-contained: no network, no server; figures are PNG data URLs, the explorer and table "
        "sorting are inline JavaScript. Static figures (PNG and SVG) stay next to this file."
    )
    return page(title, subtitle, sections, footer)


def build_report(path: str | Path, out: str | Path | None = None, shown_as: str | Path | None = None) -> Path:
    """Build DIR/report.html (or `out`) for a run or comparison directory; returns its path.
    shown_as: as in render_report."""
    root = Path(path)
    text = render_report(root, shown_as)
    target = Path(out) if out is not None else RunPaths(root).report
    atomic_write_bytes(target, text.encode("utf-8"))
    return target
