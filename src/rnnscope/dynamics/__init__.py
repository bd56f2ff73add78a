"""Dynamics of recurrent protocol models: fixed and slow points, linearisation, Lyapunov spectra.

Everything goes through the model's `step` on its whole stacked state (`system.StepMap`); nothing here
draws or writes a run directory (the stage does). See docs/fixedpoints.md.
"""

from rnnscope.dynamics.data import input_from_data, recorded_states, sample_starts, state_trajectories
from rnnscope.dynamics.fixedpoints import fixed_points, fixed_points_by_class
from rnnscope.dynamics.linearise import Linearisation, linearise, slow_set_dimension
from rnnscope.dynamics.lyapunov import LyapunovSpectrum, lyapunov_spectrum
from rnnscope.dynamics.points import FixedPoints
from rnnscope.dynamics.system import StepMap

__all__ = [
    "FixedPoints",
    "Linearisation",
    "LyapunovSpectrum",
    "StepMap",
    "fixed_points",
    "fixed_points_by_class",
    "input_from_data",
    "linearise",
    "lyapunov_spectrum",
    "recorded_states",
    "sample_starts",
    "slow_set_dimension",
    "state_trajectories",
]
