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
from rnnscope.rundir.gradient_text import vanished_layers
from rnnscope.rundir.validate import Fields


def companion_highway_caption(main_summary: GradientSummary | None) -> str:
    """The companion's highway caption: says the main model's gradient vanished only in the layers where
    its fitted decay fell below epsilon within the sequence (rnnscope.rundir.gradient_text)."""
    rows = main_summary.per_layer if main_summary is not None else []
    gone = vanished_layers(rows)
    kept = sorted({r.layer for r in rows if r.quantity in ("grad_h", "grad_stream")} - set(gone))
    if gone:
        where = f"where the main model's gradient has vanished (layer {', '.join(map(str, gone))})"
        if kept:
            where += f"; in layer {', '.join(map(str, kept))} it did not vanish within the sequence"
    elif kept:
        where = "next to the main model's, which did not vanish within the sequence in any layer"
    else:
        where = "next to the main model's (not measured)"
    return (
        "The gated companion's gate-only path (LSTM Π f, GRU Π z), its normalised ∂L/∂c and its Jacobian "
        f"product along the sequence: look for how far back the gradient stays near 1, {where}."
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
    """The companion of the run at `paths` from its config, metrics and gradient summary (None: it has
    none)."""
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
                caption="The gradient's per-step decay factor and effective context (a) of the main model "
                "and of its gated companion (docs/gradients.md); ≥ marks a gradient that never fell below ε.",
            )
        )
    profile = paths.companion.gradients.profile_csv
    downloads = []
    if profile.exists():  # offered under its own name, next to the main run's profile.csv
        d = finder.download(profile, "companion profile (CSV)")
        downloads.append(dataclasses.replace(d, name=f"companion_{d.name}"))
    gradients = paths.companion.gradients
    for slot, fig in (
        (Slot("companion_highways", companion_highway_caption(main_summary)), gradients.figure("highways")),
        (COMPANION_FLOW, gradients.figure("flow")),
    ):
        html = finder.html(slot, fig, downloads)
        if html is not None:
            parts.append(html)
    return "".join(parts)
