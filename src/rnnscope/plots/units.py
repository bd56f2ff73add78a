"""Figures of the unit analysis, from finished results (RUN_DIR/analysis/arrays.safetensors + units.csv).

Every function draws one panel on `ax` (a new figure when None), computes nothing beyond what drawing
needs, and returns the Figure. Key: E = example sequences, T = steps, U = units, K = classes,
k = principal components, F = frequency bins.
"""

from __future__ import annotations

import numpy as np

from rnnscope.plots import new_figure

ROLE_COLORS = {
    "input-driven": "#ff7f0e",
    "transient": "#17becf",
    "selective": "#1f77b4",
    "integrator": "#d62728",
    "latching": "#8c564b",
    "oscillatory": "#2ca02c",
    "mixed": "#9467bd",
    "unclassified": "#bcbd22",
    "silent": "#7f7f7f",
}
ROLE_ORDER = tuple(ROLE_COLORS)  # the order of rnnscope.analysis.ROLES


def _ax(ax, width=5.0, height=3.5):
    if ax is None:
        fig, axes = new_figure(width, height)
        return fig, axes[0, 0]
    return ax.figure, ax


def plot_unit_traces(
    activity: np.ndarray,
    units: list[int],
    role: str,
    *,
    steps: np.ndarray | None = None,
    title: str | None = None,
    ax=None,
):
    """Traces of `units` over time on example sequences: activity (E, T, U); sequence 0 solid, the
    others faint (NaN past each sequence's end is simply not drawn)."""
    fig, ax = _ax(ax)
    steps = np.arange(activity.shape[1]) if steps is None else steps
    colors = [ROLE_COLORS.get(role, "k"), "k", "#ff7f0e", "#8c564b"]
    for j, u in enumerate(units):
        for e in range(activity.shape[0]):
            ax.plot(
                steps,
                activity[e, :, u],
                color=colors[j % len(colors)],
                lw=1.3 if e == 0 else 0.8,
                alpha=1.0 if e == 0 else 0.3,
                label=f"unit {u}" if e == 0 else None,
            )
    if not units:
        ax.text(0.5, 0.5, f"no {role} units", ha="center", va="center", transform=ax.transAxes, color="0.4")
    else:
        ax.legend(fontsize=7, loc="best")
    ax.set(title=title or role, xlabel="step", ylabel="activity")
    ax.grid(alpha=0.3)
    return fig


def plot_unit_heatmap(
    activity: np.ndarray,
    order: np.ndarray,
    roles: np.ndarray,
    *,
    steps: np.ndarray | None = None,
    title: str = "units x time",
    ax=None,
):
    """activity (T, U) of one sequence as a units x time image, rows in `order` (by role, then tau);
    roles (U,) label the blocks of rows on the right."""
    fig, ax = _ax(ax, 6, 4.5)
    steps = np.arange(activity.shape[0]) if steps is None else steps
    img = np.asarray(activity, dtype=np.float64)[:, order].T  # (U, T)
    lim = np.nanmax(np.abs(img)) if np.isfinite(img).any() else 1.0
    im = ax.imshow(
        img,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        interpolation="nearest",
        extent=(steps[0] - 0.5, steps[-1] + 0.5, len(order) - 0.5, -0.5),
    )
    sorted_roles = np.asarray(roles)[order]
    start = 0
    for i in range(1, len(order) + 1):
        if i == len(order) or sorted_roles[i] != sorted_roles[start]:
            ax.axhline(i - 0.5, color="k", lw=0.6)
            ax.text(
                1.01,
                (start + i - 1) / 2,
                f"{sorted_roles[start]} ({i - start})",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
                color=ROLE_COLORS.get(str(sorted_roles[start]), "k"),
            )
            start = i
    fig.colorbar(im, ax=ax, location="left", shrink=0.8, label="activity")
    ax.set(title=title, xlabel="step", ylabel="unit (sorted by role, then tau)")
    return fig


def plot_pca_trajectories(
    class_means: np.ndarray,
    class_names: list[str],
    *,
    explained: np.ndarray | None = None,
    single: np.ndarray | None = None,
    title: str = "PCA trajectories",
    ax=None,
):
    """Class-mean trajectories (K, T, k>=2) in the plane of PC1 and PC2, a dot at the first step and a
    square at the last; single (E, T, k>=2): optional single-sequence trajectories drawn faintly."""
    fig, ax = _ax(ax, 5, 4.5)
    colors = [f"C{i}" for i in range(10)]
    if single is not None:
        for z in single:
            ax.plot(z[:, 0], z[:, 1], color="0.7", lw=0.5, alpha=0.5)
    for k, z in enumerate(class_means):
        c = colors[k % 10]
        ok = np.isfinite(z[:, 0])
        ax.plot(z[ok, 0], z[ok, 1], color=c, lw=1.8, label=class_names[k] if k < len(class_names) else str(k))
        if ok.any():
            ax.plot(z[ok, 0][0], z[ok, 1][0], "o", color=c, ms=4)
            ax.plot(z[ok, 0][-1], z[ok, 1][-1], "s", color=c, ms=5)
    ev = explained if explained is not None else [np.nan, np.nan]
    ax.set(title=title, xlabel=f"PC1 ({ev[0]:.0%})", ylabel=f"PC2 ({ev[1]:.0%})" if len(ev) > 1 else "PC2")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig


def plot_unit_psd(
    freqs: np.ndarray, psd: np.ndarray, units: list[int], *, title: str = "PSD of oscillatory units", ax=None
):
    """Power spectra psd (F, n) of the units named in `units` (one column each), log power."""
    fig, ax = _ax(ax)
    for j, u in enumerate(units):
        ax.semilogy(freqs[1:], psd[1:, j], lw=1.2, label=f"unit {u}")
    if units:
        ax.legend(fontsize=7, loc="best", ncols=2)
    else:
        ax.text(
            0.5, 0.5, "no oscillatory units", ha="center", va="center", transform=ax.transAxes, color="0.4"
        )
    ax.set(title=title, xlabel="frequency (cycles / step)", ylabel="power")
    ax.grid(alpha=0.3)
    return fig


def plot_tau_histogram(
    taus: dict[str, np.ndarray],
    *,
    tau_long: float | None = None,
    max_lag: float | None = None,
    title: str = "unit timescales",
    ax=None,
):
    """Histogram of tau (steps, log axis) per layer; taus longer than measurable (inf: beyond the largest
    lag) and shorter than one step (0: no positive correlation at lag 1) are counted in the legend, never
    drawn as values; tau_long: the integrator threshold, drawn as a line."""
    fig, ax = _ax(ax)
    finite = [t[np.isfinite(t) & (t > 0)] for t in taus.values()]
    allv = np.concatenate(finite) if finite else np.array([])
    lo, hi = (max(allv.min(), 0.1), allv.max()) if len(allv) else (0.5, 50.0)
    bins = np.geomspace(lo / 1.05, hi * 1.05 + 1e-9, 20)
    for (name, t), f in zip(taus.items(), finite):
        extra, short = int(np.isinf(t).sum()), int((t == 0).sum())
        bound = f"> {max_lag:g} steps" if max_lag is not None else "longer than measurable"
        label = f"layer {name}" + (f" (+{extra} with tau {bound})" if extra else "")
        label += f" (+{short} below 1 step)" if short else ""
        ax.hist(f, bins=bins, alpha=0.55, label=label)
    if tau_long is not None:
        ax.axvline(tau_long, color="k", ls="--", lw=1, label=f"tau_long = {tau_long:g}")
    if max_lag is not None:
        ax.axvline(max_lag, color="0.5", ls=":", lw=1, label=f"largest lag {max_lag:g}")
    ax.set(xscale="log", title=title, xlabel="tau (steps)", ylabel="units")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def unit_figures(
    summary, arrays: dict[str, np.ndarray], roles: dict[str, np.ndarray], taus: dict[str, np.ndarray]
) -> dict:
    """The five figures of `rnnscope analyze`, one panel (row) per layer -> {key: Figure} with keys
    examples, heatmap, pca, psd, tau (file stems: rnnscope.rundir.AnalysisPaths.FIGURES).

    summary: the AnalysisSummary; arrays: analysis/arrays.safetensors (rnnscope.unitreport.ARRAYS);
    roles, taus: per layer key ("0", "1", ...) the role (U,) and tau (U,) of every unit, in unit order.
    Nothing is recomputed."""
    layers = list(summary.layers)
    n = len(layers)
    steps = arrays["steps"]
    names = summary.class_names or []
    class_names = [names[int(c)] if int(c) < len(names) else str(c) for c in arrays["class_ids"]]
    figs = {}

    present = [r for r in ROLE_ORDER if any(summary.layers[layer].examples[r] for layer in layers)]
    fig, axes = new_figure(3.4 * len(present), 2.6 * n, ncols=len(present), nrows=n)
    for i, layer in enumerate(layers):
        for j, role in enumerate(present):
            units = summary.layers[layer].examples[role]
            plot_unit_traces(
                arrays[f"activity.l{layer}"],
                units,
                role,
                steps=steps,
                title=f"layer {layer}: {role}",
                ax=axes[i, j],
            )
    figs["examples"] = fig

    fig, axes = new_figure(7.5, 4.5 * n, nrows=n)
    for i, layer in enumerate(layers):
        plot_unit_heatmap(
            arrays[f"activity.l{layer}"][0],
            arrays[f"order.l{layer}"],
            roles[layer],
            steps=steps,
            title=f"layer {layer}: units x time (example sequence)",
            ax=axes[i, 0],
        )
    figs["heatmap"] = fig

    fig, axes = new_figure(4.8 * n, 4.3, ncols=n)
    for i, layer in enumerate(layers):
        plot_pca_trajectories(
            arrays[f"pca.class_means.l{layer}"],
            class_names,
            explained=arrays[f"pca.evr.l{layer}"],
            single=arrays[f"pca.proj.l{layer}"],
            title=f"layer {layer}: PR {summary.layers[layer].participation_ratio:.1f}",
            ax=axes[0, i],
        )
    figs["pca"] = fig

    fig, axes = new_figure(4.8 * n, 3.6, ncols=n)
    for i, layer in enumerate(layers):
        plot_unit_psd(
            arrays["psd.freqs"],
            arrays[f"psd.l{layer}"],
            arrays[f"psd_units.l{layer}"].tolist(),
            title=f"layer {layer}: oscillatory units",
            ax=axes[0, i],
        )
    figs["psd"] = fig

    max_lag = summary.thresholds.get("max_lag") or len(steps) // 2
    figs["tau"] = plot_tau_histogram(taus, tau_long=summary.thresholds["tau_long"], max_lag=max_lag)
    return figs
