"""The report of one run directory: what was trained, how it learned, what its units do.

`run_sections(root)` reads the directory (sources.py), and returns the report's sections in order; the
unit sections come from unit_sections.py, the gradient sections from gradient_sections.py. Sections
whose files are missing say so and name the command that makes them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rnnscope.io import RunFileError, read_json
from rnnscope.report import gradient_sections
from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.html import Download, Section, csv_bytes, definition_list, missing, note, table
from rnnscope.report.sources import optional_json, read_table
from rnnscope.report.unit_sections import explorer_section, heatmap_section, pca_section, roles_section

REFERENCE = {"train_acc": 0.95, "test_acc": 0.93, "epochs": (30, 50)}  # the seed's reference result

TRAINING = Slot(
    "training_curves",
    "",
    ("training_curves",),
    "Accuracy and loss per epoch: look for where test accuracy levels off (green line, the "
    "convergence epoch) against the reference band of epochs 30-50 and the dotted task ceiling.",
)


class RunReader:
    """The run directory's files, read once; the commands that make missing ones use this path."""

    def __init__(self, root: Path):
        self.root = root
        self.config = read_json(root / "config.json", "config")
        if not isinstance(self.config.get("model"), dict) or not isinstance(self.config.get("data"), dict):
            raise RunFileError(f"config {root / 'config.json'} is corrupt (no model or data section)")
        self.metrics = optional_json(root / "metrics.json", "metrics")
        self.status = optional_json(root / "status.json", "status file")
        self.pipeline = optional_json(root / "pipeline.json", "pipeline log")
        self.history = self._history()
        self.units = read_table(root / "analysis" / "units.csv", "unit table", ("layer", "unit", "role"))
        self.analysis = optional_json(root / "analysis" / "summary.json", "analysis summary")
        self.recording = self._recording()
        self.unit_data = None
        if self.units is not None and self.analysis is not None:
            from rnnscope.report.unit_figures import UnitData

            self.unit_data = UnitData(root / "analysis", self.units, self.analysis)

    def _history(self) -> list[dict] | None:
        if not (self.root / "history.jsonl").exists():
            return None
        from rnnscope.training.rundir import read_history

        return read_history(self.root)

    def _recording(self):
        if not (self.root / "recording" / "manifest.json").exists():
            return None
        from rnnscope.recording import Recording

        rec = Recording(self.root / "recording")
        rec.manifest  # noqa: B018  (validates now: a corrupt manifest fails the build, not the explorer)
        return rec

    def command(self, name: str) -> str:
        return f"rnnscope {name} {self.root}"

    def missing(self, what: str, stage: str) -> str:
        """The note of a section whose data `rnnscope <stage>` makes, with the pipeline's reason if any."""
        why = self.stage_note(stage)
        return missing(what, self.command(stage)) + (note(why) if why else "")

    def stage_note(self, stage: str) -> str | None:
        """Why the pipeline skipped or failed a stage, from pipeline.json."""
        for s in (self.pipeline or {}).get("stages", []):
            if s.get("name") == stage and s.get("status") != "done":
                reason = s.get("note") or "no reason given"
                return f"The pipeline's {stage} stage was {s.get('status')}: {reason}."
        return None


# ---- the run ---------------------------------------------------------------------------------


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return json.dumps(v) if not isinstance(v, str) else v


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
            (
                f"{d.get('n_train')} training / {d.get('n_test')} test sequences, "
                f"{c.get('input_size')} input channels, {c.get('n_classes')} classes"
            ),
        ),
        ("classes", ", ".join(map(str, c.get("class_names", [])))),
        ("model", model),
        ("parameters", f"{c.get('params', 0):,}"),
        ("seed", t.get("seed")),
        (
            "training",
            (
                f"{t.get('epochs')} epochs max, batch {t.get('batch_size')}, Adam lr {t.get('lr')}, "
                f"{t.get('schedule')} schedule, clip {t.get('clip')}"
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
    if r.pipeline and r.pipeline.get("stages"):
        rows = [
            [st.get("name"), st.get("status"), st.get("seconds"), st.get("note") or ""]
            for st in r.pipeline["stages"]
        ]
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
        return s.add(missing("training history (history.jsonl)", f"rnnscope train --out {r.root}"))
    m = r.metrics or {}
    ceiling = m.get("task_ceiling", r.config.get("task_ceiling"))
    conv = m.get("converged_epoch")
    lo, hi = REFERENCE["epochs"]

    def pct(v):
        return f"{100 * v:.1f} %" if isinstance(v, (int, float)) and math.isfinite(v) else "–"

    rows = [
        ["train accuracy", pct(m.get("train_acc")), "~95 %"],
        ["test accuracy", pct(m.get("test_acc")), "~93 %"],
        ["validation accuracy", pct(m.get("val_acc")), ""],
        ["converged epoch", conv if conv is not None else "–", f"{lo}-{hi}"],
        ["epochs run", m.get("epochs_run", len(r.history) - 1), ""],
        ["task ceiling", pct(ceiling) if ceiling is not None else "n/a (real data)", "Bayes/oracle accuracy"],
    ]
    s.add(table(["", "this run", "reference"], rows))
    if r.metrics is None:
        s.add(
            note(
                "metrics.json is missing (training did not finish); the table shows what history.jsonl holds."
            )
        )
    history = r.history

    def draw():
        from rnnscope.plots.training import plot_training_curves

        return plot_training_curves(history, conv, ceiling)

    numbers = [Download("history.csv", data=_history_csv(history))]
    return s.add(finder.html(TRAINING, numbers, draw))


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
    sections += gradient_sections.sections(r, finder)
    other = Section("other-figures", "Other figures")
    for sub in ("analysis", "gradients"):
        for path in finder.leftovers(sub):
            other.add(
                finder.leftover_html(
                    path,
                    f"{path.stem.replace('_', ' ')} (written by "
                    f"{r.command('analyze' if sub == 'analysis' else 'gradients')}).",
                )
            )
    if other.body:
        sections.append(other)
    return sections


def title_of(root: Path) -> tuple[str, str]:
    """(title, subtitle) of a run's report from its config (already validated by run_sections)."""
    c = read_json(root / "config.json", "config")
    d, m = c["data"], c["model"]
    what = d.get("task") or d.get("dataset") or Path(str(d.get("path"))).name
    return (
        f"rnnscope run: {root.name}",
        (
            f"{m.get('kind')} ({m.get('layers')} × {m.get('hidden')}) on {what}, "
            f"seed {c.get('train', {}).get('seed')}"
        ),
    )
