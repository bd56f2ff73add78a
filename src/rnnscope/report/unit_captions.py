"""Captions of the unit figures, computed from this run's role counts: a caption names only what the run
has (no "look for transients" where there are none), and a figure with nothing to show becomes a sentence.

counts: {role: units} over all layers (roles absent or 0 are not mentioned).
"""

from __future__ import annotations

SIGNS = (
    ("integrator", "graded ramps that hold (integrators)"),
    ("latching", "steps to a saturated level that is held (latching units)"),
    ("oscillatory", "stripes (units that oscillate by themselves)"),
    ("transient", "brief flashes after inputs (transients)"),
    ("input-driven", "activity that follows the input step by step (input-driven units)"),
)


def _present(counts: dict[str, int]) -> list[str]:
    return [f"{text}: {counts[role]}" for role, text in SIGNS if counts.get(role, 0) > 0]


def heatmap_caption(counts: dict[str, int]) -> str:
    signs = _present(counts)
    if not signs:
        return (
            "Every unit's activity over time for one sequence, rows sorted by role and timescale; no unit "
            "of this run has a dynamical or input-following role, so no band stands out by role."
        )
    return (
        "Every unit's activity over time for one sequence, rows sorted by role and timescale: look for "
        + "; ".join(signs)
        + "."
    )


def examples_caption(counts: dict[str, int]) -> str:
    roles = [f"{r} ({n})" for r, n in counts.items() if n > 0]
    return "Example units of each role this run has over time: " + ", ".join(roles) + "."


def psd_caption(counts: dict[str, int]) -> str | None:
    """None: no unit oscillates by itself, so there is no spectrum to show (see psd_absent)."""
    n = counts.get("oscillatory", 0)
    if n == 0:
        return None
    return (
        f"Power spectra of the units classified oscillatory ({n} in all; up to 8 per layer, the clearest "
        "peaks first): the peak is the unit's rhythm."
    )


def psd_absent(model_probed: bool) -> str:
    why = (
        "its free runs with the input removed show no rhythm"
        if model_probed
        else "no activity spectrum has a peak in the rhythm band"
    )
    return f"No spectra: no unit of this run is oscillatory ({why})."
