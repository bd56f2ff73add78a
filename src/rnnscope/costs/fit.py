"""Power laws on cost curves: the log-log slope (O(T) has slope 1, O(T²) slope 2) and where two
curves cross. Pure functions on plain numbers.

A cost y(T) = a * T**b is a straight line in log-log coordinates: log10 y = log10 a + b * log10 T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnscope.errors import BadArgument

EXTRAPOLATE = 100  # a fitted crossing is stated only up to this factor beyond the longest measured T


@dataclass(frozen=True)
class PowerFit:
    """y ≈ 10**intercept * T**slope, fitted by least squares on log10 y vs log10 T.

    lengths: the T values used; r2: coefficient of determination in log-log space.
    """

    slope: float
    intercept: float
    lengths: tuple[int, ...]
    r2: float

    def predict(self, t) -> np.ndarray:
        """Fitted y at T (scalar or array)."""
        return 10.0 ** (self.intercept + self.slope * np.log10(np.asarray(t, dtype=float)))

    def to_dict(self) -> dict:
        return {
            "slope": self.slope,
            "intercept": self.intercept,
            "lengths": list(self.lengths),
            "r2": self.r2,
        }


def _valid(lengths, values) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(lengths, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise BadArgument(f"lengths and values must be 1-D of one length, got {t.shape} and {y.shape}")
    keep = np.isfinite(t) & np.isfinite(y) & (t > 0) & (y > 0)
    return t[keep], y[keep]


def loglog_fit(lengths, values, tail: int | None = None) -> PowerFit:
    """Fit y = a * T**b to the finite, positive (T, y) pairs.

    tail: fit only the `tail` longest valid lengths (the asymptotic regime, where a constant
    per-call overhead no longer hides the growth). Needs at least two distinct lengths.
    """
    t, y = _valid(lengths, values)
    order = np.argsort(t)
    t, y = t[order], y[order]
    if tail is not None:
        if tail < 2:
            raise BadArgument(f"tail must be at least 2, got {tail}")
        t, y = t[-tail:], y[-tail:]
    if len(np.unique(t)) < 2:
        raise BadArgument("a log-log fit needs at least two distinct lengths with positive finite values")
    lx, ly = np.log10(t), np.log10(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (intercept + slope * lx)
    total = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return PowerFit(float(slope), float(intercept), tuple(int(v) for v in t), r2)


def fitted_crossing(a: PowerFit, b: PowerFit) -> float | None:
    """T at which the two fitted power laws are equal; None when they are parallel (equal slopes)."""
    if math.isclose(a.slope, b.slope, rel_tol=0.0, abs_tol=1e-9):
        return None
    return float(10.0 ** ((b.intercept - a.intercept) / (a.slope - b.slope)))


def measured_crossings(lengths, ya, yb) -> list[float]:
    """Every T where curve a and curve b swap order, between measured points.

    Uses the lengths where both are finite and positive; interpolates log(ya / yb) linearly in log T
    between the two points around each sign change (exact for power laws). A length where the two are
    equal counts as a crossing only if the order differs on its two sides.
    """
    t = np.asarray(lengths, dtype=float)
    ya, yb = np.asarray(ya, dtype=float), np.asarray(yb, dtype=float)
    keep = np.isfinite(t) & np.isfinite(ya) & np.isfinite(yb) & (t > 0) & (ya > 0) & (yb > 0)
    t, ya, yb = t[keep], ya[keep], yb[keep]
    order = np.argsort(t)
    t, d = t[order], np.log10(ya[order]) - np.log10(yb[order])
    out, prev = [], None  # prev: index of the last point with a strict order
    for i in range(len(t)):
        if d[i] == 0.0:
            continue
        if prev is not None and np.sign(d[i]) != np.sign(d[prev]):
            if i - prev > 1:  # equal at the points between: the crossing is there
                out.append(float(t[prev + 1]))
            else:
                lx0, lx1 = math.log10(t[prev]), math.log10(t[i])
                frac = d[prev] / (d[prev] - d[i])
                out.append(float(10.0 ** (lx0 + frac * (lx1 - lx0))))
        prev = i
    return out


def measured_crossing(lengths, ya, yb) -> float | None:
    """The first T where the two curves swap order (see `measured_crossings`); None when they never do."""
    found = measured_crossings(lengths, ya, yb)
    return found[0] if found else None


def describe_crossing(
    metric: str, a: str, b: str, lengths, ya, yb, fit_a: PowerFit | None, fit_b: PowerFit | None
) -> dict:
    """Where curve a and curve b cross: measured (between measured lengths) and fitted (extrapolated).

    Returns {"metric", "a", "b", "measured": [every measured crossing T], "fitted": T or None, "text"}.
    text is one sentence; it names the fitted crossing only when none was measured and it lies within
    EXTRAPOLATE times the longest measured T (nearly parallel fits meet at absurd lengths).
    """
    measured = measured_crossings(lengths, ya, yb)
    fitted = fitted_crossing(fit_a, fit_b) if fit_a is not None and fit_b is not None else None
    t, ya_, yb_ = (np.asarray(v, dtype=float) for v in (lengths, ya, yb))
    both = np.isfinite(ya_) & np.isfinite(yb_) & (ya_ > 0) & (yb_ > 0)
    if not both.any():
        return {
            "metric": metric,
            "a": a,
            "b": b,
            "measured": measured,
            "fitted": fitted,
            "text": f"{metric}: {a} and {b} were never both measured at one T",
        }
    first = int(np.argmin(np.where(both, t, np.inf)))
    cheaper = a if ya_[first] < yb_[first] else b
    other = b if cheaper == a else a
    if measured:
        turns = [cheaper, other] * len(measured)
        text = f"{metric}: {cheaper} is cheaper than {other} up to T ≈ {measured[0]:,.0f}"
        for x, who in zip(measured[1:], turns[1:]):
            text += f", {who} up to T ≈ {x:,.0f}"
        text += f", then {turns[len(measured)]} (measured)"
    else:
        lo, hi = int(t[both].min()), int(t[both].max())
        text = f"{metric}: {cheaper} is cheaper than {other} at every measured T ({lo:,}-{hi:,})"
        if fitted is not None and hi < fitted <= EXTRAPOLATE * hi:
            text += f"; the fitted power laws cross at T ≈ {fitted:,.0f} (extrapolated)"
    return {"metric": metric, "a": a, "b": b, "measured": measured, "fitted": fitted, "text": text}
