"""A temporal role per unit from all the measures, and the table that holds the results.

Key: S = sequences, T = time steps, U = units, C = input channels, E = evidence signals.

Decision rule (thresholds in RoleThresholds; every criterion is computed for every unit and the ones
that hit are listed in the `criteria` column):

  silent        std < silent_std. Decided first; nothing else is considered.
  oscillatory   spectral peak prominence >= min_prominence (decades), at a frequency that is a rhythm:
                at least `min_cycles` cycles per Welch segment (a peak in the lowest bins is slow drift,
                which integrators show) and at most `max_freq` (>= 3 steps per cycle; a sign-alternating
                transient response, e.g. to sparse clicks, peaks near Nyquist without being rhythmic).
  integrator    with evidence (or inputs, whose running sums then serve as evidence):
                |r| with cumulative evidence >= min_integration, exceeding |r| with the momentary
                evidence by >= integration_margin, and tau >= tau_long;
                without either: tau >= tau_long alone (long memory, a weaker claim).
  selective     label-shuffle p <= max_p and eta^2 >= min_eta2 (needs labels).
  transient     input_drive >= min_drive and tau < tau_long (needs inputs).

  role = "mixed" if oscillatory and integrator both hit; else the one of them that hits; else
  "transient" if transient; else "input-selective" if selective; else "mixed" (no criterion hit).

The order puts the dynamical signatures first because they explain the others: an integrator of
evidence is class-selective because the class is decided by the evidence, an oscillator on a frequency
task is selective through its rhythm, and a unit that follows recent inputs with a short memory
(transient) is class-selective whenever the inputs carry the class. "input-selective" is kept for units
whose response depends on the class without being explained by a short linear memory of the input
(e.g. nonlinear pattern detectors). Only
two dynamical signatures in one unit are left unresolved ("mixed").
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnscope.analysis.selectivity import input_drive, integration, selectivity
from rnnscope.analysis.spectral import dominant_frequency
from rnnscope.analysis.stats import activity_stats, check_activity, check_aligned
from rnnscope.analysis.timescales import timescales
from rnnscope.errors import BadArgument

ROLES = ("input-selective", "transient", "integrator", "oscillatory", "mixed", "silent")


@dataclass(frozen=True)
class RoleThresholds:
    """Thresholds of the role rule and settings of its estimators; docs/analysis.md justifies each."""

    silent_std: float = 1e-3  # std below this (units of h) is silent; tanh units span [-1, 1]
    saturation_bound: float = 0.95  # |h| above this counts as saturated (reported, not a role)
    min_prominence: float = 0.5  # decades; noise-only spectra stay below 0.4 with >= 8 sequences
    min_cycles: float = 2.0  # an oscillation completes at least this many cycles per Welch segment
    max_freq: float = 1 / 3  # cycles/step; an oscillation takes at least 3 steps per cycle
    tau_long: float = 10.0  # steps; integrators need tau >= this, transients tau < this
    min_integration: float = 0.5  # |r| with cumulative evidence an integrator needs
    integration_margin: float = 0.1  # ... and by how much it must exceed |r| with momentary evidence
    max_p: float = 0.01  # selectivity: label-shuffle p-value at most this
    min_eta2: float = 0.2  # selectivity: fraction of response variance explained by class
    min_drive: float = 0.3  # transient: adjusted R^2 of h on the last `input_lags` inputs
    # Estimator settings.
    acf_floor: float = 0.2  # tau fit uses lags until the autocorrelation drops below this
    max_lag: int | None = None  # largest autocorrelation lag; None: T // 2
    nperseg: int | None = None  # Welch segment length; None: min(64, longest valid run)
    input_lags: int = 10  # input steps (0..input_lags-1 back) in the input-drive regression
    n_shuffles: int = 200  # label shuffles for the selectivity null
    seed: int = 0  # seeds the shuffles

    def __post_init__(self) -> None:
        positive = ("saturation_bound", "tau_long", "n_shuffles", "input_lags")
        unit_interval = (
            "min_integration",
            "integration_margin",
            "max_p",
            "min_eta2",
            "min_drive",
            "acf_floor",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise BadArgument(f"{name} must be positive, got {getattr(self, name)}")
        for name in unit_interval:
            if not 0 <= getattr(self, name) <= 1:
                raise BadArgument(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 < self.max_freq <= 0.5 or self.min_cycles < 0:
            raise BadArgument("max_freq must be in (0, 0.5] and min_cycles non-negative")
        if not (self.silent_std >= 0 and self.min_prominence >= 0):
            raise BadArgument("silent_std and min_prominence must be non-negative")


@dataclass(frozen=True)
class UnitTable:
    """One row per unit; every field is an array (U,). NaN where a measure could not be computed
    (selectivity without labels, integration without evidence or inputs, input_drive without inputs).

    layer: name given by the caller.  unit: index within the layer.  role: one of ROLES.
    criteria: the criteria that hit, joined by "+".  tau: timescale (steps).  peak_freq: cycles/step.
    prominence: decades.  selectivity: eta^2.  selectivity_p: shuffle p-value.
    integration: |r| with cumulative evidence.  input_drive: adjusted R^2.
    saturation: fraction of steps with |h| > bound.  mean, std: of h.
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
        kinds = {"layer": str, "role": str, "criteria": str, "unit": np.int64}
        data = {}
        for f in dataclasses.fields(cls):
            values = [r[f.name] for r in rows]
            data[f.name] = np.array(values, dtype=kinds.get(f.name, np.float64)).reshape(len(rows))
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


def classify_units(
    h: np.ndarray,
    *,
    inputs: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    evidence: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    layer: str = "",
    thresholds: RoleThresholds = RoleThresholds(),
) -> UnitTable:
    """Measure and classify every unit of h (S, T, U).

    inputs (S, T, C): enables input_drive (and evidence from running sums of inputs if evidence is
    None). labels (S,): enables selectivity. evidence (S, T) or (S, T, E): cumulative evidence signals
    (e.g. Task.latents). mask (S, T): True at valid steps. Needs S >= 2 and a run of >= 8 valid steps.
    """
    th = thresholds
    h, mask = check_activity(h, mask, min_sequences=2, min_steps=8)
    _s, _t, u = h.shape
    nan = np.full(u, np.nan)
    stats = activity_stats(h, mask, bound=th.saturation_bound, silent_std=th.silent_std)
    tau = timescales(h, mask, max_lag=th.max_lag, floor=th.acf_floor)
    peak_freq, prominence = dominant_frequency(h, mask, nperseg=th.nperseg)
    sel_eta, sel_p = nan, nan
    if labels is not None:
        sel = selectivity(h, labels, mask, n_shuffles=th.n_shuffles, seed=th.seed)
        sel_eta, sel_p = sel.eta2, sel.p
    drive, integ, integ_inst = nan, nan, nan
    if inputs is not None:
        x = check_aligned(inputs, "inputs", mask, "channels")
        drive = input_drive(h, x, mask, lags=th.input_lags)
        if evidence is None:
            evidence = np.cumsum(x, axis=1)
    if evidence is not None:
        ig = integration(h, evidence, mask)
        integ, integ_inst = ig.cumulative, ig.instantaneous

    with np.errstate(invalid="ignore"):  # NaN compares False: a measure that is missing never hits
        nperseg = th.nperseg or min(64, int(mask.sum(axis=1).max()))
        in_band = (peak_freq >= th.min_cycles / nperseg) & (peak_freq <= th.max_freq)
        osc = (prominence >= th.min_prominence) & in_band
        if evidence is not None:
            integ_hit = (integ >= th.min_integration) & (integ - integ_inst >= th.integration_margin)
            integ_hit &= tau >= th.tau_long
        else:
            integ_hit = tau >= th.tau_long
        sel_hit = (sel_p <= th.max_p) & (sel_eta >= th.min_eta2)
        trans = (drive >= th.min_drive) & (tau < th.tau_long)

    role = np.full(u, "mixed", dtype=object)
    role[sel_hit] = "input-selective"
    role[trans] = "transient"
    role[integ_hit] = "integrator"
    role[osc] = "oscillatory"
    role[osc & integ_hit] = "mixed"
    role[stats.silent] = "silent"
    names = ("oscillatory", "integrator", "input-selective", "transient")
    hits = np.stack([osc, integ_hit, sel_hit, trans], axis=1)
    criteria = np.array(["+".join(n for n, hit in zip(names, row) if hit) for row in hits], dtype=object)
    criteria[stats.silent] = "silent"
    return UnitTable(
        layer=np.full(u, layer).astype(str),
        unit=np.arange(u),
        role=role.astype(str),
        criteria=criteria.astype(str),
        tau=tau,
        peak_freq=peak_freq,
        prominence=prominence,
        selectivity=sel_eta,
        selectivity_p=sel_p,
        integration=integ,
        input_drive=drive,
        saturation=stats.saturation,
        mean=stats.mean,
        std=stats.std,
    )
