"""Figures of fixed points and Lyapunov spectra from finished results (RUN_DIR/fixedpoints/arrays).

Key: B = sequences shown, T = steps, N = points, D = state size, k = exponents. Point kinds (KINDS):
0 stable fixed point, 1 unstable fixed point (saddle or repeller), 2 slow point.
"""

from __future__ import annotations

import numpy as np

from rnnscope.plots import new_figure

KINDS = {
    0: ("stable", "#2ca02c", "o", True),
    1: ("unstable", "#d62728", "x", True),
    2: ("slow", "#ff7f0e", "s", False),
}


def _ax(ax, width=5.0, height=4.0):
    if ax is None:
        fig, axes = new_figure(width, height)
        return fig, axes[0, 0]
    return ax.figure, ax


def _marker(ax, x, y, code: int, size: float = 40, label: bool = True):
    name, colour, marker, filled = KINDS[code]
    kw = {"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}
    ax.scatter(x, y, s=size, marker=marker, zorder=3, label=name if label else None, linewidths=1.2, **kw)


def plot_fixed_points(
    trajectories: np.ndarray, points: np.ndarray, kind: np.ndarray, explained=None, *, ax=None
):
    """Points (N, 2) coloured by kind (N,) over trajectories (B, T, 2) (NaN past each sequence's end), in
    the trajectories' first two principal components (explained: their variance ratios)."""
    fig, ax = _ax(ax)
    for traj in trajectories:
        ax.plot(traj[:, 0], traj[:, 1], color="0.6", lw=0.6, alpha=0.6, zorder=1)
        ok = np.isfinite(traj).all(axis=1)
        if ok.any():
            last = traj[ok][-1]
            ax.plot(last[0], last[1], ".", color="0.35", ms=3, zorder=2)
    for code in KINDS:
        rows = kind == code
        if rows.any():
            _marker(ax, points[rows, 0], points[rows, 1], code)
    ev = [] if explained is None else list(explained)
    ax.set_xlabel("PC 1" + (f" ({100 * ev[0]:.0f} %)" if len(ev) > 0 else ""))
    ax.set_ylabel("PC 2" + (f" ({100 * ev[1]:.0f} %)" if len(ev) > 1 else ""))
    ax.set_title("fixed and slow points on the recorded trajectories")
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_eigenvalues(real: np.ndarray, imag: np.ndarray, kind: np.ndarray, *, ax=None):
    """Every point's eigenvalues (N, D) in the complex plane with the unit circle, coloured by kind (N,)."""
    fig, ax = _ax(ax, 4.5, 4.5)
    t = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(t), np.sin(t), color="0.3", lw=0.8, zorder=1)
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    for code in KINDS:
        rows = kind == code
        if rows.any():
            _marker(ax, real[rows].ravel(), imag[rows].ravel(), code, size=14)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title("Jacobian eigenvalues at each point")
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_lyapunov(exponents: np.ndarray, running: np.ndarray, steps=None, *, axes=None):
    """The spectrum (k,) by index, and its running estimate (T, k) against the step (convergence)."""
    if axes is None:
        fig, ax2 = new_figure(9.0, 3.6, ncols=2)
        axes = ax2[0]
    fig = axes[0].figure
    order = np.argsort(exponents)[::-1]
    idx = np.arange(1, len(exponents) + 1)
    axes[0].axhline(0, color="0.5", lw=0.8)
    axes[0].plot(idx, exponents[order], "o-", color="#1f77b4", ms=4)
    axes[0].set_xlabel("exponent index (largest first)")
    axes[0].set_ylabel("λ_i (per step)")
    axes[0].set_title("Lyapunov spectrum")
    x = np.arange(running.shape[0]) if steps is None else np.asarray(steps)
    axes[1].axhline(0, color="0.5", lw=0.8)
    axes[1].plot(x, running[:, order], lw=0.9)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("running estimate")
    axes[1].set_title("convergence of the estimate")
    return fig


def fixed_point_figures(arrays: dict[str, np.ndarray], explained=None, only=None) -> dict:
    """{key: Figure} for points | eigenvalues | lyapunov from the arrays file's contents; a figure whose
    data are empty (no points, no exponents) is left out (the report says so in a sentence)."""
    figs = {}
    want = set(only or ("points", "eigenvalues", "lyapunov"))
    kind = np.asarray(arrays.get("point_kind", np.zeros(0)), dtype=np.int64)
    if "points" in want and len(kind):
        figs["points"] = plot_fixed_points(arrays["trajectories"], arrays["points"], kind, explained)
    if "eigenvalues" in want and len(kind):
        figs["eigenvalues"] = plot_eigenvalues(arrays["eigenvalues_real"], arrays["eigenvalues_imag"], kind)
    exps = arrays.get("lyapunov_exponents")
    if "lyapunov" in want and exps is not None and len(exps):
        figs["lyapunov"] = plot_lyapunov(exps, arrays["lyapunov_running"])
    return figs
