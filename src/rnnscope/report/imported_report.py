"""The report of an imported run (a model trained elsewhere) and of an activity directory (a recording).

Neither has config.json or a training history. An imported run's report says the model was trained
elsewhere (its provenance: source file and SHA-256), shows its real data sizes and the accuracies measured
at import, and no training curves; the unit and gradient sections are a run's. An activity directory's
report shows where the activity came from, the unit sections and the explorer; the sections that need a
model (training, gradient flow) say so in one sentence.
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.report.figures import FigureFinder
from rnnscope.report.gradient_sections import sections as gradient_sections
from rnnscope.report.html import Section, definition_list, note, table
from rnnscope.report.run_report import RunReader
from rnnscope.report.unit_figures import UnitData
from rnnscope.report.unit_sections import explorer_section, heatmap_section, pca_section, roles_section
from rnnscope.rundir import (
    RunPaths,
    open_recording,
    read_activity_summary,
    read_analysis_summary,
    read_import_summary,
    read_pipeline_log,
    read_units,
)

NO_HISTORY = (
    "Trained elsewhere: rnnscope has no training history for this model, so there are no training curves "
    "(the accuracies above were measured at import)."
)
NO_SNAPSHOTS = "Trained elsewhere: there are no snapshots of the gradient profile during training."
CUSTOM_GRADIENTS = (
    "Gradient flow needs the custom cell's code, which no command loads from a file: in Python, "
    "rnnscope.gradients.step_gradients(rnnscope.load_run(DIR, model=your_module).model, x, y, lengths)."
)
NEEDS_MODEL = (
    "Training curves, gradient flow and the impulse probe need a model; this directory holds recorded "
    "activity only."
)


class ImportedReader(RunReader):
    """A RunReader over an imported or activity directory: the same unit and gradient files, and the
    directory's summary (ImportSummary or ActivitySummary) in place of config.json."""

    def __init__(self, root: Path, kind: str, shown: Path | None = None):
        self.root, self.kind = root, kind
        self.shown = shown or root  # the directory as the report names it (its final path when staged)
        self.paths = paths = RunPaths(root)
        if kind == "imported":
            self.summary = read_import_summary(root)
            self.config = {"model": {"kind": self.summary.model.get("kind")}}
        else:
            self.summary = read_activity_summary(root)
            self.config = {"model": {"kind": "activity"}}
        self.metrics = self.status = self.history = None
        self.pipeline = read_pipeline_log(paths.pipeline)
        self.units = read_units(paths.analysis.units_csv)
        self.analysis = read_analysis_summary(paths.analysis.summary)
        self.recording = open_recording(paths)
        self.unit_data = None
        if self.units is not None and self.analysis is not None:
            self.unit_data = UnitData(paths.analysis, self.units, self.analysis)

    def command(self, name: str) -> str:
        if self.kind == "activity":
            return f"rnnscope activity FILE --out {self.shown}"
        return f"rnnscope {name} {self.shown}"


def _pct(v) -> str:
    return f"{100 * v:.1f} %" if isinstance(v, (int, float)) else "–"


def imported_section(r: ImportedReader) -> Section:
    s = r.summary
    src = s.source
    facts = [
        ("provenance", s.provenance_text()),
        ("source file", src.get("file") or "given in Python (rnnscope.import_model)"),
        ("source SHA-256", src.get("sha256") or "–"),
        ("model", s.model_text()),
        ("module", s.model.get("module")),
        ("data", s.data_text()),
        ("data sizes", s.sizes_text()),
        ("classes", ", ".join(map(str, s.class_names))),
        ("versions", ", ".join(f"{k} {v}" for k, v in s.versions.items())),
        ("directory", str(r.shown)),
    ]
    rows = [[f"{split} accuracy", _pct(s.accuracies.get(split))] for split in ("train", "test")]
    out = Section("run", "The imported model").add(
        note("This model was trained elsewhere and imported; rnnscope did not train it."),
        definition_list(facts),
        "<h3>Accuracy measured at import</h3>",
        table(["", "this model"], rows),
    )
    if not s.model.get("rebuild"):
        out.add(
            note(
                "A custom cell cannot be rebuilt from a file (no code is imported by name): its recording "
                f"and analysis were written at import; in Python, rnnscope.load_run({str(r.shown)!r}, "
                "model=your_module) reattaches it."
            )
        )
    return out


def activity_section(r: ImportedReader) -> Section:
    s = r.summary
    facts = [
        ("source", s.source_text()),
        ("sizes", s.sizes_text()),
        ("classes", ", ".join(map(str, s.class_names)) if s.class_names else "no labels given"),
        ("time step", f"{s.dt:g} s" if s.dt is not None else "not given (timescales in steps)"),
        ("created", s.created),
        ("directory", str(r.shown)),
    ]
    return Section("run", "The recorded activity").add(
        note("Recorded activity, no model: one population, shown as layer 0."), definition_list(facts)
    )


def directory_sections(root: Path, kind: str, shown: Path | None = None) -> list[Section]:
    """The report's sections for an imported (`kind` "imported") or activity directory read from `root`,
    named `shown` (default: root)."""
    r = ImportedReader(root, kind, shown)
    finder = FigureFinder(root, root)
    if kind == "imported":
        head = [imported_section(r), Section("training", "Training curves").add(note(NO_HISTORY))]
    else:
        head = [activity_section(r)]
    units = [
        explorer_section(r),
        heatmap_section(r, finder),
        roles_section(r, finder),
        pca_section(r, finder),
    ]
    if kind == "imported" and not r.summary.model.get("rebuild"):
        tail = [Section("gradients", "Gradient flow").add(note(CUSTOM_GRADIENTS))]
    elif kind == "imported":
        tail = [
            Section(s.id, s.title).add(note(NO_SNAPSHOTS)) if s.id == "gradient-evolution" else s
            for s in gradient_sections(r, finder)
        ]
    else:
        tail = [Section("model", "Training and gradient flow").add(note(NEEDS_MODEL))]
    return head + units + tail


def directory_title(root: Path, kind: str, shown: Path | None = None) -> tuple[str, str]:
    name = (shown or root).name
    if kind == "imported":
        s = read_import_summary(root)
        return (
            f"rnnscope imported model: {name}",
            f"{s.model_text()} on {s.data_text()}, trained elsewhere",
        )
    a = read_activity_summary(root)
    return f"rnnscope activity: {name}", a.sizes_text()
