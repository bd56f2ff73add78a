"""The whole pipeline in one call: train → record → analyse units → gradients → fixed points → companion
→ report.

    result = run_pipeline(DataConfig(), ModelConfig(), TrainConfig(), "runs/demo", progress=True)
    result.report       # runs/demo/report.html
    result.stages       # [StageResult(name, status, seconds, note, cpu_seconds)], also in pipeline.json

Each stage is the library function its own command calls (`rnnscope train / record / analyze /
gradients / report`), run on the directory the previous stages wrote. Training must succeed; a later
stage that fails (or whose library this installation lacks) is recorded with its reason in
RUN_DIR/pipeline.json — the report shows that reason in the sections the stage would have filled — and
the pipeline goes on, so a report always comes out. Bad options are refused before anything is written.
A tanh RNN gets a gated companion (rnnscope.stages.companion: a parameter-matched LSTM trained alongside it in
RUN_DIR/companion/, with its own gradient report), so the report can show the gates that keep the gradient.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.errors import BadArgument
from rnnscope.names import PIPELINE_SEQUENCES as SEQUENCES
from rnnscope.report import build_report
from rnnscope.rundir import (
    PipelineLog,
    RunPaths,
    StageResult,
    prepare_output,
    read_config,
    write_pipeline_log,
)
from rnnscope.stages.companion import Companion
from rnnscope.stages.record import record
from rnnscope.stages.train import run_training
from rnnscope.training.callbacks import ProgressBar

STAGES = ("train", "record", "analyze", "gradients", "fixedpoints", "companion", "report")
SNAPSHOT_EVERY = 5  # epochs between snapshots of the gradient profile during training
FIXEDPOINT_STARTS = 256  # starts of the fixed-point search (docs/fixedpoints.md: its time on the demo run)
LYAPUNOV_SEQUENCES = 32  # test sequences the pipeline's Lyapunov spectrum follows


@dataclass
class PipelineResult:
    run: object  # rnnscope.Run
    report: Path | None
    stages: list[StageResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.stages)


def _library(module: str, name: str) -> Callable | None:
    """module.name when this installation has it, else None (the stage is then skipped)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def gradient_callbacks(out: Path) -> list:
    """The callback that snapshots the gradient profile during training (every SNAPSHOT_EVERY epochs and
    at initialisation, into out/gradients/), when this installation has it."""
    cls = _library("rnnscope.gradients", "GradientSnapshots")
    return [cls(out, every=SNAPSHOT_EVERY)] if cls is not None else []


def _record(out: Path, sequences: int) -> str | None:
    rec = record(out, split="test", max_sequences=sequences)
    return f"{rec.n_sequences} test sequences x {len(rec.steps)} steps"


def _analyze(out: Path, sequences: int) -> str | None:
    analyze_run = _library("rnnscope.stages.analyze", "analyze_run")
    if analyze_run is None:
        raise _Skip("this installation has no unit analysis (rnnscope.stages.analyze.analyze_run)")
    return analyze_run(out, split="test", max_sequences=sequences).summary.role_line()


def _gradients(out: Path, sequences: int) -> str | None:
    gradient_report = _library("rnnscope.stages.gradients", "gradient_report")
    if gradient_report is None:
        raise _Skip("this installation has no gradient analysis (rnnscope.stages.gradients.gradient_report)")
    return gradient_report(out).top_line()


def _fixedpoints(out: Path, sequences: int) -> str | None:
    fixed_point_report = _library("rnnscope.stages.fixedpoints", "fixed_point_report")
    if fixed_point_report is None:
        raise _Skip("this installation has no fixed-point analysis (rnnscope.stages.fixedpoints)")
    if read_config(out)["model"].get("kind") == "transformer":
        raise _Skip("a Transformer has no recurrent state, so no fixed points")
    found = fixed_point_report(
        out, starts=FIXEDPOINT_STARTS, sequences=min(sequences, 256), lyapunov_sequences=LYAPUNOV_SEQUENCES
    )
    return found.top_line()


def _failed(name: str, err: Exception) -> StageResult:
    """A failed stage, its reason on one line."""
    text = " ".join(str(err).split()) or err.__class__.__name__
    return StageResult(name, "failed", 0.0, f"{err.__class__.__name__}: {text}")


class _Skip(Exception):
    """A stage that cannot run here (its library is missing); the message says why."""


def _write_log(out: Path, stages: list[StageResult], sequences: int) -> None:
    write_pipeline_log(RunPaths(out).pipeline, PipelineLog(list(stages), sequences))


class _Clock:
    """Wall-clock and CPU time since construction."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stamp(self, result: StageResult) -> StageResult:
        result.seconds = round(time.perf_counter() - self.wall, 2)
        result.cpu_seconds = round(time.process_time() - self.cpu, 2)
        return result


def run_stages(
    out: str | Path,
    sequences: int = SEQUENCES,
    stages: list[StageResult] | None = None,
    *,
    begin: Callable[[str], None] | None = None,
    end: Callable[[StageResult], None] | None = None,
    skip: str | None = None,
) -> list[StageResult]:
    """Record, analyse, measure the gradients and find the fixed points of the trained run in `out`, each
    stage on its own: a
    failure is noted (and logged to out/pipeline.json after `stages`, the results so far), not raised.

    begin(name) / end(result): progress hooks (end must append the result to `stages`); skip: a reason
    to skip every stage."""
    out = Path(out)
    stages = [] if stages is None else stages
    end = end or stages.append
    for name, work in (
        ("record", _record),
        ("analyze", _analyze),
        ("gradients", _gradients),
        ("fixedpoints", _fixedpoints),
    ):
        if begin is not None:
            begin(name)
        clock = _Clock()
        if skip is not None:
            result = StageResult(name, "skipped", 0.0, skip)
        else:
            try:
                result = StageResult(name, "done", 0.0, work(out, sequences))
            except _Skip as why:
                result = StageResult(name, "skipped", 0.0, str(why))
            except Exception as err:
                result = _failed(name, err)
        end(clock.stamp(result))
        _write_log(out, stages, sequences)
    return stages


def run_pipeline(
    data_cfg: DataConfig,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    out: str | Path,
    *,
    overwrite: bool = False,
    match_params: int | None = None,
    checkpoint_every: int = 1,
    sequences: int = SEQUENCES,
    progress: bool = False,
    companion: str = "auto",
    companion_executor: Callable | None = None,
    baselines: bool = True,
) -> PipelineResult:
    """Train into `out`, then record, analyse, measure gradients and build out/report.html.

    sequences: test sequences recorded and analysed. progress: one tqdm bar over the stages with the
    training's epoch bar nested under it (the CLI's display); the library is silent otherwise.
    companion: "auto" (an LSTM for a tanh RNN, none otherwise) | "lstm" | "gru" | "none"
    (rnnscope.stages.companion);
    companion_executor: () -> Executor that trains it (default: one spawned worker process).
    baselines: real data: the 1NN baselines on the run's split (rnnscope.stages.baselines); False skips.
    """

    if sequences < 1:
        raise BadArgument(f"sequences must be positive, got {sequences}")
    out = prepare_output(out, overwrite)  # refuses a bad --out before anything (the callback) writes
    mate = Companion.plan(companion, out, data_cfg, model_cfg, train_cfg, companion_executor)
    bar = None
    if progress:
        bar = tqdm(
            total=len(STAGES),
            desc="pipeline",
            unit="stage",
            position=0,
            dynamic_ncols=True,
            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar}| {elapsed}",
        )
    stages: list[StageResult] = []

    def begin(name: str) -> None:
        if bar is not None:
            bar.set_description_str(f"pipeline: {name}")

    def end(result: StageResult) -> None:
        stages.append(result)
        if bar is not None:
            bar.update(1)

    try:
        begin("train")
        clock = _Clock()
        callbacks = gradient_callbacks(out) + ([mate] if mate is not None else [])
        if progress:
            callbacks.append(ProgressBar("train", position=1, leave=False))
        run = run_training(
            data_cfg,
            model_cfg,
            train_cfg,
            out,
            overwrite=overwrite,
            match_params=match_params,
            callbacks=callbacks,
            checkpoint_every=checkpoint_every,
            baselines=baselines,
        )
        m = run.metrics
        failed = m.get("status") == "failed_nonfinite"
        found = (
            m.get("stop_reason")
            if failed
            else f"test accuracy {m['test_acc']:.3f} after {m['epochs_run']} epochs"
        )
        end(clock.stamp(StageResult("train", "failed" if failed else "done", 0.0, found)))
        _write_log(out, stages, sequences)
        skip = "training failed (non-finite loss); nothing to analyse" if failed else None
        run_stages(out, sequences, stages, begin=begin, end=end, skip=skip)
        begin("companion")
        end(_companion_stage(mate, companion, model_cfg.kind, skip))
        _write_log(out, stages, sequences)
        begin("report")
        clock = _Clock()
        # The report shows pipeline.json, so the report stage is logged (as done) before it is built.
        _write_log(out, [*stages, StageResult("report", "done", None, RunPaths(out).report.name)], sequences)
        report = build_report(out)
        end(clock.stamp(StageResult("report", "done", 0.0, report.name)))
        _write_log(out, stages, sequences)
    finally:
        if mate is not None:
            mate.cancel()
        if bar is not None:
            bar.close()
    return PipelineResult(run, report, stages)


def _companion_stage(mate, requested: str, kind: str, skip: str | None) -> StageResult:
    """Wait for the gated companion and measure its gradients (a failure is noted, not raised)."""
    clock = _Clock()
    if mate is None:
        why = "--companion none" if requested == "none" else f"the {kind} model is its own comparison"
        return StageResult("companion", "skipped", 0.0, why)
    if skip is not None:
        mate.cancel()
        return StageResult("companion", "skipped", 0.0, skip)
    try:
        result = StageResult("companion", "done", 0.0, mate.finish())
    except Exception as err:
        result = _failed("companion", err)
    return clock.stamp(result)
