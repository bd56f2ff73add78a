"""Unit analysis: pure functions on activity arrays h (sequences, time, units), from any source.

Key: S = sequences, T = time steps, U = units, C = input channels. Optional companions: inputs
(S, T, C), labels (S,), evidence (S, T) or (S, T, E), mask (S, T) bool (True = valid step).
Definitions, estimators, their biases and the role rule: docs/analysis.md.
"""

from rnnscope.analysis.freerun import FreeRunMeasures, free_run_measures
from rnnscope.analysis.geometry import PCA, class_trajectories, pca, project
from rnnscope.analysis.gradients import (
    BehaviouralContext,
    DecayFit,
    GradientContext,
    align_to_end,
    behavioural_context,
    check_epsilon,
    context_from_corrected,
    fit_decay,
    gate_highway,
    gradient_context,
    jacobian_norms,
    jacobian_product_norms,
    profile_stats,
    spectral_norm,
)
from rnnscope.analysis.impulse import ImpulseResponse, impulse_response, memory_length
from rnnscope.analysis.roles import ROLES, RoleThresholds, UnitTable, classify_units
from rnnscope.analysis.selectivity import Integration, Selectivity, input_drive, integration, selectivity
from rnnscope.analysis.spectral import dominant_frequency, power_spectrum, spectral_peaks
from rnnscope.analysis.stats import ActivityStats, activity_stats
from rnnscope.analysis.timescales import autocorrelation, fit_timescale, timescales

__all__ = [
    "BehaviouralContext",
    "DecayFit",
    "GradientContext",
    "align_to_end",
    "behavioural_context",
    "check_epsilon",
    "context_from_corrected",
    "fit_decay",
    "gate_highway",
    "gradient_context",
    "jacobian_norms",
    "jacobian_product_norms",
    "profile_stats",
    "spectral_norm",
    "PCA",
    "FreeRunMeasures",
    "free_run_measures",
    "ROLES",
    "ActivityStats",
    "ImpulseResponse",
    "Integration",
    "RoleThresholds",
    "Selectivity",
    "UnitTable",
    "activity_stats",
    "autocorrelation",
    "class_trajectories",
    "classify_units",
    "dominant_frequency",
    "fit_timescale",
    "impulse_response",
    "input_drive",
    "integration",
    "memory_length",
    "pca",
    "power_spectrum",
    "project",
    "selectivity",
    "spectral_peaks",
    "timescales",
]
