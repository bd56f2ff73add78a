"""The model protocol: the one dynamics API that recording, gradients, streaming, fixed points and costs
go through (docs/models.md).

A *recurrent protocol model* is any object with the required members of `RecurrentModel` below: the
built-in `RecurrentClassifier`, a wrapped `nn.RNN`/`LSTM`/`GRU`, or a user's own cell. Everything else a
model may offer is an optional *capability*, a smaller protocol checked with `supports(model, Cap)`;
analyses take the fast path when the capability is there and a generic path (through `step`, with
autograd where derivatives are needed) when it is not, and tests hold the two equal on the built-in cells.

The causal Transformer is a `SequenceModel`: it steps (with a KV cache that grows) and reads out, but it
has no fixed-size recurrent state, so analyses that need one (fixed points, Jacobians) refuse it.

State is opaque to callers: read it only through `layer_states` and build it only through
`make_state`. The flat vector of the whole state (every layer's parts, layer by layer: h_0, c_0, h_1, c_1,
...) is `state_vector` / `vector_state`.

Key: B = batch, T = time, C = input channels, H_l = hidden size of layer l, L = layers, K = classes,
D = total state size (sum over layers of H_l times the number of state parts).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from rnnscope.errors import BadArgument

State = Any  # opaque: see layer_states / make_state


@runtime_checkable
class SequenceModel(Protocol):
    """What every model that rnnscope can step through offers (recurrent or not)."""

    input_size: int  # C
    n_classes: int | None  # K, or None when the model has no readout
    num_layers: int  # L

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        """The state before the first step, for `batch` sequences."""

    def step(self, x_t: Tensor, state: State) -> State:
        """One time step: x_t (B, C), state -> new state. Must not change `state` in place."""

    def readout(self, state: State) -> Tensor:
        """Class logits (B, K) from a state. Raises `NoReadout` when the model has none."""


@runtime_checkable
class RecurrentModel(SequenceModel, Protocol):
    """The required part of a recurrent protocol model: a fixed-size state, layer by layer."""

    layer_sizes: tuple[int, ...]  # H_l per layer
    state_names: tuple[str, ...]  # the parts of each layer's state: ("h",) or ("h", "c")
    gate_names: tuple[str, ...]  # names of the gates `step_with_gates` returns; () if none
    # optional: carry_gate: str | None, the gate that carries the state from t - 1 to t (lstm "f", gru "z")

    def layer_states(self, state: State) -> list[dict[str, Tensor]]:
        """Per layer {part name: (B, H_l)} in `state_names` order; views, not copies, where possible."""

    def make_state(self, layers: list[dict[str, Tensor]]) -> State:
        """The inverse of `layer_states`."""


# ---- optional capabilities ----------------------------------------------------------------------------
@runtime_checkable
class HasGates(Protocol):
    def step_with_gates(self, x_t: Tensor, state: State) -> tuple[State, list[dict[str, Tensor]]]:
        """One step, also returning per layer {gate name: (B, H_l)}."""


@runtime_checkable
class LayeredStep(Protocol):
    def step_layer(self, layer: int, inp: Tensor, parts: dict[str, Tensor]) -> dict[str, Tensor]:
        """One layer's step: inp (B, C_l) is x_t for layer 0 and the new h of layer l - 1 otherwise; parts
        the layer's state {name: (B, H_l)} -> its new parts. `step` must equal these applied bottom-up.
        The generic per-step gradients use it to give each lower layer's *total* ∂L/∂h_t (through the
        recurrence and the layers above at the same step)."""


@runtime_checkable
class ResidualStreams(Protocol):
    """A Transformer-like model: residual streams instead of a recurrent state."""

    def encode(self, x: Tensor, need_weights: bool = False) -> tuple[list[Tensor], list[Tensor]]:
        """x (B, T, C) -> (streams: L + 1 of (B, T, D), the input embedding then each block's output;
        attention weights per block (B, N, T, T) when need_weights, else [])."""

    def stream_readout(self, z: Tensor) -> Tensor:
        """Class logits (..., K) from top-layer streams z (..., D)."""

    def step_with_streams(self, x_t: Tensor, state: State) -> tuple[State, list[Tensor]]:
        """One step, also returning each block's output stream (B, D)."""


@runtime_checkable
class FusedForward(Protocol):
    def final_state(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> State:
        """State after each sequence's last valid step: x (B, T, C), lengths (B,) | None. Equal to
        stepping `step` over each sequence's valid steps."""


@runtime_checkable
class TracedForward(Protocol):
    def layer_traces(self, x: Tensor, method: str = "auto") -> list:
        """Per layer a `models.traced.LayerTrace` (what the hand-written backward through time needs)."""


@runtime_checkable
class StreamKernel(Protocol):
    def stream_engine(self, capacity: int, chunk_method: str = "auto"):
        """An engine that steps many streams in place, with the interface of `streaming.SteppedEngine`
        (grow, reset, state, state_bytes, step, chunk)."""


@runtime_checkable
class ClosedFormJacobian(Protocol):
    def step_jacobian(self, x_t: Tensor, state: State) -> Tensor:
        """∂ state_vector(step(x_t, state)) / ∂ state_vector(state): (B, D, D) float64."""


@runtime_checkable
class StepWithJacobian(Protocol):
    def step_with_jacobian(self, x_t: Tensor, state: State) -> tuple[State, Tensor]:
        """`step` and `step_jacobian` from one forward pass: (new state, (B, D, D) float64)."""


@runtime_checkable
class AutonomousMap(Protocol):
    def autonomous_map(self, u: Tensor):
        """For a constant input u (C,): a function x (N, D) -> (F (N, D), ∂F/∂x (N, D, D)) on state
        vectors, F = state_vector(step(u, vector_state(x))), in the model's dtype — or None where the
        model has no such fast path (callers then use `step_with_jacobian` or `step_jacobian`)."""


class NoReadout(TypeError):
    """Raised by `readout` of a model that has none; analyses that need class scores say so."""


def supports(model, capability: type) -> bool:
    """Whether `model` offers an optional capability (one of the protocols above)."""
    return isinstance(model, capability)


def is_recurrent(model) -> bool:
    """A fixed-size recurrent state (not a Transformer's growing cache)."""
    return isinstance(model, RecurrentModel)


def model_kind(model) -> str:
    """A name for the model in files' metadata: its `kind` (rnn, lstm, gru, transformer), else its class."""
    return getattr(model, "kind", type(model).__name__)


def has_readout(model) -> bool:
    return getattr(model, "n_classes", None) is not None


def state_size(model) -> int:
    """D: the length of `state_vector`."""
    return sum(model.layer_sizes) * len(model.state_names)


def state_vector(model, state: State) -> Tensor:
    """The whole state as one (B, D) tensor: per layer, its parts in `state_names` order."""
    return torch.cat(
        [layer[name] for layer in model.layer_states(state) for name in model.state_names], dim=-1
    )


def vector_state(model, v: Tensor) -> State:
    """The inverse of `state_vector`: v (B, D) -> state."""
    layers, i = [], 0
    for size in model.layer_sizes:
        parts = {}
        for name in model.state_names:
            parts[name] = v[..., i : i + size]
            i += size
        layers.append(parts)
    if i != v.shape[-1]:
        raise BadArgument(f"a state vector of this model has {i} entries, got {v.shape[-1]}")
    return model.make_state(layers)


def hidden(model, state: State, layer: int = -1) -> Tensor:
    """h (B, H_l) of one layer (the top layer by default)."""
    return model.layer_states(state)[layer]["h"]


def model_device(model) -> tuple[torch.device, torch.dtype]:
    """The device and floating dtype the model computes in: those of its parameters; for a model without
    `parameters()` those of its default initial state; else CPU float32."""
    params = getattr(model, "parameters", None)
    if params is not None:
        for p in params():
            if p.is_floating_point():
                return p.device, p.dtype
    elif is_recurrent(model):
        h = model.layer_states(model.init_state(1))[0]["h"]
        return h.device, h.dtype
    return torch.device("cpu"), torch.float32


@contextlib.contextmanager
def eval_mode(model):
    """Dropout off (every submodule in eval mode) inside the block; each one's own flag restored after.
    A model that is not an `nn.Module` is left alone."""
    modules = getattr(model, "modules", None)
    flags = [(m, m.training) for m in modules()] if modules is not None else []
    try:
        if flags:
            model.eval()
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def float64_copy(model):
    """A deep copy of the model in float64, in eval mode where it has one (the caller's model untouched)."""
    m = copy.deepcopy(model)
    if hasattr(m, "double"):
        m = m.double()
    if hasattr(m, "eval"):
        m.eval()
    return m
