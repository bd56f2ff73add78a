"""What every model built on PyTorch's fused nn.RNN / nn.LSTM / nn.GRU shares: the state in PyTorch's `hx`
layout, and the closed-form kernels over `layer_weights`.

Mixed into `RecurrentClassifier` (recurrent.py) and the wrapped user modules (wrapped.py). The host has
`kind` ("rnn" | "lstm" | "gru"), `num_layers`, `hidden_size`, `core` (the fused module) and
`layer_weights(layer)`.

Key: B = batch, T = time, C = input channels, H = hidden size, L = layers, D = total state size.
State: h (L, B, H), or (h, c) each (L, B, H) for the LSTM.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnscope.models.jacobians import stacked_jacobian, traced_step_jacobian
from rnnscope.models.statemap import rnn_autonomous_map
from rnnscope.models.traced import LayerTrace, layer_traces, step_traces

State = Tensor | tuple[Tensor, Tensor]


class HxLayout:
    """The protocol's state accessors for PyTorch's hx layout."""

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        """Zero state for a batch (the fused modules' default)."""
        w = self.core.weight_hh_l0
        h = torch.zeros(
            self.num_layers, batch, self.hidden_size, device=device or w.device, dtype=dtype or w.dtype
        )
        return (h, torch.zeros_like(h)) if self.kind == "lstm" else h

    def layer_states(self, state: State) -> list[dict[str, Tensor]]:
        """Per layer {"h": (B, H)} (and "c" for the LSTM): views of the state."""
        if self.kind == "lstm":
            return [{"h": state[0][layer], "c": state[1][layer]} for layer in range(self.num_layers)]
        return [{"h": state[layer]} for layer in range(self.num_layers)]

    def make_state(self, layers: list[dict[str, Tensor]]) -> State:
        """The inverse of `layer_states`: PyTorch's hx layout (L, B, H), or (h, c) for the LSTM."""
        h = torch.stack([layer["h"] for layer in layers])
        return (h, torch.stack([layer["c"] for layer in layers])) if self.kind == "lstm" else h

    def top_hidden(self, state: State) -> Tensor:
        """The top layer's h (B, H)."""
        h = state[0] if self.kind == "lstm" else state
        return h[-1]


class ClosedFormKernels:
    """`TracedForward` and `ClosedFormJacobian` of the tanh RNN, LSTM and GRU equations, over the host's
    own tensors (`layer_weights`)."""

    def layer_traces(self, x: Tensor, method: str = "auto") -> list[LayerTrace]:
        """The traced forward of every layer over x (B, T, C) from the zero state (`models.traced`)."""
        return layer_traces(self, x, method)

    @torch.no_grad()
    def step_jacobian(self, x_t: Tensor, state: State) -> Tensor:
        """∂ state_vector(step(x_t, state)) / ∂ state_vector(state): (B, D, D) float64, closed form."""
        return stacked_jacobian(step_traces(self, x_t, state))

    @torch.no_grad()
    def step_with_jacobian(self, x_t: Tensor, state: State) -> tuple[State, Tensor]:
        """`step` and `step_jacobian` from one traced forward: (new state, (B, D, D) float64)."""
        return traced_step_jacobian(self, x_t, state)

    def autonomous_map(self, u: Tensor):
        """`AutonomousMap` for the tanh RNN (any depth, `models.statemap`); None for the gated cells."""
        if self.kind != "rnn":
            return None
        return rnn_autonomous_map([self.layer_weights(layer) for layer in range(self.num_layers)], u)
