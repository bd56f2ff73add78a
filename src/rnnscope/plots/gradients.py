"""Figures of gradient flow through time, from finished profiles (RUN_DIR/gradients/*).

Every function takes arrays already computed, draws on `ax` / `axes` (new figure when None), and
returns the Figure. Curves are dicts {label: values (T,)} indexed by step; NaN is simply not drawn.
Key: T = steps, E = snapshots (epochs).
"""

from __future__ import annotations

import numpy as np

from rnnscope.plots import new_figure

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def _row(n: int, axes, width: float = 4.2, height: float = 3.4):
    if axes is None:
        fig, ax = new_figure(width * n, height, ncols=n)
        return fig, list(ax[0])
    axes = list(np.ravel(axes))
    return axes[0].figure, axes


def _positive(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v > 0, v, np.nan)  # log axes: zeros (underflow) are not drawn


def plot_step_curves(
    curves: dict[str, np.ndarray],
    init: dict[str, np.ndarray] | None = None,
    *,
    title: str = "",
    ylabel: str = "",
    log: bool = True,
    ax=None,
):
    """One panel: each curve solid, its `init` twin (same label) dashed in the same colour."""
    if ax is None:
        fig, axes = new_figure(5, 3.5)
        ax = axes[0, 0]
    fig = ax.figure
    for i, (label, v) in enumerate(curves.items()):
        color = COLORS[i % len(COLORS)]
        ax.plot(
            np.arange(len(v)),
            _positive(v) if log else v,
            color=color,
            lw=1.5,
            label=f"{label} (trained)" if init else label,
        )
        if init and label in init:
            w = init[label]
            ax.plot(
                np.arange(len(w)),
                _positive(w) if log else w,
                color=color,
                lw=1.2,
                ls="--",
                label=f"{label} (init)",
            )
    if log and any(np.any(_positive(v) > 0) for v in curves.values()):
        ax.set_yscale("log")
    ax.set(title=title, xlabel="step", ylabel=ylabel)
    if curves:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig


def plot_gradient_profiles(
    panels: dict[str, dict[str, np.ndarray]],
    init: dict[str, dict[str, np.ndarray]] | None = None,
    *,
    axes=None,
):
    """Gradient norm vs step, one panel per title in `panels` (e.g. per layer, then the input)."""
    fig, axes = _row(len(panels), axes)
    for ax, (title, curves) in zip(axes, panels.items()):
        plot_step_curves(curves, (init or {}).get(title), title=title, ylabel="mean gradient norm", ax=ax)
    return fig


def plot_profile_heatmap(epochs: np.ndarray, profiles: dict[str, np.ndarray], *, axes=None):
    """log10 gradient norm over (epoch, step), one panel per label: profiles {label: (E, T)}."""
    fig, axes = _row(len(profiles), axes, 4.6, 3.6)
    epochs = np.asarray(epochs)
    for ax, (label, m) in zip(axes, profiles.items()):
        m = np.asarray(m, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(np.where(m > 0, m, np.nan))
        image = ax.imshow(
            img,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            cmap="viridis",
            extent=(-0.5, m.shape[1] - 0.5, -0.5, len(epochs) - 0.5),
        )
        ticks = np.linspace(0, len(epochs) - 1, min(len(epochs), 6)).round().astype(int)
        ax.set_yticks(ticks, [str(int(epochs[i])) for i in ticks])
        ax.set(title=label, xlabel="step", ylabel="epoch")
        fig.colorbar(image, ax=ax, label="log10 mean gradient norm")
    return fig


def plot_learning_by_step(
    panels: dict[str, dict[str, np.ndarray]],
    init: dict[str, dict[str, np.ndarray]] | None = None,
    *,
    axes=None,
):
    """Per layer, ‖Σ_b δ_t a_tᵀ‖/B per step for the input and recurrent weights (trained solid, init
    dashed)."""
    fig, axes = _row(len(panels), axes)
    for ax, (title, curves) in zip(axes, panels.items()):
        plot_step_curves(
            curves, (init or {}).get(title), title=title, ylabel="step's share of the update", ax=ax
        )
    return fig


def plot_highways(
    panels: dict[str, dict[str, np.ndarray]],
    init: dict[str, dict[str, np.ndarray]] | None = None,
    *,
    axes=None,
):
    """Per layer, the gate highway product to the readout next to the normalised gradient and the
    Jacobian product norm, all vs step on a log scale."""
    fig, axes = _row(len(panels), axes)
    for ax, (title, curves) in zip(axes, panels.items()):
        plot_step_curves(curves, (init or {}).get(title), title=title, ylabel="to the readout step", ax=ax)
    return fig
