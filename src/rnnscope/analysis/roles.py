"""A temporal role per unit from all the measures: what the network does by itself, and with its input.

Key: S = sequences, T = time steps, U = units, C = input channels, E = evidence signals.

Every criterion is computed for every unit and the ones that hit are listed in the `criteria` column
(thresholds in RoleThresholds; docs/analysis.md defines each with its evidence).

With a model (free runs and the impulse response, rnnscope.recording.probes / .impulse):
  oscillatory   the free run (input removed) rings: a rhythm of >= 3 steps per cycle that lasts at least
                one period (rnnscope.analysis.freerun). A rhythm the input carries does not count.
  holds         the free run keeps the value: persistence >= min_persistence and free tau >= tau_long, and
                it does not oscillate.
  latching      holds, at a saturated value (free_saturation >= latch_saturation).
  integrator    holds, at graded values (not latching), and accumulates: with evidence (or inputs, whose
                running sums then serve), |r| with cumulative evidence >= min_integration, exceeding |r|
                with the momentary evidence by integration_margin.
  input-driven  input_drive >= min_drive and impulse memory < fast_memory: follows the input at short lag.
  transient     input_drive >= min_drive, fast_memory <= impulse memory < tau_long, and does not hold: an
                input leaves a response that outlasts it briefly and decays.
Without a model (activity recorded elsewhere) the model criteria are absent (dynamics = "absent") and the
activity stands in, as a weaker claim: oscillatory = a spectral peak in band in a unit the inputs do not
explain (input_drive < min_drive, or no inputs given: then the rhythm may be the input's), integrator =
integration and tau >= tau_long (or tau alone without evidence or inputs), latching = that at saturation
>= latch_saturation (only for units bounded in [-1, 1]: saturation says nothing about rates or counts),
transient = input_drive >= min_drive and tau < tau_long (input-driven is not told apart from transient
without the impulse response).
Always: silent (std < silent_std), selective (label-shuffle p <= max_p and eta^2 >= min_eta2).

Rule: silent first. Then the dynamical roles (oscillatory, latching, integrator): one hit -> that role,
several -> "mixed". Otherwise input-driven or transient, else selective, else "unclassified" (no
criterion hit). The dynamical signatures come first because they explain the others: an integrator of
evidence is class-selective because the evidence decides the class, and a unit that follows its input at
short lag is selective whenever the input carries the class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.freerun import FreeRunMeasures
from rnnscope.analysis.selectivity import input_drive, integration, selectivity
from rnnscope.analysis.spectral import dominant_frequency
from rnnscope.analysis.stats import activity_stats, check_activity, check_aligned
from rnnscope.analysis.timescales import timescales
from rnnscope.analysis.unittable import ROLES, UnitTable, censor
from rnnscope.errors import BadArgument

__all__ = ["ROLES", "RoleThresholds", "UnitTable", "classify_units"]


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
    fast_memory: float = 1.0  # steps; impulse memory below this: input-driven (gone by the next step)
    min_persistence: float = 0.5  # holds: correlation across starts between free-run lags 0 and F
    latch_saturation: float = 0.5  # latching: share of held values with |h| > saturation_bound
    min_trough: float = 0.3  # free-run rhythm: autocorrelation falls at least this far below 0 ...
    min_rebound: float = 0.3  # ... and rises again to at least this
    # Estimator settings.
    acf_floor: float = 0.2  # tau fit uses lags until the autocorrelation drops below this
    max_lag: int | None = None  # largest autocorrelation lag; None: T // 2
    nperseg: int | None = None  # Welch segment length; None: min(64, longest valid run)
    input_lags: int = 10  # input steps (0..input_lags-1 back) in the input-drive regression
    n_shuffles: int = 200  # label shuffles for the selectivity null
    seed: int = 0  # seeds the shuffles

    def __post_init__(self) -> None:
        positive = ("saturation_bound", "tau_long", "n_shuffles", "input_lags", "fast_memory")
        unit_interval = (
            "min_integration",
            "integration_margin",
            "max_p",
            "min_eta2",
            "min_drive",
            "acf_floor",
            "min_persistence",
            "latch_saturation",
            "min_trough",
            "min_rebound",
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


def classify_units(
    h: np.ndarray,
    *,
    inputs: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    evidence: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    layer: str = "",
    thresholds: RoleThresholds = RoleThresholds(),
    free: FreeRunMeasures | None = None,
    memory: np.ndarray | None = None,
    memory_lags: int | None = None,
) -> UnitTable:
    """Measure and classify every unit of h (S, T, U).

    inputs (S, T, C): enables input_drive (and evidence from running sums of inputs if evidence is
    None). labels (S,): enables selectivity. evidence (S, T) or (S, T, E): cumulative evidence signals
    (e.g. Task.latents). mask (S, T): True at valid steps. Needs S >= 2 and a run of >= 8 valid steps.
    free: free-run measures of these units (rnnscope.analysis.freerun); memory (U,): impulse memory
    (rnnscope.analysis.impulse), observed over `memory_lags` lags. With free (and memory), the model rule
    of the module docstring applies; without, the activity rule.
    """
    th = thresholds
    h, mask = check_activity(h, mask, min_sequences=2, min_steps=8)
    _s, t, u = h.shape
    nan = np.full(u, np.nan)
    if free is not None and np.shape(free.tau) != (u,):
        raise BadArgument(f"free-run measures must have {u} units, got {np.shape(free.tau)}")
    if memory is not None and np.shape(memory) != (u,):
        raise BadArgument(f"memory must have shape ({u},), got {np.shape(memory)}")
    stats = activity_stats(h, mask, bound=th.saturation_bound, silent_std=th.silent_std)
    max_lag = th.max_lag or t // 2
    tau = timescales(h, mask, max_lag=max_lag, floor=th.acf_floor)
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
    mem = nan if memory is None else np.asarray(memory, dtype=np.float64)

    with np.errstate(invalid="ignore"):  # NaN compares False: a measure that is missing never hits
        nperseg = th.nperseg or min(64, int(mask.sum(axis=1).max()))
        in_band = (peak_freq >= th.min_cycles / nperseg) & (peak_freq <= th.max_freq)
        rhythm = (prominence >= th.min_prominence) & in_band
        accumulates = (
            (integ >= th.min_integration) & (integ - integ_inst >= th.integration_margin)
            if evidence is not None
            else np.ones(u, bool)
        )
        sel_hit = (sel_p <= th.max_p) & (sel_eta >= th.min_eta2)
        driven_in = drive >= th.min_drive
        if free is not None:
            osc = free.oscillates.astype(bool)
            holds = (free.persistence >= th.min_persistence) & (free.tau >= th.tau_long) & ~osc
            latch = holds & (free.saturation >= th.latch_saturation)
            integ_hit = holds & ~latch & accumulates
            fast = mem < th.fast_memory if memory is not None else tau < th.fast_memory
            short = mem < th.tau_long if memory is not None else tau < th.tau_long
            driven = driven_in & fast
            trans = driven_in & ~fast & short & ~holds
        else:
            # a rhythm in a unit the inputs explain (input_drive >= min_drive) is taken as the input's:
            # the activity cannot show the network's own (without inputs NaN drive never excludes one)
            osc = rhythm & ~driven_in
            slow = accumulates & (tau >= th.tau_long)
            # saturation means something only for units bounded like tanh's [-1, 1]: recorded rates or
            # spike counts are not, and their size says nothing about a saturated state
            peak = np.nanmax(np.abs(np.where(mask[:, :, None], h, np.nan)), axis=(0, 1))
            bounded = peak <= 1.0 + 1e-6
            latch = slow & bounded & (stats.saturation >= th.latch_saturation)
            integ_hit = slow & ~latch
            driven = np.zeros(u, bool)
            trans = driven_in & (tau < th.tau_long)

    role = np.full(u, "unclassified", dtype=object)
    role[sel_hit] = "selective"
    role[trans] = "transient"
    role[driven] = "input-driven"
    dyn = np.stack([osc, latch, integ_hit], axis=1)
    for j, name in enumerate(("oscillatory", "latching", "integrator")):
        role[dyn[:, j]] = name
    role[dyn.sum(axis=1) > 1] = "mixed"
    role[stats.silent] = "silent"
    names = ("oscillatory", "latching", "integrator", "input-driven", "transient", "selective", "rhythm")
    hits = np.stack([osc, latch, integ_hit, driven, trans, sel_hit, rhythm & ~osc], axis=1)
    criteria = np.array(["+".join(n for n, hit in zip(names, row) if hit) for row in hits], dtype=object)
    criteria[stats.silent] = "silent"
    tau_v, tau_flag = censor(tau, float(max_lag))
    mem_v, mem_flag = mem.copy(), np.full(u, "", dtype=object)
    never = np.isinf(mem)  # never decayed within the lags observed: longer than those
    mem_v[never], mem_flag[never] = float(memory_lags) if memory_lags else np.nan, "above"
    mem_flag[mem == 0] = "unreached"
    model = free is not None
    return UnitTable(
        layer=np.full(u, layer).astype(str),
        unit=np.arange(u),
        role=role.astype(str),
        criteria=criteria.astype(str),
        tau=tau_v,
        peak_freq=peak_freq,
        prominence=prominence,
        selectivity=sel_eta,
        selectivity_p=sel_p,
        integration=integ,
        input_drive=drive,
        saturation=stats.saturation,
        mean=stats.mean,
        std=stats.std,
        tau_censored=tau_flag,
        memory=mem_v,
        memory_censored=mem_flag.astype(str),
        free_tau=free.tau if model else nan,
        free_tau_censored=np.where(free.tau_censored, "above", "") if model else np.full(u, ""),
        free_persistence=free.persistence if model else nan,
        free_saturation=free.saturation if model else nan,
        free_period=free.period if model else nan,
        dynamics=np.full(u, "model" if model else "absent"),
    )
