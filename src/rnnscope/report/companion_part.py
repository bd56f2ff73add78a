"""The gated companion in a run's report (RUN_DIR/companion/, written by `rnnscope run`;
rnnscope.stages.companion): its gate highways and gradient profile next to the main model's decay, so a
tanh-RNN report shows the gates that keep the gradient. Figures are the companion's own gradient-report
PNGs; nothing is computed.
"""

from __future__ import annotations

import dataclasses
import math

from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.html import note, table
from rnnscope.rundir import (
    CompanionSummary,
    GradientSummary,
    RunPaths,
    read_config,
    read_gradient_summary,
    read_metrics,
)
from rnnscope.rundir.validate import Fields

COMPANION_HIGHWAY = Slot(
    "companion_highways",
    "The gated companion's gate-only path (LSTM Π f, GRU Π z), its normalised ∂L/∂c and its Jacobian "
    "product along the sequence: look for how far back the gradient stays near 1 where the tanh RNN's has "
    "vanished, and whether the gate product carries it alone or the whole recurrence does.",
)
COMPANION_FLOW = Slot(
    "companion_gradient_flow",
    "The gated companion's ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ against the step, trained (solid) and at initialisation: "
    "compare the slope with the tanh RNN's gradient-flow figure above.",
)
CARRIED = ("grad_h", "grad_c", "grad_stream")


def _rows(name: str, summary: GradientSummary | None) -> list[list]:
    rows = []
    for r, i in summary.pairs() if summary is not None else []:
        if r.quantity in CARRIED:
            ctx = r.effective_context
            ctx = f"≥ {ctx}" if r.context_censored and ctx is not None else ctx
            rows.append(
                [
                    name,
                    f"layer {r.layer}",
                    r.quantity,
                    r.decay_factor,
                    i.decay_factor if i is not None else None,
                    ctx,
                ]
            )
    return rows


def _optional_metrics(paths: RunPaths, what: str) -> dict:
    return read_metrics(paths.root, what) if paths.metrics.exists() else {}


def read_companion(paths: RunPaths) -> CompanionSummary | None:
    """The companion of the run at `paths` from its config, metrics and gradient summary (None: it has none)."""
    mate = paths.companion
    gradients = read_gradient_summary(mate.gradients.summary, "companion gradient summary")
    if gradients is None:
        return None
    config = read_config(mate.root)
    metrics = Fields(_optional_metrics(mate, "companion metrics"), "companion metrics", mate.metrics)
    model = Fields(config["model"], "companion config", mate.config)
    params = metrics.get("params", (int, type(None)), None)
    return CompanionSummary(
        model.get("kind", str, "gated"),
        model.get("layers", (int, type(None)), None),
        model.get("hidden", (int, type(None)), None),
        params if params is not None else config.get("params"),
        metrics.get("test_acc", (int, float), math.nan),
        gradients,
    )


def companion_html(
    paths: RunPaths, finder: FigureFinder, main_summary: GradientSummary | None, main_kind: str
) -> str | None:
    """The companion part of the highways section, or None when the run has no companion."""
    mate = read_companion(paths)
    if mate is None:
        return None
    main_params = _optional_metrics(paths, "run metrics").get("params")
    parts = [note(mate.headline(main_kind, main_params, paths.companion.root.name))]
    rows = _rows(main_kind, main_summary) + _rows(mate.kind, mate.gradients)
    if rows:
        parts.append(
            table(
                [
                    "model",
                    "layer",
                    "gradient",
                    "decay factor per step",
                    "at initialisation",
                    "context (a), steps",
                ],
                rows,
                numeric={3, 4},
                caption="The gradient's per-step decay factor and effective context (a) of the main model and of "
                "its gated companion (docs/gradients.md); ≥ marks a gradient that never fell below ε.",
            )
        )
    profile = paths.companion.gradients.profile_csv
    downloads = []
    if profile.exists():  # offered under its own name, next to the main run's profile.csv
        d = finder.download(profile, "companion profile (CSV)")
        downloads.append(dataclasses.replace(d, name=f"companion_{d.name}"))
    gradients = paths.companion.gradients
    for slot, fig in (
        (COMPANION_HIGHWAY, gradients.figure("highways")),
        (COMPANION_FLOW, gradients.figure("flow")),
    ):
        html = finder.html(slot, fig, downloads)
        if html is not None:
            parts.append(html)
    return "".join(parts)
