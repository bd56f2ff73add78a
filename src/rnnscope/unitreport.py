"""The unit analysis of a recording: unit roles, population geometry, and the arrays its figures draw.

The analyze stage (rnnscope.stages.analyze) runs it on a run directory and writes what it returns:

    RUN_DIR/analysis/units.csv            one row per unit: layer, unit, role, tau, peak_freq, selectivity,
                                          saturation, memory, prominence, selectivity_p, integration,
                                          input_drive, mean, std, criteria, tau_censored,
                                          memory_censored, free_tau, free_tau_censored,
                                          free_persistence, free_saturation, free_period, dynamics
    RUN_DIR/analysis/summary.json         role counts, PCA explained variance and participation ratio per
                                          layer, example units per role, what was analysed and how
    RUN_DIR/analysis/arrays.safetensors   what the figures (and the HTML report) draw, so nothing is
                                          recomputed: see `ARRAYS` below
    RUN_DIR/analysis/*.png|svg            unit_traces, unit_heatmap, pca_trajectories, oscillatory_psd,
                                          tau_histogram (rnnscope.plots.units.unit_figures)

The analysis itself is `rnnscope.analysis` (pure functions, docs/analysis.md) applied per layer to the
first recorded sequences: every estimator there holds its sequences in memory in float64, so a subsample
bounds time and memory for recordings of any size. By default that is 512 sequences, fewer when they
would hold more than VALUE_BUDGET (16.8 M) values per layer (e.g. 262 sequences of 250 steps x 256 units),
never fewer than 32; the estimators' precision depends on sequences x steps, and 128 x 200 steps already
hold the planted-unit tolerances of docs/analysis.md. Key: S = sequences,
T = recorded steps, U = units, K = classes, E = evidence signals, F = frequency bins, k = components.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rnnscope.analysis import (
    ROLES,
    ImpulseResponse,
    RoleThresholds,
    UnitTable,
    class_trajectories,
    classify_units,
    pca,
    power_spectrum,
    project,
)
from rnnscope.analysis.stats import check_activity
from rnnscope.config import ANALYSIS_MAX_SEQUENCES, ANALYSIS_VALUE_BUDGET
from rnnscope.errors import BadArgument, UserInputError
from rnnscope.recording import Recording
from rnnscope.recording.probes import Dynamics
from rnnscope.rundir import UNIT_COLUMNS, AnalysisSummary, LayerUnits

MAX_SEQUENCES = ANALYSIS_MAX_SEQUENCES
VALUE_BUDGET = ANALYSIS_VALUE_BUDGET
MIN_SEQUENCES = 32  # ... but never fewer than this (the integration criterion needs >= 32, docs/analysis.md)
N_PSD = 8  # oscillatory units per layer whose spectrum is kept
N_EXAMPLES = 4  # example sequences whose activity is kept (traces, heatmap)
N_PROJECTED = 32  # sequences kept projected on the principal components
N_PCS = 10  # principal components reported
EXAMPLE_UNITS = 3  # example units per role
ARRAYS = """per layer l: activity.l<l> (N_EXAMPLES, T, U) float32, order.l<l> (U,) units sorted by role then
tau, psd.l<l> (F, n) for psd_units.l<l> (n,) (up to N_PSD oscillatory units, largest prominence first),
pca.evr.l<l> (k,), pca.class_means.l<l> (K, T, 3), pca.proj.l<l> (N_PROJECTED, T, 3),
impulse.l<l> (lags, U) when a model was probed; shared: psd.freqs (F,), steps (T,),
example_index (N_EXAMPLES,) into the analysed sequences, example_lengths, example_labels,
proj_labels (N_PROJECTED,), class_ids (K,)"""
CSV_COLUMNS = UNIT_COLUMNS  # the columns of units.csv
_SCORE = {
    "input-driven": "input_drive",
    "transient": "input_drive",
    "selective": "selectivity",
    "integrator": "integration",
    "latching": "saturation",
    "oscillatory": "prominence",
    "mixed": "std",
    "unclassified": "std",
    "silent": "std",
}


@dataclass(frozen=True)
class UnitReport:
    """table: every unit of every layer; memory (U_all,): impulse memory length (NaN without a model);
    summary: what analysis/summary.json holds; arrays: {name: array} (see ARRAYS)."""

    table: UnitTable
    memory: np.ndarray
    summary: AnalysisSummary
    arrays: dict[str, np.ndarray]

    def columns(self) -> dict[str, list]:
        """{column of units.csv: values (U_all,)}."""
        return {c: getattr(self.table, c).tolist() for c in CSV_COLUMNS}


def activity_name(rec: Recording, layer: int) -> str:
    return f"residual.l{layer}" if rec.model.get("kind") == "transformer" else f"hidden.l{layer}"


def analyze_recording(
    rec: Recording,
    sequences: np.ndarray | None = None,
    *,
    evidence: np.ndarray | None = None,
    impulse: dict[int, ImpulseResponse] | None = None,
    thresholds: RoleThresholds | None = None,
    class_names: list[str] | None = None,
    evidence_names: list[str] | None = None,
    dynamics: Dynamics | None = None,
) -> UnitReport:
    """Classify every unit of every recorded layer, PCA per layer, and the arrays the figures need.

    sequences: indices into the recording (default the first `default_sequences(...)`). evidence: (S, T, E)
    aligned with those sequences and the recorded steps, or None (then running sums of the inputs serve).
    impulse: {layer: ImpulseResponse} from `model_impulse`, or None. thresholds: None = RoleThresholds().
    dynamics: the model's own dynamics (rnnscope.recording.probes.probe_dynamics; its impulse replaces
    `impulse`), or None: the model criteria are then absent (docs/analysis.md).
    class_names: label text per class index (default: the recording's source, if it names them).
    Raises ValueError naming the array (e.g. "hidden.l0: h contains NaN at valid steps").
    """
    thresholds = RoleThresholds() if thresholds is None else thresholds
    if dynamics is not None:
        impulse = dynamics.impulse
    class_names = class_names if class_names is not None else rec.source.get("class_names")
    if sequences is None:
        widest = max(rec.shape(activity_name(rec, layer))[-1] for layer in rec.layers)
        sequences = np.arange(default_sequences(rec.n_sequences, len(rec.steps), widest))
    seqs = np.asarray(sequences)
    mask = rec.mask(seqs)
    inputs = rec.read("inputs", seqs) if "inputs" in rec else None
    labels = rec.read("labels", seqs) if "labels" in rec else None
    examples = _example_sequences(labels, len(seqs))
    proj_rows = np.arange(min(N_PROJECTED, len(seqs)))
    arrays = {
        "steps": rec.steps,
        "example_index": seqs[examples],
        "example_lengths": rec.read("lengths", seqs[examples]),
        "example_labels": labels[examples] if labels is not None else np.zeros(len(examples), np.int64),
        "proj_labels": labels[proj_rows] if labels is not None else np.zeros(len(proj_rows), np.int64),
    }
    tables, memory, summary_layers = [], [], {}
    for layer in rec.layers:
        name = activity_name(rec, layer)
        h = rec.read(name, seqs)
        try:
            table = classify_units(
                h,
                inputs=inputs,
                labels=labels,
                evidence=evidence,
                mask=mask,
                layer=str(layer),
                thresholds=thresholds,
                free=dynamics.free.get(layer) if dynamics is not None else None,
                memory=impulse[layer].memory if impulse is not None and layer in impulse else None,
                memory_lags=len(impulse[layer].deviation)
                if impulse is not None and layer in impulse
                else None,
            )
            p = pca(h, mask, n_components=min(N_PCS, h.shape[2]))
            osc = _example_units(table, N_PSD)["oscillatory"]
            freqs, psd = power_spectrum(h[:, :, osc or [0]], mask, nperseg=thresholds.nperseg)
        except UserInputError as err:
            raise BadArgument(f"{name}: {err}") from None
        z = project(h, p, mask)[:, :, :3]
        z = np.concatenate([z, np.zeros(z.shape[:2] + (3 - z.shape[2],))], axis=2) if z.shape[2] < 3 else z
        classes, means = (
            class_trajectories(z, labels, mask)
            if labels is not None and len(np.unique(labels)) > 1
            else (np.zeros(1, np.int64), np.nanmean(np.where(mask[:, :, None], z, np.nan), axis=0)[None])
        )
        tables.append(table)
        memory.append(table.memory)
        arrays.update(
            {
                f"activity.l{layer}": h[examples].astype(np.float32),
                f"order.l{layer}": _order(table),
                f"psd.l{layer}": psd[:, : len(osc)],
                f"psd_units.l{layer}": np.asarray(osc, dtype=np.int64),
                f"pca.evr.l{layer}": p.explained_variance_ratio,
                f"pca.class_means.l{layer}": means,
                f"pca.proj.l{layer}": z[proj_rows],
                "psd.freqs": freqs,
                "class_ids": np.asarray(classes),
            }
        )
        if impulse is not None and layer in impulse:
            arrays[f"impulse.l{layer}"] = impulse[layer].deviation
        summary_layers[str(layer)] = LayerUnits(
            name,
            len(table),
            table.role_counts(),
            p.explained_variance_ratio.tolist(),
            p.participation_ratio,
            _example_units(table),
        )
    table = UnitTable.concat(tables)
    summary = AnalysisSummary(
        summary_layers,
        table.role_counts(),
        len(seqs),
        rec.n_sequences,
        len(rec.steps),
        rec.model,
        rec.source,
        class_names,
        evidence_names
        if evidence is not None
        else ("running sums of the inputs" if inputs is not None else None),
        impulse is not None,
        dataclasses.asdict(thresholds),
    )
    summary.dynamics = dynamics.settings if dynamics is not None else None
    return UnitReport(table, np.concatenate(memory), summary, arrays)


def check_recording(rec: Recording, sequences: np.ndarray) -> None:
    """Raise BadArgument naming the array when a layer's activity cannot be analysed (NaN, too few
    sequences or steps): checked before the model is probed, so the activity's own fault is named."""
    mask = rec.mask(sequences)
    for layer in rec.layers:
        name = activity_name(rec, layer)
        try:
            check_activity(rec.read(name, sequences), mask, min_sequences=2, min_steps=8)
        except UserInputError as err:
            raise BadArgument(f"{name}: {err}") from None


def _example_sequences(labels, n: int) -> np.ndarray:
    """The first sequence of each class (up to N_EXAMPLES), topped up with the first sequences."""
    picks = (
        []
        if labels is None
        else [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)][:N_EXAMPLES]
    )
    picks += [i for i in range(n) if i not in picks][: max(0, min(N_EXAMPLES, n) - len(picks))]
    return np.asarray(picks, dtype=np.int64)


def _order(table: UnitTable) -> np.ndarray:
    role_rank = np.array([ROLES.index(r) for r in table.role])
    tau = np.where(np.isnan(table.tau), np.inf, table.tau)
    return np.lexsort((tau, role_rank)).astype(np.int64)


def _example_units(table: UnitTable, n: int = EXAMPLE_UNITS) -> dict[str, list[int]]:
    """Up to n units per role, the clearest first (largest integration, prominence, selectivity, drive or
    std)."""
    out = {}
    for role in ROLES:
        units = np.flatnonzero(table.role == role)
        score = np.nan_to_num(getattr(table, _SCORE[role])[units], nan=-np.inf)
        out[role] = [int(u) for u in units[np.argsort(-score, kind="stable")][:n]]
    return out


def default_sequences(n_sequences: int, n_steps: int, n_units: int) -> int:
    """How many sequences are analysed by default (see the module docstring)."""
    by_budget = max(MIN_SEQUENCES, VALUE_BUDGET // max(1, n_steps * n_units))
    return int(min(n_sequences, MAX_SEQUENCES, by_budget))


# ---- probing a model -------------------------------------------------------------------------
def task_evidence(task, x: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray | None, list[str] | None]:
    """The task's cumulative-evidence latents (names starting with "evidence") as (S, T, E), or None."""
    if task is None:
        return None, None
    latents = task.latents(x)
    names = [k for k in latents if k.startswith("evidence")]
    if not names:
        return None, None
    return np.stack([latents[k] for k in names], axis=2)[:, steps], names
