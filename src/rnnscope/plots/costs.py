"""Cost curves: time and memory vs sequence length, log-log, with each model's fitted slope.

On log-log axes a cost growing like T**b is a straight line of slope b: O(T) has slope 1, O(T²) slope 2
(the legend gives each fitted slope). The last point before a series stopped (budget) is marked ×.
"""

from __future__ import annotations

import math

from rnnscope.plots import new_figure

COLORS = {"rnn": "#1f77b4", "lstm": "#2ca02c", "gru": "#9467bd", "transformer": "#d62728"}


def _value(v) -> float:
    try:
        return float(v) if v not in (None, "") else math.nan
    except (TypeError, ValueError):
        return math.nan


def plot_cost_curves(
    rows: list[dict], fits: dict, metrics: list[str], titles: list[str] | None = None, axes=None
):
    """One panel per metric: measured points (markers), fitted power law (dashed, slope in the legend).

    rows: cost.csv rows (model, length, status, metric columns). fits: {metric: {model: {"slope",
    "line_t", "line_y"}}} as made by `rnnscope.costs.summary.summarize`. axes: one Axes per metric.
    """
    if axes is None:
        fig, ax = new_figure(4.6 * len(metrics), 4.0, ncols=len(metrics))
        axes = list(ax[0])
    fig = axes[0].figure
    models = list(dict.fromkeys(r["model"] for r in rows))
    for ax, metric, title in zip(axes, metrics, titles or metrics):
        lengths_all = []
        for model in models:
            pts = sorted(
                (r["length"], _value(r.get(metric)), r["status"]) for r in rows if r["model"] == model
            )
            ok = [(t, y) for t, y, _ in pts if math.isfinite(y) and y > 0]
            color = COLORS.get(model)
            fit = fits.get(metric, {}).get(model)
            label = f"{model} (slope {fit['slope']:.2f})" if fit else model
            if ok:
                ax.plot([p[0] for p in ok], [p[1] for p in ok], "o-", color=color, lw=1.2, ms=4, label=label)
                lengths_all += [p[0] for p in ok]
            if fit:
                ax.plot(fit["line_t"], fit["line_y"], "--", color=color, lw=1.0, alpha=0.7)
            stopped = next(((t, s) for t, _, s in pts if s != "ok"), None)
            if stopped and ok:
                ax.plot([ok[-1][0]], [ok[-1][1]], "x", color=color, ms=9, mew=2)
                ax.annotate(
                    f"stopped at T={stopped[0]}: {stopped[1]}",
                    (ok[-1][0], ok[-1][1]),
                    xytext=(-6, 6),
                    textcoords="offset points",
                    fontsize=7,
                    color=color,
                    ha="right",
                )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="sequence length T",
            title=title,
            ylabel="seconds" if metric.endswith("seconds") else "bytes",
        )
        ax.grid(alpha=0.3, which="both")
        if models and any(ax.get_lines()):
            ax.legend(fontsize=7, loc="upper left")
    return fig
