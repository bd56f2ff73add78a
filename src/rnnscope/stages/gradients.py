"""`rnnscope gradients RUN_DIR`: the gradient-flow report of a trained run, written to RUN_DIR/gradients/.

    profile.csv, profile_init.csv   step, layer, quantity, mean, std (trained model; freshly initialised)
    summary.json                    GradientSummary: per layer and quantity the decay factor per step, R²,
                                    half-life, effective context (a); behavioural context (b) with a sweep
    step_gradients.safetensors      the trained model's per-sequence, per-unit gradients on the probe
    profile, learning_by_step, highways (recurrent models), through_training (when the run recorded
    snapshots with `GradientSnapshots`): .png|svg, drawn by rnnscope.plots.gradient_panels

The numbers come from rnnscope.gradients.flow; everything is validated (and the run loaded) before the
first file is written.
"""

from __future__ import annotations

from pathlib import Path

from rnnscope.errors import BadArgument
from rnnscope.gradients.flow import GradientFlow, behavioural_context, measure_flow, validate
from rnnscope.gradients.profile import write_profile_csv
from rnnscope.plots import save_figure
from rnnscope.plots.gradient_panels import gradient_figures
from rnnscope.rundir import (
    GradientPaths,
    GradientSummary,
    RunPaths,
    SweepPaths,
    read_csv,
    read_snapshots,
    write_gradient_summary,
)
from rnnscope.training.api import load_run


def read_context(path: str | Path, kind: str) -> dict:
    """Definition (b) for `kind` from a context sweep (its directory or its context.csv)."""
    p = Path(path)
    if p.is_dir():
        p = SweepPaths(p).context_csv
    if not p.is_file():
        raise BadArgument(f"no context sweep results at {p} (run `rnnscope context` first)")
    try:
        rows = read_csv(p)
    except (OSError, UnicodeDecodeError) as err:
        raise BadArgument(f"context sweep results {p} cannot be read ({err.__class__.__name__})") from None
    return behavioural_context(rows, kind, str(p))


def gradient_report(
    run_dir: str | Path,
    *,
    epsilon: float = 1e-3,
    batch: int = 64,
    split: str = "test",
    context: str | Path | None = None,
) -> GradientSummary:
    """Measure gradient flow of a run on a seeded probe batch and write RUN_DIR/gradients/. Returns the
    summary."""
    validate(epsilon, batch, split)
    run = load_run(run_dir)
    behavioural = read_context(context, run.model_cfg.kind) if context is not None else None
    paths = RunPaths(run.path).gradients
    through = read_snapshots(paths)
    flow = measure_flow(
        run,
        epsilon=epsilon,
        batch=batch,
        split=split,
        behavioural=behavioural,
        through_epochs=None if through is None else through.epochs.tolist(),
    )
    paths.dir.mkdir(exist_ok=True)
    write_profile_csv(paths.profile_csv, flow.trained["by_step"])
    write_profile_csv(paths.profile_init_csv, flow.init["by_step"])
    flow.trained["grads"].save(paths.step_gradients)
    write_gradient_summary(paths.summary, flow.summary)
    save_gradient_figures(paths, flow, through)
    return flow.summary


def save_gradient_figures(paths: GradientPaths, flow: GradientFlow, through) -> list[Path]:
    """profile, learning_by_step, highways, through_training (.png|svg), as the report draws them."""

    figs = gradient_figures(
        flow.summary.kind,
        flow.trained["by_step"],
        flow.init["by_step"],
        None if through is None else through.epochs,
        None if through is None else through.mean,
    )
    return [p for key, fig in figs.items() for p in save_figure(fig, paths.figure(key).stem)]
