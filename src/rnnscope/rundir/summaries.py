"""Typed summaries of a run directory (analysis, gradients, pipeline log, companion) and their sentences.

Each dataclass writes exactly the JSON keys the file has always had (`to_json`) and reads them back
with validation (`from_json`: RunFileError naming the file when a key is missing or of the wrong type).
The human sentences about them (the CLI's lines, the pipeline's notes, the report's headlines) are the
methods below and nowhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnscope.io import read_json, write_json
from rnnscope.rundir.gradient_text import is_decay, layers_line
from rnnscope.rundir.validate import NUMBER, Fields

OPT_NUM = (int, float, type(None))
OPT_INT = (int, type(None))


# ---- analysis/summary.json ----------------------------------------------------------------------
@dataclass
class LayerUnits:
    """One layer of the unit analysis."""

    activity: str  # the recorded array analysed, e.g. "hidden.l0" or "residual.l0"
    units: int
    role_counts: dict[str, int]
    pca_explained_variance_ratio: list[float]
    participation_ratio: float
    examples: dict[str, list[int]]  # role -> up to 3 example units, clearest first

    @classmethod
    def from_fields(cls, f: Fields) -> LayerUnits:
        examples = f.mapping("examples", list)
        return cls(
            f.get("activity", str),
            f.get("units", int),
            f.mapping("role_counts", int),
            f.numbers("pca_explained_variance_ratio"),
            f.get("participation_ratio", NUMBER),
            {k: [int(u) for u in v] for k, v in examples.items()},
        )


@dataclass
class AnalysisSummary:
    """RUN_DIR/analysis/summary.json. `split` and `impulse` are set by the analyze stage (not by
    analysing a bare recording) and written only then."""

    layers: dict[str, LayerUnits]
    role_counts_total: dict[str, int]
    sequences_analyzed: int
    sequences_recorded: int
    steps: int
    model: dict
    source: dict
    class_names: list | None
    evidence: list | str | None  # task latents used as evidence, "running sums of the inputs", or None
    impulse_probed: bool
    thresholds: dict
    split: str | None = None
    impulse: dict | None = None  # {"sequences", "at", "steps"} of the impulse probe, or None
    dynamics: dict | None = None  # the model probes' settings (free runs, impulse), or None: absent

    @property
    def role_counts(self) -> dict[str, dict[str, int]]:
        return {k: v.role_counts for k, v in self.layers.items()}

    @property
    def participation_ratio(self) -> dict[str, float]:
        return {k: v.participation_ratio for k, v in self.layers.items()}

    @property
    def pca_explained_variance_ratio(self) -> dict[str, list[float]]:
        return {k: v.pca_explained_variance_ratio for k, v in self.layers.items()}

    def to_json(self) -> dict:
        out = {
            "role_counts": self.role_counts,
            "pca_explained_variance_ratio": self.pca_explained_variance_ratio,
            "participation_ratio": self.participation_ratio,
            "layers": {k: asdict(v) for k, v in self.layers.items()},
            "role_counts_total": self.role_counts_total,
            "sequences_analyzed": self.sequences_analyzed,
            "sequences_recorded": self.sequences_recorded,
            "steps": self.steps,
            "model": self.model,
            "source": self.source,
            "class_names": self.class_names,
            "evidence": self.evidence,
            "impulse_probed": self.impulse_probed,
            "thresholds": self.thresholds,
            "dynamics": self.dynamics,
        }
        if self.split is not None:
            out.update({"split": self.split, "impulse": self.impulse})
        return out

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> AnalysisSummary:
        f = Fields(obj, "analysis summary", path)
        layers = f.get("layers", dict)
        return cls(
            {
                k: LayerUnits.from_fields(Fields(v, f"analysis summary (layer {k})", path))
                for k, v in layers.items()
            },
            f.mapping("role_counts_total", int),
            f.get("sequences_analyzed", int),
            f.get("sequences_recorded", int),
            f.get("steps", int),
            f.get("model", dict),
            f.get("source", dict),
            f.get("class_names", (list, type(None))),
            f.get("evidence", (list, str, type(None))),
            f.get("impulse_probed", bool),
            f.get("thresholds", dict),
            f.get("split", (str, type(None)), None),
            f.get("impulse", (dict, type(None)), None),
            f.get("dynamics", (dict, type(None)), None),
        )

    def role_line(self) -> str | None:
        """'12 integrator, 3 oscillatory, ...' (roles with units), the pipeline's note."""
        return ", ".join(f"{n} {role}" for role, n in self.role_counts_total.items() if n) or None

    def dynamics_line(self) -> str:
        """Whether the roles rest on the network's own dynamics (free runs, impulse) or on activity alone."""
        d = self.dynamics
        if not d:
            return (
                "network dynamics: absent (no model probed); oscillatory / integrator / latching "
                "from activity alone"
            )
        return (
            f"network dynamics: free runs of {d['free_steps']} steps with the input removed, from step "
            f"{d['start']} of {d['sequences']} sequences; impulse at step {d['at']}"
        )

    def cli_lines(self, split: str) -> list[str]:
        """What `rnnscope analyze` prints: what was analysed, then a table of roles per layer."""
        roles = list(self.role_counts_total)
        width = min(max(len(r) for r in roles), 15)
        ev = ", ".join(self.evidence) if isinstance(self.evidence, list) else self.evidence
        lines = [
            f"{self.sequences_analyzed} {split} sequences x {self.steps} steps; evidence: {ev}",
            self.dynamics_line(),
            f"{'layer':<7}{'units':>6}  " + "  ".join(f"{r:>{width}}" for r in roles) + "  PR",
        ]
        for layer, d in self.layers.items():
            counts = "  ".join(f"{d.role_counts[r]:>{width}}" for r in roles)
            lines.append(f"{layer:<7}{d.units:>6}  {counts}  {d.participation_ratio:.1f}")
        return lines


def write_analysis_summary(path: Path, summary: AnalysisSummary) -> None:
    write_json(path, summary.to_json())


def read_analysis_summary(path: Path) -> AnalysisSummary | None:
    """None when the file is missing."""
    return (
        AnalysisSummary.from_json(read_json(path, "analysis summary"), path) if Path(path).exists() else None
    )


# ---- gradients/summary.json -----------------------------------------------------------------------
QUANTITY = {"grad_h": "∂L/∂h", "grad_c": "∂L/∂c", "grad_x": "∂L/∂x (input)", "grad_stream": "∂L/∂stream"}


@dataclass
class DecayRow:
    """The fitted decay of one gradient quantity of one layer (rnnscope.gradients.profile.summarise)."""

    layer: int
    quantity: str  # grad_h | grad_c | grad_x | grad_stream
    decay_factor: float
    r2: float
    half_life: float
    fit_points: int
    effective_context: int | None
    context_censored: bool

    @classmethod
    def from_fields(cls, f: Fields) -> DecayRow:
        return cls(
            f.get("layer", int),
            f.get("quantity", str),
            f.get("decay_factor", NUMBER),
            f.get("r2", NUMBER),
            f.get("half_life", NUMBER),
            f.get("fit_points", int),
            f.get("effective_context", OPT_INT),
            f.get("context_censored", bool),
        )

    def context_text(self, at_least: str = ">= ") -> str:
        ctx = self.effective_context
        return "-" if ctx is None else (f"{at_least}{ctx}" if self.context_censored else str(ctx))


@dataclass
class GradientSummary:
    """RUN_DIR/gradients/summary.json."""

    kind: str
    layers: int
    split: str
    batch: int
    probe_index: list[int]
    seq_len: int
    epsilon: float
    loss: float
    loss_init: float
    definitions: dict[str, str]
    per_layer: list[DecayRow]
    per_layer_init: list[DecayRow]
    behavioural: dict | None  # definition (b) from a context sweep: effective_context, censored, ...
    through_training_epochs: list[int] | None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(
        cls, obj: dict, path: Path | str | None = None, what: str = "gradient summary"
    ) -> GradientSummary:
        f = Fields(obj, what, path)
        b = f.sub("behavioural")
        if b is not None:
            b.get("effective_context", OPT_INT), b.get("censored", bool)
        return cls(
            f.get("kind", str),
            f.get("layers", int),
            f.get("split", str),
            f.get("batch", int),
            f.numbers("probe_index"),
            f.get("seq_len", int),
            f.get("epsilon", NUMBER),
            f.get("loss", NUMBER),
            f.get("loss_init", NUMBER),
            f.mapping("definitions", str),
            [DecayRow.from_fields(r) for r in f.rows("per_layer")],
            [DecayRow.from_fields(r) for r in f.rows("per_layer_init")],
            None if b is None else b.obj,
            f.get("through_training_epochs", (list, type(None))),
        )

    def pairs(self) -> list[tuple[DecayRow, DecayRow | None]]:
        """Each per-layer row with the row of the same layer and quantity at initialisation (or None)."""
        init = {(r.layer, r.quantity): r for r in self.per_layer_init}
        return [(r, init.get((r.layer, r.quantity))) for r in self.per_layer]

    def top_line(self) -> str | None:
        """The pipeline's note: every layer's hidden-state (or stream) gradient decay, each layer named."""
        return layers_line(self.per_layer)

    def carrier_line(self) -> str | None:
        """The companion's note: every layer's carried gradient (dL/dc where the cell has one, else dL/dh)."""
        carried = [r for r in self.per_layer if r.quantity == "grad_c"] or self.per_layer
        return layers_line(carried, ("grad_c", "grad_h"))

    def cli_lines(self) -> list[str]:
        """What `rnnscope gradients` prints."""
        lines = [
            (
                f"{self.kind}: {self.batch} {self.split} sequences x {self.seq_len} steps, "
                f"loss {self.loss:.3f} (init {self.loss_init:.3f})"
            ),
            f"{'layer':<6}{'quantity':<13}{'decay/step':>11}{'half-life':>11}{'R2':>7}{'context (a)':>13}",
        ]
        for r in self.per_layer:
            fit = f"{r.decay_factor:>11.4f}{r.half_life:>11.1f}" if is_decay(r) else f"{'no decay':>22}"
            lines.append(f"{r.layer:<6}{r.quantity:<13}{fit}{r.r2:>7.3f}{r.context_text('>='):>13}")
        b = self.behavioural
        if b is not None:
            ctx = (
                "undefined"
                if b["effective_context"] is None
                else (f">= {b['effective_context']}" if b["censored"] else str(b["effective_context"]))
            )
            lines.append(f"behavioural context (b): {ctx}")
        return lines


def write_gradient_summary(path: Path, summary: GradientSummary) -> None:
    write_json(path, summary.to_json())


def read_gradient_summary(path: Path, what: str = "gradient summary") -> GradientSummary | None:
    """None when the file is missing."""
    return GradientSummary.from_json(read_json(path, what), path, what) if Path(path).exists() else None


# ---- the companion ------------------------------------------------------------------------------
MODEL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "transformer": "Transformer"}


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


@dataclass
class CompanionSummary:
    """The gated companion of a run (RUN_DIR/companion/), from its config, metrics and gradient summary."""

    kind: str
    layers: int | None
    hidden: int | None
    params: int | None
    test_acc: float
    gradients: GradientSummary | None

    def note(self) -> str:
        """The pipeline's line: accuracy and the top layer's carried gradient."""
        text = f"{self.kind} ({_count(self.params)} parameters): test accuracy {self.test_acc:.3f}"
        carrier = self.gradients.carrier_line() if self.gradients is not None else None
        return text + (f"; {carrier}" if carrier else "")

    def headline(self, main_kind: str, main_params, directory: str) -> str:
        """The report's sentence introducing it next to the main model."""
        name, main_name = MODEL_NAMES.get(self.kind, self.kind), MODEL_NAMES.get(main_kind, main_kind)
        return (
            f"The gated companion: {'an' if self.kind == 'lstm' else 'a'} {name} of {self.layers} layers × "
            f"{self.hidden} units ({_count(self.params)} parameters; this {main_name} has "
            f"{_count(main_params)}), trained alongside it on the same data with the same settings and seed "
            f"(test accuracy {self.test_acc:.3f}; its run directory is {directory}/)."
        )


# ---- pipeline.json ------------------------------------------------------------------------------
STAGE_STATUSES = ("done", "skipped", "failed")


@dataclass
class StageResult:
    name: str
    status: str  # "done" | "skipped" | "failed"
    seconds: float | None = 0.0  # wall clock; None: still running when the log was written
    note: str | None = None  # what it found, or why it was skipped or failed, in one line
    cpu_seconds: float | None = None  # CPU time of this process (all its threads) during the stage

    def line(self) -> str:
        """The CLI's line for this stage."""
        seconds = f"{self.seconds:6.1f} s" if self.seconds is not None else ""
        return f"{self.name:<12}{self.status:<8}{seconds:>9}   {self.note or ''}"

    def reason(self) -> str | None:
        """Why the stage did not run to the end, as the report says it (None when it was done)."""
        if self.status == "done":
            return None
        return f"The pipeline's {self.name} stage was {self.status}: {self.note or 'no reason given'}."


@dataclass
class PipelineLog:
    """RUN_DIR/pipeline.json: the stages of `rnnscope run` so far."""

    stages: list[StageResult] = field(default_factory=list)
    sequences: int | None = None

    def to_json(self) -> dict:
        return {"stages": [asdict(s) for s in self.stages], "sequences": self.sequences}

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> PipelineLog:
        f = Fields(obj, "pipeline log", path)
        stages = [
            StageResult(
                s.get("name", str),
                s.get("status", str),
                s.get("seconds", OPT_NUM, None),
                s.get("note", (str, type(None)), None),
                s.get("cpu_seconds", OPT_NUM, None),
            )
            for s in f.rows("stages", [])
        ]
        for s in stages:
            if s.status not in STAGE_STATUSES:
                f.fail(f"stage {s.name} has status {s.status!r}, not one of {', '.join(STAGE_STATUSES)}")
        return cls(stages, f.get("sequences", OPT_INT, None))

    def stage_reason(self, name: str) -> str | None:
        """Why the pipeline skipped or failed stage `name` (None when it did not)."""
        for s in self.stages:
            if s.name == name and s.status != "done":
                return s.reason()
        return None


def write_pipeline_log(path: Path, log: PipelineLog) -> None:
    write_json(path, log.to_json())


def read_pipeline_log(path: Path) -> PipelineLog | None:
    return PipelineLog.from_json(read_json(path, "pipeline log"), path) if Path(path).exists() else None
