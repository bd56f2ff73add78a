"""Gradient flow through time: exact per-step gradients, Jacobians, gate highways, snapshots over training.

`step_gradients(model, x, y, lengths)` gives ∂L/∂h_t of every layer (total: through the recurrence and
the layers above), ∂L/∂c_t for the LSTM, ∂L/∂x_t for every model including the Transformer, at about
the cost of one forward+backward. Method and definitions: docs/gradients.md. The pure analyses (decay
fit, effective context, highway and Jacobian products) are in `rnnscope.analysis.gradients`.
"""

from rnnscope.gradients.capture import StepGradients, step_gradients, step_update_norms
from rnnscope.gradients.jacobians import carry_gates, step_jacobians
from rnnscope.gradients.profile import analyse, gradient_profiles, probe_indices, summarise
from rnnscope.gradients.reference import unrolled_gradients, unrolled_loss
from rnnscope.gradients.snapshots import GradientSnapshots, ThroughTraining, load_through_training

__all__ = [
    "GradientSnapshots",
    "StepGradients",
    "ThroughTraining",
    "analyse",
    "carry_gates",
    "gradient_profiles",
    "load_through_training",
    "probe_indices",
    "step_gradients",
    "step_jacobians",
    "step_update_norms",
    "summarise",
    "unrolled_gradients",
    "unrolled_loss",
]
