"""RUN_DIR/fixedpoints/summary.json (`FixedPointSummary`) and its sentences, for the CLI and the report.

One `PointSystem` per constant input searched (the zero or mean input: one; class means: one per class),
each with its counts and per-point rows (q, kind, unstable modes, leading time constants and periods,
as `FixedPoints.summary()` writes them); the Lyapunov spectrum along the data's trajectories; the PCA
the figures project onto. Time constants and periods are in steps (inf: |λ| = 1 or a real mode).

A module of its own (not summaries.py) to keep each under 400 lines; re-exported by rundir.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from rnnscope.io import read_json, write_json
from rnnscope.rundir.validate import NUMBER, Fields

KINDS = ("fixed", "stable", "unstable", "slow")


@dataclass
class PointSystem:
    """The points found under one constant input."""

    label: str  # "zero input", "mean input", "class 2 (name) mean input"
    class_index: int | None
    inputs: list[float]  # (C,)
    file: str  # the FixedPoints file's name in RUN_DIR/fixedpoints/
    counts: dict[str, int]  # fixed, stable, unstable, slow
    n_starts: int
    n_unconverged: int  # starts that ended with q above the slow tolerance (dropped)
    n_outliers: int
    max_q: float
    slow_set_dimension: int
    seconds: float
    points: list[
        dict
    ]  # per point: q, slow, stable, n_unstable, count, max_abs_eigenvalue, time_constants, periods

    @classmethod
    def from_fields(cls, f: Fields) -> PointSystem:
        rows = [r.obj for r in f.rows("points")]
        for r in f.rows("points"):
            r.get("q", NUMBER), r.get("slow", bool), r.get("stable", bool), r.get("n_unstable", int)
            r.numbers("time_constants"), r.numbers("periods")
        return cls(
            f.get("label", str),
            f.get("class_index", (int, type(None))),
            f.numbers("inputs"),
            f.get("file", str),
            f.mapping("counts", int),
            f.get("n_starts", int),
            f.get("n_unconverged", int),
            f.get("n_outliers", int),
            f.get("max_q", NUMBER),
            f.get("slow_set_dimension", int),
            f.get("seconds", NUMBER),
            rows,
        )

    def slowest_time_constant(self) -> float | None:
        """The longest leading time constant (steps) of the stable fixed points: how long a memory is kept
        against a small push (inf: a marginal mode); None without stable fixed points."""
        taus = [abs(p["time_constants"][0]) for p in self.points if p["stable"] and not p["slow"]]
        taus = [t for t in taus if _is_number(t)]
        return max(taus) if taus else None

    def periods(self) -> list[float]:
        """The finite oscillation periods (steps) of the fixed points' leading modes, shortest first."""
        out = {round(v, 3) for p in self.points if not p["slow"] for v in p["periods"] if math.isfinite(v)}
        return sorted(out)

    def count_line(self) -> str:
        c = self.counts
        return (
            f"{self.label}: {c.get('stable', 0)} stable and {c.get('unstable', 0)} unstable fixed points, "
            f"{c.get('slow', 0)} slow points from {self.n_starts} starts (max q {self.max_q:.1e})"
        )


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not math.isnan(v)


def _steps(v: float) -> str:
    return "∞" if math.isinf(v) else f"{v:.3g}"


@dataclass
class FixedPointSummary:
    """RUN_DIR/fixedpoints/summary.json."""

    kind: str  # rnn | gru | lstm
    state_size: int
    state_names: list[str]
    split: str
    sequences: int  # sequences whose trajectories give the starts, the PCA and the Lyapunov spectrum
    input_mode: str  # zero | mean | class-mean
    starts: int
    tol_q: float
    slow_tol: float
    seed: int
    systems: list[PointSystem]
    lyapunov: dict  # exponents (k,), k, full, burn_in, sequences, convergence, largest, seconds
    pca_explained_variance_ratio: list[float]

    def to_json(self) -> dict:
        return {**asdict(self), "counts": self.counts()}

    @classmethod
    def from_json(
        cls, obj: dict, path: Path | str | None = None, what: str = "fixed point summary"
    ) -> FixedPointSummary:
        f = Fields(obj, what, path)
        ly = f.sub("lyapunov")
        ly.numbers("exponents"), ly.get("k", int), ly.get("full", bool), ly.get("largest", NUMBER)
        ly.get("convergence", NUMBER), ly.get("burn_in", int)
        return cls(
            f.get("kind", str),
            f.get("state_size", int),
            f.get("state_names", list),
            f.get("split", str),
            f.get("sequences", int),
            f.get("input_mode", str),
            f.get("starts", int),
            f.get("tol_q", NUMBER),
            f.get("slow_tol", NUMBER),
            f.get("seed", int),
            [PointSystem.from_fields(s) for s in f.rows("systems")],
            ly.obj,
            f.numbers("pca_explained_variance_ratio"),
        )

    def counts(self) -> dict[str, int]:
        """fixed / stable / unstable / slow points over every system."""
        return {k: sum(s.counts.get(k, 0) for s in self.systems) for k in KINDS}

    def lyapunov_line(self) -> str:
        ly = self.lyapunov
        lam = ly["largest"]
        verdict = (
            "chaotic: nearby trajectories diverge"
            if lam > 0
            else "nearby trajectories converge"
            if lam < 0
            else "marginal"
        )
        what = "full spectrum" if ly["full"] else f"{ly['k']} leading exponents"
        return (
            f"largest Lyapunov exponent {lam:+.3g} per step ({verdict}); {what} of {self.state_size} "
            f"state dimensions along {ly['sequences']} {self.split} sequences, the estimate moved by "
            f"{ly['convergence']:.2g} over its last 10 steps"
        )

    def cli_lines(self) -> list[str]:
        lines = [s.count_line() for s in self.systems]
        for s in self.systems:
            tau = s.slowest_time_constant()
            if tau is not None:
                lines.append(f"{s.label}: slowest time constant at a stable point {_steps(tau)} steps")
        lines.append(self.lyapunov_line())
        return lines

    def top_line(self) -> str:
        """The pipeline's note."""
        c = self.counts()
        return (
            f"{c['stable']} stable, {c['unstable']} unstable, {c['slow']} slow points; "
            f"largest Lyapunov exponent {self.lyapunov['largest']:+.3g}"
        )

    # ---- the report's captions, from the numbers ---------------------------------------------------
    def points_caption(self) -> str:
        c = self.counts()
        pc = self.pca_explained_variance_ratio[:2]
        share = f" ({100 * sum(pc):.0f} % of the variance)" if pc else ""
        inputs = (
            "each class's mean input held constant"
            if self.input_mode == "class-mean"
            else f"the {self.input_mode} input held constant"
        )
        slow = f"{c['slow']} slow points (open squares)" if c["slow"] else "no slow points"
        return (
            f"The {c['fixed']} fixed point{'' if c['fixed'] == 1 else 's'} ({c['stable']} stable: filled "
            f"circles; {c['unstable']} unstable: "
            f"crosses) and {slow}, found with {inputs}, in the first two "
            f"principal components of the recorded {self.split} trajectories{share}, trajectories in grey: "
            "look for the trajectories ending near stable points (memories) and passing saddles (decisions)."
        )

    def eigen_caption(self) -> str:
        n_unstable = [p["n_unstable"] for s in self.systems for p in s.points if not p["slow"]]
        most = max(n_unstable) if n_unstable else 0
        taus = [t for s in self.systems if (t := s.slowest_time_constant()) is not None]
        slowest = f"; the slowest stable mode decays with τ = {_steps(max(taus))} steps" if taus else ""
        if not n_unstable:
            unstable = "no fixed point was found"
        elif most == 0:
            unstable = "no fixed point has an unstable mode"
        else:
            unstable = f"up to {most} unstable mode{'' if most == 1 else 's'} at one fixed point"
        return (
            "Eigenvalues of the Jacobian at every point against the unit circle (outside: a growing "
            f"direction); {unstable}{slowest}: look for eigenvalues near 1 "
            "(slow, integrating directions) and complex pairs (oscillations)."
        )

    def lyapunov_caption(self) -> str:
        ly = self.lyapunov
        return (
            f"The Lyapunov spectrum ({ly['k']} exponents, per step) and its running estimate over the "
            f"steps of the {self.split} sequences; the largest is {ly['largest']:+.3g} and the estimate "
            f"moved by {ly['convergence']:.2g} over its last 10 steps: look for curves that level off "
            "(a converged estimate) and for exponents above zero (chaos)."
        )


def write_fixed_point_summary(path: Path, summary: FixedPointSummary) -> None:
    write_json(path, summary.to_json())


def read_fixed_point_summary(path: Path, what: str = "fixed point summary") -> FixedPointSummary | None:
    """None when the file is missing."""
    return FixedPointSummary.from_json(read_json(path, what), path, what) if Path(path).exists() else None
