"""The report of one run directory: what was trained, how it learned, what its units do.

`run_sections(root)` reads the directory (sources.py), and returns the report's sections in order; the
unit sections come from unit_sections.py, the gradient sections from gradient_sections.py. Sections
whose files are missing say so and name the command that makes them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rnnscope.plots.training import plot_training_curves
from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.fixedpoint_sections import sections as fixedpoint_sections
from rnnscope.report.gradient_sections import sections as gradient_sections
from rnnscope.report.html import Download, Section, csv_bytes, definition_list, missing, note, table
from rnnscope.report.unit_figures import UnitData
from rnnscope.report.unit_sections import explorer_section, heatmap_section, pca_section, roles_section
from rnnscope.rundir import (
    RunPaths,
    open_recording,
    read_analysis_summary,
    read_config,
    read_history,
    read_metrics,
    read_pipeline_log,
    read_status,
    read_units,
)
from rnnscope.rundir.runfacts import (
    REFERENCE,
    auto_limit,
    convergence_basis,
    data_sizes,
    input_description,
    is_demo,
    preprocessing,
    reference_cells,
    shortening,
    training_caption,
)

TRAINING_KEY = "training_curves"


class RunReader:
    """The run directory's files, read once; the commands that make missing ones use this path."""

    def __init__(self, root: Path):
        self.root = root
        self.paths = paths = RunPaths(root)
        self.config = read_config(root)
        self.metrics = read_metrics(root) if paths.metrics.exists() else None
        self.status = read_status(root) if paths.status.exists() else None
        self.pipeline = read_pipeline_log(paths.pipeline)
        self.history = read_history(root) if paths.history.exists() else None
        self.units = read_units(paths.analysis.units_csv)
        self.analysis = read_analysis_summary(paths.analysis.summary)
        self.recording = open_recording(paths)  # validated now: a corrupt manifest fails the build
        self.unit_data = None
        if self.units is not None and self.analysis is not None:
            self.unit_data = UnitData(paths.analysis, self.units, self.analysis)

    def command(self, name: str) -> str:
        return f"rnnscope {name} {self.root}"

    def missing(self, what: str, stage: str) -> str:
        """The note of a section whose data `rnnscope <stage>` makes, with the pipeline's reason if any."""
        why = self.stage_note(stage)
        return missing(what, self.command(stage)) + (note(why) if why else "")

    def stage_note(self, stage: str) -> str | None:
        """Why the pipeline skipped or failed a stage, from pipeline.json."""
        return self.pipeline.stage_reason(stage) if self.pipeline is not None else None


# ---- the run ---------------------------------------------------------------------------------


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return json.dumps(v) if not isinstance(v, str) else v


def preprocessing_sentence(config: dict) -> str | None:
    """How a real-data run's series were shortened (downsampling, auto or asked), as one sentence."""
    src = config.get("data_source") or {}
    k = src.get("downsample")
    if not k or k < 2:
        return None
    how = (
        f"by the length rule (downsample auto: at most {auto_limit(src)} steps)"
        if src.get("downsample_auto")
        else "as asked"
    )
    after = (src.get("lengths") or {}).get("train", [None, None])[1]
    kept = shortening(k, src.get("downsample_by"))
    return (
        f"{kept} {how}: the longest training series, {src.get('longest_train_series')} "
        f"steps, became {after}; the network saw this coarser series, the 1NN baselines the full one."
    )


def preprocessing_row(config: dict) -> str | None:
    """The report's one preprocessing row: normalisation, truncation and filling (runfacts.preprocessing),
    the shortening said once, by `preprocessing_sentence` where there was any; None for a task."""
    parts = (preprocessing(config, shortening_phrase=False), preprocessing_sentence(config))
    return "; ".join(p for p in parts if p) or None


def run_section(r: RunReader) -> Section:
    c, d, m = r.config, r.config["data"], r.config["model"]
    src = c.get("data_source") or {}
    if d.get("task"):
        params = src.get("params", d.get("task_params", {}))
        task = f"{d['task']} (built-in task): " + ", ".join(f"{k}={_short(v)}" for k, v in params.items())
    else:
        task = f"{d.get('dataset') or d.get('path')} ({src.get('kind', 'real data')})"
    t = c.get("train", {})
    model = f"{m.get('kind')}: {m.get('layers')} layers × {m.get('hidden')} units"
    if m.get("kind") == "transformer":
        model += f", {m.get('heads')} heads"
    facts = [
        ("task", task),
        (
            "data",
            f"{data_sizes(c)}, {input_description(c)}, {c.get('n_classes')} classes",
        ),
        *([("preprocessing", prep)] if (prep := preprocessing_row(c)) else []),
        ("classes", ", ".join(map(str, c.get("class_names", [])))),
        ("model", model),
        ("parameters", f"{c.get('params', 0):,}"),
        ("seed", t.get("seed")),
        (
            "training",
            (
                f"{t.get('epochs')} epochs max, batch {t.get('batch_size')}, Adam lr {t.get('lr')}, "
                f"{t.get('schedule')} schedule, clip {t.get('clip')}"
                + (
                    f", training batches augmented ({t['augment']})"
                    if t.get("augment") not in (None, "none")
                    else ""
                )
            ),
        ),
        ("versions", ", ".join(f"{k} {v}" for k, v in (c.get("versions") or {}).items())),
        ("created", c.get("created")),
        ("directory", str(r.root)),
    ]
    if r.status is not None:
        facts.append(
            (
                "status",
                r.status.get("status") + (f" ({r.status['reason']})" if r.status.get("reason") else ""),
            )
        )
    s = Section("run", "The run").add(definition_list(facts))
    if r.pipeline is not None and r.pipeline.stages:
        rows = [[st.name, st.status, st.seconds, st.note or ""] for st in r.pipeline.stages]
        s.add("<h3>Pipeline stages</h3>", table(["stage", "status", "seconds", "note"], rows, numeric={2}))
    return s


def _history_csv(history: list[dict]) -> bytes:
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    return csv_bytes(keys, [[row.get(k, "") for k in keys] for row in history])


def training_section(r: RunReader, finder: FigureFinder) -> Section:
    s = Section("training", "Training curves")
    if r.history is None:
        return s.add(missing(f"training history ({r.paths.history.name})", f"rnnscope train --out {r.root}"))
    m = r.metrics or {}
    ceiling = m.get("task_ceiling", r.config.get("task_ceiling"))
    conv = m.get("converged_epoch")
    ref = reference_cells(r.config)

    def pct(v):
        return f"{100 * v:.1f} %" if isinstance(v, (int, float)) and math.isfinite(v) else "–"

    rows = [
        ["train accuracy", pct(m.get("train_acc")), ref["train_acc"]],
        ["test accuracy", pct(m.get("test_acc")), ref["test_acc"]],
        ["validation accuracy", pct(m.get("val_acc")), ""],
        [
            "converged epoch",
            "–" if conv is None else f"{conv} {convergence_basis(m)}".strip(),
            ref["converged_epoch"],
        ],
        ["epochs run", m.get("epochs_run", len(r.history) - 1), ""],
        ["task ceiling", pct(ceiling) if ceiling is not None else "n/a (real data)", "Bayes/oracle accuracy"],
    ]
    demo = any(ref.values())
    header = ["", "this run", "reference (the demo's)" if demo else ""]
    for key, name in (("baseline_1nn_ed", "1NN Euclidean"), ("baseline_1nn_dtw", "1NN DTW (full window)")):
        if key in m:
            why = ((m.get("baselines") or {}).get(key) or {}).get("skipped")
            value = pct(m[key]) if m[key] is not None else f"skipped: {why}"
            rows.append([f"{name}, test accuracy (same split)", value, ""])
    if not (demo or ceiling is not None):  # nothing to set beside this run's numbers: one column
        header, rows = header[:2], [row[:2] for row in rows]
    s.add(table(header, rows))
    for warning in m.get("warnings", []):
        s.add(note(f"Warning: {warning}."))
    if r.metrics is None:
        s.add(
            note(
                f"{r.paths.metrics.name} is missing (training did not finish); the table shows what "
                f"{r.paths.history.name} holds."
            )
        )
    history = r.history

    def draw():
        return plot_training_curves(history, conv, ceiling, REFERENCE if is_demo(r.config) else None)

    numbers = [Download("history.csv", data=_history_csv(history))]
    slot = Slot(TRAINING_KEY, training_caption(r.config))
    return s.add(finder.html(slot, r.paths.training_curves, numbers, draw))


# ---- units -------------------------------------------------------------------------------------


def run_sections(root: Path) -> list[Section]:
    r = RunReader(root)
    finder = FigureFinder(root, root)
    sections = [
        run_section(r),
        training_section(r, finder),
        explorer_section(r),
        heatmap_section(r, finder),
        roles_section(r, finder),
        pca_section(r, finder),
    ]
    sections += gradient_sections(r, finder)
    sections += fixedpoint_sections(r, finder)
    other = Section("other-figures", "Other figures")
    for directory, command in (
        (r.paths.analysis.dir, "analyze"),
        (r.paths.gradients.dir, "gradients"),
        (r.paths.fixedpoints.dir, "fixedpoints"),
    ):
        for path in finder.leftovers(directory):
            other.add(
                finder.leftover_html(
                    path, f"{path.stem.replace('_', ' ')} (written by {r.command(command)})."
                )
            )
    if other.body:
        sections.append(other)
    return sections


def title_of(root: Path) -> tuple[str, str]:
    """(title, subtitle) of a run's report from its config (already validated by run_sections)."""
    c = read_config(root)
    d, m = c["data"], c["model"]
    what = d.get("task") or d.get("dataset") or Path(str(d.get("path"))).name
    return (
        f"rnnscope run: {root.name}",
        (
            f"{m.get('kind')} ({m.get('layers')} × {m.get('hidden')}) on {what}, "
            f"seed {c.get('train', {}).get('seed')}"
        ),
    )
