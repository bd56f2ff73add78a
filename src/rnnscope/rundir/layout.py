"""Where every file of a run directory, and of a compare / context / bench directory, lives.

    RUN_DIR/config.json              everything needed to rebuild data and model (format_version, versions)
    RUN_DIR/status.json              running | completed | failed_nonfinite, resumes, SHA-256 of final files
    RUN_DIR/history.jsonl            one JSON object per epoch (epoch 0 = before training)
    RUN_DIR/metrics.json             train_acc, val_acc, test_acc, converged_epoch, converged_on, ...
    RUN_DIR/model.safetensors        final weights
    RUN_DIR/training_curves.png|svg  drawn by the train stage
    RUN_DIR/checkpoints/             epoch-NNNNNN[-batch-NNNNNN]/ (rnnscope.training.checkpoint)
    RUN_DIR/.lock                    held (flock) by the process writing the run
    RUN_DIR/pipeline.json            the stages of `rnnscope run` (PipelineLog)
    RUN_DIR/report.html              the HTML report
    RUN_DIR/recording/               manifest.json + chunks/ (rnnscope.recording.store)
    RUN_DIR/analysis/                units.csv, summary.json, arrays.safetensors, five figures (AnalysisPaths)
    RUN_DIR/gradients/               profile.csv, profile_init.csv, summary.json, step_gradients.safetensors,
                                     through_training.safetensors|json, four figures (GradientPaths)
    RUN_DIR/fixedpoints/             points.safetensors (points_class<K>.safetensors per class), summary.json,
                                     arrays.safetensors, three figures (FixedPointPaths)
    RUN_DIR/companion/               the gated companion: an ordinary run directory (RunPaths)

    IMPORTED_DIR/imported.json       a model trained elsewhere (ImportSummary: provenance, data, accuracies)
    IMPORTED_DIR/model.safetensors   its weights; IMPORTED_DIR/data.safetensors: its data, given as arrays
                                     (then recording/, analysis/, gradients/, report.html as in a run)
    ACTIVITY_DIR/activity.json       recorded activity (ActivitySummary); recording/, analysis/, report.html

    SWEEP_DIR/sweep.json, SWEEP_DIR/runs/NAME/                         compare and context
    SWEEP_DIR/results.csv, accuracy_vs_<axis>, training_curves, gradient_profiles (.png|svg)   compare
    SWEEP_DIR/context.csv, context.json, context.png|svg                                         context
    SWEEP_DIR/cost.csv, summary.json, cost_time.png|svg, cost_memory.png|svg                    bench

No other module spells these names; everything reaches them through `RunPaths` / `SweepPaths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

FIGURE_FORMATS = ("png", "svg")


@dataclass(frozen=True)
class Figure:
    """A figure written as STEM.png and STEM.svg. `stem` is a path without suffix."""

    stem: Path

    @property
    def png(self) -> Path:
        return self.stem.with_name(self.stem.name + ".png")

    @property
    def svg(self) -> Path:
        return self.stem.with_name(self.stem.name + ".svg")


@dataclass(frozen=True)
class AnalysisPaths:
    """RUN_DIR/analysis/ (written by `rnnscope analyze`)."""

    dir: Path

    FIGURES: ClassVar[dict[str, str]] = {
        "examples": "unit_traces",
        "heatmap": "unit_heatmap",
        "pca": "pca_trajectories",
        "psd": "oscillatory_psd",
        "tau": "tau_histogram",
    }

    @property
    def units_csv(self) -> Path:
        return self.dir / "units.csv"

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def arrays(self) -> Path:
        return self.dir / "arrays.safetensors"

    def figure(self, key: str) -> Figure:
        """key: examples | heatmap | pca | psd | tau."""
        return Figure(self.dir / self.FIGURES[key])


@dataclass(frozen=True)
class GradientPaths:
    """RUN_DIR/gradients/ (written by `rnnscope gradients`; the snapshots by GradientSnapshots)."""

    dir: Path

    FIGURES: ClassVar[dict[str, str]] = {
        "flow": "profile",
        "learning": "learning_by_step",
        "highways": "highways",
        "evolution": "through_training",
    }
    SNAPSHOTS: ClassVar[str] = "through_training"

    @property
    def profile_csv(self) -> Path:
        return self.dir / "profile.csv"

    @property
    def profile_init_csv(self) -> Path:
        return self.dir / "profile_init.csv"

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def step_gradients(self) -> Path:
        return self.dir / "step_gradients.safetensors"

    @property
    def snapshots(self) -> Path:
        return self.dir / f"{self.SNAPSHOTS}.safetensors"

    @property
    def snapshots_meta(self) -> Path:
        return self.dir / f"{self.SNAPSHOTS}.json"

    def figure(self, key: str) -> Figure:
        """key: flow | learning | highways | evolution."""
        return Figure(self.dir / self.FIGURES[key])


@dataclass(frozen=True)
class FixedPointPaths:
    """RUN_DIR/fixedpoints/ (written by `rnnscope fixedpoints`)."""

    dir: Path

    FIGURES: ClassVar[dict[str, str]] = {
        "points": "fixed_points_pca",
        "eigenvalues": "eigenvalues",
        "lyapunov": "lyapunov_spectrum",
    }

    def points(self, label: int | None = None) -> Path:
        """The FixedPoints file: one input (label None), or class `label`'s mean input."""
        return self.dir / ("points.safetensors" if label is None else f"points_class{label}.safetensors")

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def arrays(self) -> Path:
        """What the figures draw: projected trajectories and points, eigenvalues, the Lyapunov estimate."""
        return self.dir / "arrays.safetensors"

    def figure(self, key: str) -> Figure:
        """key: points | eigenvalues | lyapunov."""
        return Figure(self.dir / self.FIGURES[key])


@dataclass(frozen=True)
class RunPaths:
    """Every path of one run directory."""

    root: Path

    MARKERS: ClassVar[tuple[str, ...]] = (
        "config.json",
        "history.jsonl",
        "model.safetensors",
        "status.json",
    )  # any one: a run
    FINAL: ClassVar[tuple[str, ...]] = (
        "config.json",
        "history.jsonl",
        "metrics.json",
        "model.safetensors",
    )  # hashed in status.json

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def history(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def model(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def pipeline(self) -> Path:
        return self.root / "pipeline.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def training_curves(self) -> Figure:
        return Figure(self.root / "training_curves")

    @property
    def recording(self) -> Path:
        return self.root / "recording"

    @property
    def recording_manifest(self) -> Path:
        return self.recording / "manifest.json"

    @property
    def analysis(self) -> AnalysisPaths:
        return AnalysisPaths(self.root / "analysis")

    @property
    def gradients(self) -> GradientPaths:
        return GradientPaths(self.root / "gradients")

    @property
    def imported(self) -> Path:
        """imported.json: the marker and summary of an imported run (rnnscope.rundir.imported)."""
        return self.root / "imported.json"

    @property
    def imported_data(self) -> Path:
        """data.safetensors: an imported run's data, when they were given as arrays."""
        return self.root / "data.safetensors"

    @property
    def activity(self) -> Path:
        """activity.json: the marker and summary of a directory of recorded activity."""
        return self.root / "activity.json"

    @property
    def fixedpoints(self) -> FixedPointPaths:
        return FixedPointPaths(self.root / "fixedpoints")

    @property
    def companion(self) -> RunPaths:
        return RunPaths(self.root / "companion")

    def final_file(self, name: str) -> Path:
        """One of FINAL (or MARKERS) by its name, as status.json lists it."""
        if name not in self.FINAL + self.MARKERS:
            raise ValueError(f"{name!r} is not a file status.json vouches for")
        return self.root / name

    def is_run(self) -> bool:
        return self.root.is_dir() and any((self.root / m).exists() for m in self.MARKERS)


@dataclass(frozen=True)
class SweepPaths:
    """A compare / context / bench output directory."""

    root: Path

    COMPARISON_FILES: ClassVar[tuple[str, ...]] = (
        "results.csv",
        "context.csv",
        "cost.csv",
    )  # any one: a comparison directory

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def sweep_file(self) -> Path:
        return self.root / "sweep.json"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run(self, name: str) -> RunPaths:
        return RunPaths(self.runs / name)

    @property
    def results_csv(self) -> Path:
        return self.root / "results.csv"

    @property
    def context_csv(self) -> Path:
        return self.root / "context.csv"

    @property
    def context_json(self) -> Path:
        return self.root / "context.json"

    @property
    def cost_csv(self) -> Path:
        return self.root / "cost.csv"

    @property
    def bench_summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    def accuracy_figure(self, axis: str) -> Figure:
        return Figure(self.root / f"accuracy_vs_{axis}")

    @property
    def training_overlay(self) -> Figure:
        return Figure(self.root / "training_curves")

    @property
    def gradient_overlay(self) -> Figure:
        return Figure(self.root / "gradient_profiles")

    @property
    def context_figure(self) -> Figure:
        return Figure(self.root / "context")

    @property
    def cost_time(self) -> Figure:
        return Figure(self.root / "cost_time")

    @property
    def cost_memory(self) -> Figure:
        return Figure(self.root / "cost_memory")

    def is_comparison(self) -> bool:
        return any((self.root / name).exists() for name in self.COMPARISON_FILES)

    def present(self) -> list[tuple[str, bool]]:
        """(file name, present) of the comparison's data files, as the report lists them."""
        files = (self.results_csv, self.sweep_file, self.context_csv, self.context_json, self.cost_csv)
        return [(p.name, p.exists()) for p in files]
