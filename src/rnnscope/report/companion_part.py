"""The gated companion in a run's report (RUN_DIR/companion/, written by `rnnscope run`; rnnscope.companion):
its gate highways and gradient profile next to the main model's decay, so a tanh-RNN report shows the
gates that keep the gradient. Figures are the companion's own gradient-report PNGs; nothing is computed.
"""

from __future__ import annotations

import dataclasses

from rnnscope.companion import COMPANION_DIR
from rnnscope.io import read_json
from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.gradient_sections import layer_pairs
from rnnscope.report.html import note, table
from rnnscope.report.sources import optional_json

COMPANION_HIGHWAY = Slot(
    "companion_highways",
    f"{COMPANION_DIR}/gradients",
    ("highway",),
    "The gated companion's gate-only path (LSTM Π f, GRU Π z), its normalised ∂L/∂c and its Jacobian "
    "product along the sequence: look for how far back the gradient stays near 1 where the tanh RNN's has "
    "vanished, and whether the gate product carries it alone or the whole recurrence does.",
)
COMPANION_FLOW = Slot(
    "companion_gradient_flow",
    f"{COMPANION_DIR}/gradients",
    ("profile",),
    "The gated companion's ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ against the step, trained (solid) and at initialisation: "
    "compare the slope with the tanh RNN's gradient-flow figure above.",
    exclude=("training", "learning", "highway"),
)
CARRIED = ("grad_h", "grad_c", "grad_stream")
MODEL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "transformer": "Transformer"}


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _rows(name: str, summary: dict) -> list[list]:
    rows = []
    for r, i in layer_pairs(summary):
        if r.get("quantity") in CARRIED:
            ctx = r.get("effective_context")
            ctx = f"≥ {ctx}" if r.get("context_censored") and ctx is not None else ctx
            rows.append([name, f"layer {r.get('layer')}", r.get("quantity"), r.get("decay_factor"),
                         i.get("decay_factor"), ctx])
    return rows


def companion_html(root, finder: FigureFinder, main_summary: dict | None, main_kind: str) -> str | None:
    """The companion part of the highways section, or None when the run has no companion."""
    cdir = root / COMPANION_DIR
    summary = optional_json(cdir / "gradients" / "summary.json", "companion gradient summary")
    if summary is None:
        return None
    metrics = optional_json(cdir / "metrics.json", "companion metrics") or {}
    main_metrics = optional_json(root / "metrics.json", "run metrics") or {}
    config = read_json(cdir / "config.json", "companion config")
    model = config.get("model", {})
    kind = model.get("kind", "gated")
    name, main_name = MODEL_NAMES.get(kind, kind), MODEL_NAMES.get(main_kind, main_kind)
    params, main_params = _count(metrics.get("params", config.get("params"))), _count(main_metrics.get("params"))
    parts = [
        note(
            f"The gated companion: {'an' if kind == 'lstm' else 'a'} {name} of {model.get('layers')} layers × "
            f"{model.get('hidden')} units ({params} parameters; this {main_name} has {main_params}), trained "
            f"alongside it on the same data with the same settings and seed (test accuracy "
            f"{metrics.get('test_acc', float('nan')):.3f}; its run directory is {COMPANION_DIR}/)."
        )
    ]
    rows = _rows(main_kind, main_summary or {}) + _rows(kind, summary)
    if rows:
        parts.append(
            table(
                ["model", "layer", "gradient", "decay factor per step", "at initialisation", "context (a), steps"],
                rows,
                numeric={3, 4},
                caption="The gradient's per-step decay factor and effective context (a) of the main model and of "
                "its gated companion (docs/gradients.md); ≥ marks a gradient that never fell below ε.",
            )
        )
    profile = cdir / "gradients" / "profile.csv"
    downloads = []
    if profile.exists():  # offered under its own name, next to the main run's profile.csv
        d = finder.download(profile, "companion profile (CSV)")
        downloads.append(dataclasses.replace(d, name=f"companion_{d.name}"))
    for slot in (COMPANION_HIGHWAY, COMPANION_FLOW):
        fig = finder.html(slot, downloads)
        if fig is not None:
            parts.append(fig)
    return "".join(parts)
