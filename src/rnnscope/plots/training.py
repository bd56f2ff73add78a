"""Training curves: accuracy and loss vs epoch, train/val/test, convergence epoch and references."""

from __future__ import annotations

import math

from rnnscope.plots import new_figure

REFERENCE = {"train_acc": 0.95, "test_acc": 0.93, "epochs": (30, 50)}  # the seed's reference result


def plot_training_curves(
    history: list[dict],
    converged_epoch: int | None = None,
    ceiling: float | None = None,
    reference: dict | None = REFERENCE,
    axes=None,
):
    """Two panels: accuracy (with ceiling, reference band, convergence marker) and loss, per epoch."""
    if axes is None:
        fig, ax = new_figure(10, 3.8, ncols=2)
        ax_acc, ax_loss = ax[0]
    else:
        ax_acc, ax_loss = axes
        fig = ax_acc.figure
    epochs = [r["epoch"] for r in history]
    colors = {"train": "#1f77b4", "val": "#9467bd", "test": "#d62728"}
    for split, color in colors.items():
        acc = [r.get(f"{split}_acc", math.nan) for r in history]
        loss = [r.get(f"{split}_loss", math.nan) for r in history]
        if any(math.isfinite(a) for a in acc):
            ax_acc.plot(epochs, acc, color=color, label=split, lw=1.6 if split != "val" else 1.0)
            ax_loss.plot(epochs, loss, color=color, label=split, lw=1.6 if split != "val" else 1.0)
    if ceiling is not None:
        ax_acc.axhline(ceiling, color="k", ls=":", lw=1, label=f"task ceiling {ceiling:.3f}")
    if reference:
        lo, hi = reference["epochs"]
        ax_acc.axvspan(lo, hi, color="0.9", zorder=0, label=f"reference convergence {lo}-{hi}")
        ax_acc.axhline(
            reference["test_acc"],
            color=colors["test"],
            ls="--",
            lw=0.8,
            alpha=0.6,
            label=f"reference test {reference['test_acc']:.2f}",
        )
        ax_acc.axhline(
            reference["train_acc"],
            color=colors["train"],
            ls="--",
            lw=0.8,
            alpha=0.6,
            label=f"reference train {reference['train_acc']:.2f}",
        )
    if converged_epoch is not None:
        for a in (ax_acc, ax_loss):
            a.axvline(converged_epoch, color="g", lw=1.2, alpha=0.8)
        ax_acc.annotate(
            f"converged: epoch {converged_epoch}",
            (converged_epoch, 0.02),
            xycoords=("data", "axes fraction"),
            xytext=(4, 0),
            textcoords="offset points",
            color="g",
            fontsize=8,
        )
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss", yscale="log")
    ax_acc.legend(fontsize=7, loc="center right")
    ax_loss.legend(fontsize=7)
    for a in (ax_acc, ax_loss):
        a.grid(alpha=0.3)
    return fig
