"""Unit analysis: pure functions on activity arrays h (sequences, time, units), from any source.

Key: S = sequences, T = time steps, U = units, C = input channels. Optional companions: inputs
(S, T, C), labels (S,), evidence (S, T) or (S, T, E), mask (S, T) bool (True = valid step).
Definitions, estimators, their biases and the role rule: docs/analysis.md.

The names below load on first use (PEP 562), so importing one submodule (e.g. `analysis.nearest`)
does not import them all (scipy.signal among them).
"""

# Functions that share their module's name are bound now: once the submodule is imported, the package
# attribute would otherwise be the module, not the function. Both modules are light (numpy, scipy.fft).
from rnnscope.analysis.selectivity import selectivity
from rnnscope.analysis.timescales import timescales
from rnnscope.lazy import lazy_names

_LAZY = {
    "FreeRunMeasures": "rnnscope.analysis.freerun",
    "free_run_measures": "rnnscope.analysis.freerun",
    "PCA": "rnnscope.analysis.geometry",
    "class_trajectories": "rnnscope.analysis.geometry",
    "pca": "rnnscope.analysis.geometry",
    "project": "rnnscope.analysis.geometry",
    "BehaviouralContext": "rnnscope.analysis.gradients",
    "DecayFit": "rnnscope.analysis.gradients",
    "GradientContext": "rnnscope.analysis.gradients",
    "align_to_end": "rnnscope.analysis.gradients",
    "behavioural_context": "rnnscope.analysis.gradients",
    "check_epsilon": "rnnscope.analysis.gradients",
    "context_from_corrected": "rnnscope.analysis.gradients",
    "fit_decay": "rnnscope.analysis.gradients",
    "gate_highway": "rnnscope.analysis.gradients",
    "gradient_context": "rnnscope.analysis.gradients",
    "jacobian_norms": "rnnscope.analysis.gradients",
    "jacobian_product_norms": "rnnscope.analysis.gradients",
    "profile_stats": "rnnscope.analysis.gradients",
    "spectral_norm": "rnnscope.analysis.gradients",
    "ImpulseResponse": "rnnscope.analysis.impulse",
    "impulse_response": "rnnscope.analysis.impulse",
    "memory_length": "rnnscope.analysis.impulse",
    "ROLES": "rnnscope.analysis.roles",
    "RoleThresholds": "rnnscope.analysis.roles",
    "UnitTable": "rnnscope.analysis.roles",
    "classify_units": "rnnscope.analysis.roles",
    "Integration": "rnnscope.analysis.selectivity",
    "Selectivity": "rnnscope.analysis.selectivity",
    "input_drive": "rnnscope.analysis.selectivity",
    "integration": "rnnscope.analysis.selectivity",
    "dominant_frequency": "rnnscope.analysis.spectral",
    "power_spectrum": "rnnscope.analysis.spectral",
    "spectral_peaks": "rnnscope.analysis.spectral",
    "ActivityStats": "rnnscope.analysis.stats",
    "activity_stats": "rnnscope.analysis.stats",
    "autocorrelation": "rnnscope.analysis.timescales",
    "fit_timescale": "rnnscope.analysis.timescales",
}

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

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
