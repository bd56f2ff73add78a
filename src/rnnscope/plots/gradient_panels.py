"""The gradient report's figures from its saved profiles: panels by layer, the same for every caller.

`gradient_figures` is what `rnnscope gradients` saves and what the report draws when a figure file is
missing, so both show the same figure. Inputs are finished results: profiles by step
{(quantity, layer): (mean (T,), std (T,))} (RUN_DIR/gradients/profile*.csv) and the snapshots during
training (epochs (E,), mean {"<quantity>/<layer>": (E, T)}). Key: T = steps, E = snapshots.
"""

from __future__ import annotations

import numpy as np

from rnnscope.plots.gradients import (
    plot_gradient_profiles,
    plot_highways,
    plot_learning_by_step,
    plot_profile_heatmap,
)

LABELS = {"grad_h": "‖∂L/∂h‖", "grad_c": "‖∂L/∂c‖", "grad_x": "‖∂L/∂x‖", "grad_stream": "‖∂L/∂stream‖"}
FLOW = ("grad_h", "grad_c", "grad_x", "grad_stream")
LEARN = {"learn_w_ih": "W_ih", "learn_w_hh": "W_hh"}


def profile_panels(by_step: dict, quantities, label: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{panel title: {curve label: mean (T,)}} of the `quantities`: one panel per layer, the input apart."""
    panels: dict[str, dict[str, np.ndarray]] = {}
    for (q, layer), (mean, _) in by_step.items():
        if q in quantities:
            title = "input" if q == "grad_x" else ("stream" if q == "grad_stream" else "layer") + f" {layer}"
            panels.setdefault(title, {})[(label or LABELS).get(q, q)] = mean
    return panels


def highway_panels(by_step: dict, kind: str) -> dict[str, dict[str, np.ndarray]]:
    """Per layer: the gate product, the carried gradient relative to its last step, the Jacobian product."""
    panels: dict[str, dict[str, np.ndarray]] = {}
    grad_q = "grad_c" if kind == "lstm" else "grad_h"
    for (q, layer), (mean, _) in by_step.items():
        curves = panels.setdefault(f"layer {layer}", {})
        if q == "highway":
            curves["gate product Π f" if kind == "lstm" else "gate product Π z"] = mean
        elif q == grad_q:
            last = mean[np.isfinite(mean)][-1] if np.any(np.isfinite(mean)) else np.nan
            curves[f"{LABELS[grad_q]} / last step"] = mean / last
        elif q == "jacobian_product":
            curves["‖Jacobian product‖"] = mean
    return {k: v for k, v in panels.items() if v}


def snapshot_maps(kind: str, mean: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The hidden-state (Transformer: stream) gradient maps (E, T) per layer, titled for the heatmap."""
    prefix = "grad_stream/" if kind == "transformer" else "grad_h/"
    what = "stream" if kind == "transformer" else "layer"
    return {f"{what} {n.split('/')[1]} ‖∂L/∂h‖": m for n, m in mean.items() if n.startswith(prefix)}


def gradient_figures(
    kind: str,
    trained: dict,
    init: dict,
    epochs=None,
    snapshots: dict | None = None,
    only: tuple[str, ...] = ("flow", "learning", "highways", "evolution"),
) -> dict:
    """{key: Figure} for key in flow, learning, highways (recurrent models), evolution (with snapshots).

    trained, init: profiles by step; epochs, snapshots: the snapshots' epochs (E,) and means, or None."""
    figs = {}
    if "flow" in only and trained:
        figs["flow"] = plot_gradient_profiles(profile_panels(trained, FLOW), profile_panels(init, FLOW))
    if kind != "transformer" and trained:
        learning = profile_panels(trained, LEARN, LEARN)
        if "learning" in only and learning:  # none without a traced forward (e.g. a pooled readout)
            figs["learning"] = plot_learning_by_step(learning, profile_panels(init, LEARN, LEARN))
        highways = highway_panels(trained, kind)
        if "highways" in only and highways:
            figs["highways"] = plot_highways(highways, highway_panels(init, kind))
    if "evolution" in only and snapshots is not None and epochs is not None and len(epochs):
        maps = snapshot_maps(kind, snapshots)
        if maps:
            figs["evolution"] = plot_profile_heatmap(epochs, maps)
    return figs
