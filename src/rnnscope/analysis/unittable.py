"""The table of unit measures and roles that `classify_units` returns (one row per unit).

Censored numbers carry a flag column next to them: `tau_censored`, `memory_censored` and
`free_tau_censored` are "" for an exact value, "above" where the true value lies beyond the number given
(the bound of what could be measured), "below" where it lies under it, "unreached" for an impulse that
never reached the unit. Model-based columns (free_*, memory) are NaN and `dynamics` reads "absent" when
no model was probed (activity recorded elsewhere).
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnscope.errors import BadArgument

ROLES = (
    "input-driven",
    "transient",
    "selective",
    "integrator",
    "latching",
    "oscillatory",
    "mixed",
    "unclassified",
    "silent",
)
TEXT_COLUMNS = (
    "layer",
    "role",
    "criteria",
    "tau_censored",
    "memory_censored",
    "free_tau_censored",
    "dynamics",
)


@dataclass(frozen=True)
class UnitTable:
    """One row per unit; every field is an array (U,). NaN where a measure could not be computed
    (selectivity without labels, integration without evidence or inputs, input_drive without inputs,
    the model-based columns without a model).

    layer: name given by the caller.  unit: index within the layer.  role: one of ROLES.
    criteria: the criteria that hit, joined by "+".  tau: timescale (steps; the bound where censored).
    peak_freq: cycles/step.  prominence: decades.  selectivity: eta^2.  selectivity_p: shuffle p-value.
    integration: |r| with cumulative evidence.  input_drive: adjusted R^2.
    saturation: fraction of steps with |h| > bound.  mean, std: of h.
    tau_censored: "", "above" (tau > the largest lag) or "below" (no positive correlation at lag 1).
    memory: impulse memory (steps, the bound where censored); memory_censored: "", "above", "unreached".
    free_tau, free_tau_censored, free_persistence, free_saturation, free_period: the free-run measures
    (rnnscope.analysis.freerun).  dynamics: "model" where they were measured, else "absent".
    """

    layer: np.ndarray
    unit: np.ndarray
    role: np.ndarray
    criteria: np.ndarray
    tau: np.ndarray
    peak_freq: np.ndarray
    prominence: np.ndarray
    selectivity: np.ndarray
    selectivity_p: np.ndarray
    integration: np.ndarray
    input_drive: np.ndarray
    saturation: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    tau_censored: np.ndarray
    memory: np.ndarray
    memory_censored: np.ndarray
    free_tau: np.ndarray
    free_tau_censored: np.ndarray
    free_persistence: np.ndarray
    free_saturation: np.ndarray
    free_period: np.ndarray
    dynamics: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.unit)
        for f in dataclasses.fields(self):
            if np.shape(getattr(self, f.name)) != (n,):
                raise BadArgument(f"{f.name} must have shape ({n},), got {np.shape(getattr(self, f.name))}")

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))

    def __len__(self) -> int:
        return len(self.unit)

    def to_rows(self) -> list[dict]:
        """One dict per unit with plain Python values (JSON-serialisable apart from NaN/inf floats)."""
        cols = {c: getattr(self, c).tolist() for c in self.columns}
        return [{c: cols[c][i] for c in self.columns} for i in range(len(self))]

    def to_csv(self, path: str | Path) -> None:
        """Write a header and one row per unit; floats with 7 significant digits, "nan"/"inf" as such."""
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns)
            for row in self.to_rows():
                w.writerow([f"{v:.7g}" if isinstance(v, float) else v for v in row.values()])

    @classmethod
    def from_csv(cls, path: str | Path) -> UnitTable:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        data = {}
        for f in dataclasses.fields(cls):
            values = [r[f.name] for r in rows]
            kind = str if f.name in TEXT_COLUMNS else np.int64 if f.name == "unit" else np.float64
            data[f.name] = np.array(values, dtype=kind).reshape(len(rows))
        return cls(**data)

    @classmethod
    def concat(cls, tables: list[UnitTable]) -> UnitTable:
        """Stack tables (e.g. one per layer) into one."""
        if not tables:
            raise BadArgument("tables must not be empty")
        return cls(**{c: np.concatenate([getattr(t, c) for t in tables]) for c in tables[0].columns})

    def role_counts(self) -> dict[str, int]:
        """Units per role, every role listed (0 where none)."""
        return {r: int(np.sum(self.role == r)) for r in ROLES}


def censor(values: np.ndarray, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """(values, flags): values above `upper` (inf included) become `upper` flagged "above"; exact 0 (no
    positive correlation at lag 1 for tau) becomes NaN-free "below" at 1 step."""
    v = np.asarray(values, dtype=np.float64).copy()
    flags = np.full(v.shape, "", dtype=object)
    with np.errstate(invalid="ignore"):
        above = v > upper
        below = v == 0
    v[above], flags[above] = upper, "above"
    v[below], flags[below] = 1.0, "below"
    return v, flags.astype(str)
