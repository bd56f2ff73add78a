"""The fixed-point section of a run's report, from RUN_DIR/fixedpoints/ (written by `rnnscope fixedpoints`;
layout in rnnscope.rundir.FixedPointPaths).

    summary.json         FixedPointSummary: counts, per-point rows, Lyapunov exponents (the captions'
                         numbers come from it, through its methods)
    arrays.safetensors   what the figures draw; a missing figure file is redrawn from it by the very
                         function the stage used (rnnscope.plots.fixedpoints.fixed_point_figures)
    fixed_points_pca, eigenvalues, lyapunov_spectrum (.png/.svg)

A figure with nothing to show (no point found) is replaced by a sentence saying so.
"""

from __future__ import annotations

import math

from rnnscope.plots.fixedpoints import fixed_point_figures
from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.html import Download, Section, esc, missing, note, table
from rnnscope.rundir import FixedPointSummary, read_arrays, read_fixed_point_summary


def _drawer(paths, key: str, summary: FixedPointSummary):
    """Draws figure `key` from arrays.safetensors (None when the file is missing or has no data for it)."""

    def draw():
        if not paths.arrays.exists():
            return None
        arrays = read_arrays(paths.arrays, "fixed point arrays")
        return fixed_point_figures(arrays, summary.pca_explained_variance_ratio, only=(key,)).get(key)

    return draw


def _tau(v) -> str:
    return "–" if v is None else "∞" if math.isinf(v) else f"{v:.3g}"


def _table(summary: FixedPointSummary) -> str:
    rows = [
        [
            s.label,
            s.counts.get("stable", 0),
            s.counts.get("unstable", 0),
            s.counts.get("slow", 0),
            s.n_starts,
            s.n_unconverged,
            f"{s.max_q:.1e}",
            s.slow_set_dimension,
            _tau(s.slowest_time_constant()),
            ", ".join(f"{p:.3g}" for p in s.periods()[:4]) or "–",
        ]
        for s in summary.systems
    ]
    return table(
        [
            "input",
            "stable",
            "unstable",
            "slow",
            "starts",
            "unconverged",
            "max q",
            "slow-set dimension",
            "slowest τ at a stable point (steps)",
            "periods of leading modes (steps)",
        ],
        rows,
        numeric={1, 2, 3, 4, 5, 7},
        caption=f"Points with q = ½‖F(x) − x‖² ≤ {summary.tol_q:.0e} are fixed points, those up to "
        f"{summary.slow_tol:.0e} slow points (docs/fixedpoints.md); unconverged starts were dropped.",
    )


def sections(r, finder: FigureFinder) -> list[Section]:
    """Fixed and slow points, their eigenvalues, the Lyapunov spectrum."""
    paths = r.paths.fixedpoints
    s = Section("fixed-points", "Fixed points and Lyapunov spectrum")
    if r.config["model"].get("kind") == "transformer":
        return [
            s.add(
                note(
                    "A Transformer has no recurrent state, so it has no fixed points, linearisation or "
                    "Lyapunov spectrum."
                )
            )
        ]
    summary = read_fixed_point_summary(paths.summary)
    if summary is None:
        s.available = False
        why = r.stage_note("fixedpoints")
        return [
            s.add(
                missing("the fixed points (RUN_DIR/fixedpoints/)", r.command("fixedpoints"))
                + (note(why) if why else "")
            )
        ]
    c = summary.counts()
    s.add("<p>" + "<br>".join(esc(line) for line in summary.cli_lines()) + "</p>", _table(summary))
    slots = {
        "points": Slot("fixed_points", summary.points_caption()),
        "eigenvalues": Slot("eigenvalues", summary.eigen_caption()),
        "lyapunov": Slot("lyapunov_spectrum", summary.lyapunov_caption()),
    }
    for key, slot in slots.items():
        if key != "lyapunov" and c["fixed"] + c["slow"] == 0:
            s.add(
                note(
                    f"No fixed or slow point was found from {summary.starts} starts per input (every "
                    "start ended with q above the slow tolerance), so there is nothing to plot here."
                )
                if key == "points"
                else ""
            )
            continue
        numbers = [finder.download(paths.arrays)] if paths.arrays.exists() else []
        fig = finder.html(slot, paths.figure(key), numbers, _drawer(paths, key, summary))
        if fig is None:
            s.add(note(f"The {key} figure is missing and {paths.arrays.name} cannot redraw it."))
        else:
            s.add(fig)
    data = Download("fixedpoints_summary.json", data=paths.summary.read_bytes(), label=paths.summary.name)
    s.add(f'<p class="note">The numbers: {data.html()}</p>')
    return [s]
