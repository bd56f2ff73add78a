"""Figures of architecture sweeps (`rnnscope compare`, `rnnscope context`). They draw finished,
aggregated results (rnnscope.sweep.store.aggregate rows, histories, profiles) and compute nothing."""

from __future__ import annotations

import math

from matplotlib.ticker import NullFormatter, ScalarFormatter

from rnnscope.plots import new_figure

COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c", "transformer": "#9467bd"}
# marker and line style per model, so that models whose curves coincide (all at 1.0, say) stay visible
STYLES = {"rnn": ("o", "-", 4), "lstm": ("s", "--", 6), "gru": ("^", "-", 4), "transformer": ("D", "-.", 4)}


def _color(model: str, i: int) -> str:
    return COLORS.get(model, f"C{i}")


def plot_accuracy_vs(
    agg: list[dict],
    axis: str,
    points: list[dict] | None = None,
    key: str = "test_acc",
    ceiling: float | None = None,
    chance: float | None = None,
    log_x: bool = False,
    ylabel: str = "test accuracy",
    ax=None,
):
    """Seed mean (line) and min–max spread (band) of an accuracy per model vs `axis`; `points` (the
    tidy rows) adds one dot per seed. agg: [{model, axis, mean, min, max, n}]."""
    if ax is None:
        fig, axes = new_figure(6.5, 4.0)
        ax = axes[0][0]
    fig = ax.figure
    models = list(dict.fromkeys(a["model"] for a in agg))
    for i, model in enumerate(models):
        cells = [a for a in agg if a["model"] == model]
        xs = [a[axis] for a in cells]
        color = _color(model, i)
        n = max((a["n"] for a in cells), default=0)
        marker, line, size = STYLES.get(model, ("o", "-", 4))
        ax.plot(
            xs,
            [a["mean"] for a in cells],
            marker=marker,
            ls=line,
            color=color,
            lw=1.8,
            ms=size,
            mfc="none" if line == "--" else color,
            label=f"{model} (n={n} seeds)",
        )
        ax.fill_between(
            xs, [a["min"] for a in cells], [a["max"] for a in cells], color=color, alpha=0.18, lw=0
        )
        for r in points or ():
            v = r.get(key)
            if r["model"] == model and isinstance(v, (int, float)) and math.isfinite(v):
                ax.plot(r[axis], v, ".", color=color, alpha=0.45, ms=5)
    if ceiling is not None and math.isfinite(ceiling):
        ax.axhline(ceiling, color="k", ls=":", lw=1, label=f"task ceiling {ceiling:.2f}")
    if chance is not None and math.isfinite(chance):
        ax.axhline(chance, color="0.4", ls="--", lw=1, label=f"chance {chance:.2f}")
    if log_x:
        ax.set_xscale("log")
        ax.set_xticks(sorted({a[axis] for a in agg}))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel=axis, ylabel=ylabel, title=f"{ylabel} vs {axis} (line: seed mean, band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_training_overlay(
    histories: list[dict], axis: str, key: str = "val_acc", max_panels: int = 6, axes=None
):
    """Per-epoch `key` of every run, coloured by model, one panel per value of `axis` (at most
    `max_panels`, the largest values kept). histories: [{model, seed, axis, "history": [records]}]."""
    values = sorted({h[axis] for h in histories})[-max_panels:] or [None]
    if axes is None:
        ncols = min(3, len(values))
        nrows = math.ceil(len(values) / ncols)
        fig, grid = new_figure(4.2 * ncols, 3.2 * nrows, ncols=ncols, nrows=nrows)
        axes = [a for row in grid for a in row]
    fig = axes[0].figure
    models = list(dict.fromkeys(h["model"] for h in histories))
    for ax, value in zip(axes, values):
        labelled = set()
        for h in histories:
            if h[axis] != value:
                continue
            i = models.index(h["model"])
            epochs = [r["epoch"] for r in h["history"]]
            ys = [r.get(key, math.nan) for r in h["history"]]
            label = h["model"] if h["model"] not in labelled else None
            labelled.add(h["model"])
            ax.plot(epochs, ys, color=_color(h["model"], i), lw=1.2, alpha=0.8, label=label)
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=f"{axis} = {value}", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(values) :]:
        ax.set_visible(False)
    if not histories:
        axes[0].text(0.5, 0.5, "no finished runs", ha="center", va="center", transform=axes[0].transAxes)
    return fig


def plot_gradient_profiles(profiles: list[dict], axis: str, missing: list[str] = (), ax=None):
    """‖∂L/∂h_t‖ vs step, one line per model (log scale); says which runs have no profile yet.
    profiles: [{model, axis, quantity, layer, step, mean, runs}]
    (rnnscope.sweep.compare.gradient_profiles)."""
    if ax is None:
        fig, axes = new_figure(6.5, 4.0)
        ax = axes[0][0]
    fig = ax.figure
    for i, p in enumerate(profiles):
        ys = [v if v > 0 else math.nan for v in p["mean"]]
        layer = "" if p["layer"] is None else f", layer {p['layer']}"
        ax.plot(
            p["step"],
            ys,
            color=_color(p["model"], i),
            lw=1.6,
            label=f"{p['model']} ({p['quantity']}{layer}, {p['runs']} runs)",
        )
    if profiles:
        ax.set_yscale("log")
        ax.set(
            xlabel="step t",
            ylabel="mean ‖∂L/∂h_t‖",
            title=f"gradient profiles at {axis} = {profiles[0][axis]}",
        )
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if missing:
        shown = ", ".join(list(missing)[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        text = (
            f"no gradient profile for {shown}:\nrun `rnnscope gradients RUN_DIR` on them "
            "(writes RUN_DIR/gradients/profile.csv),\nthen repeat the compare command"
        )
        ax.text(
            0.5,
            0.5 if not profiles else 0.05,
            text,
            ha="center",
            va="center" if not profiles else "bottom",
            transform=ax.transAxes,
            fontsize=8,
            wrap=True,
        )
        if not profiles:
            ax.set_axis_off()
    return fig


def plot_context(
    agg_acc: list[dict], agg_cc: list[dict], summary: dict, points: list[dict] | None = None, axes=None
):
    """Two panels vs distance (log x): test accuracy with chance, and chance-corrected accuracy with each
    model's 90 % threshold and its effective context (a vertical mark). summary: context.json."""
    if axes is None:
        fig, grid = new_figure(11, 4.0, ncols=2)
        axes = grid[0]
    ax_acc, ax_cc = axes
    fig = ax_acc.figure
    plot_accuracy_vs(
        agg_acc, "distance", points, key="test_acc", chance=summary.get("chance"), log_x=True, ax=ax_acc
    )
    plot_accuracy_vs(
        agg_cc,
        "distance",
        points,
        key="chance_corrected",
        log_x=True,
        ylabel="chance-corrected accuracy",
        ax=ax_cc,
    )
    models = list(dict.fromkeys(a["model"] for a in agg_cc))
    for i, model in enumerate(models):
        info = summary["models"].get(model, {})
        color = _color(model, i)
        thr = info.get("threshold_chance_corrected")
        if thr is not None and math.isfinite(thr):
            ax_cc.axhline(thr, color=color, ls=":", lw=0.9, alpha=0.7)
        eff = info.get("effective_context")
        if eff is not None:
            mark = "≥" if info.get("censored") else ""
            ax_cc.axvline(eff, color=color, ls="--", lw=1.0, alpha=0.8)
            ax_cc.annotate(
                f"{model}: {mark}{eff}",
                (eff, 0.02 + 0.07 * i),
                xycoords=("data", "axes fraction"),
                xytext=(3, 0),
                textcoords="offset points",
                color=color,
                fontsize=8,
            )
    ax_cc.set_title("chance-corrected (dotted: 90 % of shortest; dashed: effective context)", fontsize=9)
    ax_acc.set_title("test accuracy (line: seed mean, band: min-max)", fontsize=9)
    ax_cc.set_ylim(-0.1, 1.05)
    ax_acc.set_ylim(0, 1.02)
    return fig
