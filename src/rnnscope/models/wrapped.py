"""A user's own `nn.RNN` / `nn.LSTM` / `nn.GRU` (and readout) as a protocol model (`rnnscope.wrap`).

`WrappedRecurrent` reads the user's module's own tensors at every call (nothing is copied, so a later
change to the module is seen) and never changes the module: no weight, `requires_grad`, training flag or
hook. Its step is the reference equations of `cells.py` on those tensors; a missing bias (`bias=False`)
is a zero vector made at each call. Its API is batch-first (B, T, C) whatever the module's `batch_first`;
only the calls into the user's fused module adapt. State: PyTorch's hx layout, h (L, B, H), or (h, c)
for the LSTM, so a state can be handed to the user's module and back.

Capabilities (docs/models.md): every wrapped core has `HasGates`, `LayeredStep` and `FusedForward` (the
user's module itself). The tanh RNN, the LSTM and the GRU also have the built-in kernels, run on the
user's tensors: `TracedForward` (`traced.layer_traces`), `ClosedFormJacobian` (`jacobians`) and
`StreamKernel` (`WrappedEngine`, the built-in in-place engine reading these tensors). Those kernels know
only tanh, so the ReLU RNN (`WrappedRecurrent` alone) takes the generic paths.

Key: B = batch, T = time, C = input channels, H = hidden size, L = layers, K = classes, S = streams.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnscope.errors import BadArgument
from rnnscope.models.cells import GATES, gru_cell, lstm_cell, rnn_cell, rnn_relu_cell
from rnnscope.models.hx_layout import ClosedFormKernels, HxLayout
from rnnscope.models.protocol import NoReadout
from rnnscope.models.stream_kernel import RecurrentEngine

CELL = {"rnn": rnn_cell, "rnn_relu": rnn_relu_cell, "lstm": lstm_cell, "gru": gru_cell}
KIND_OF_MODE = {"RNN_TANH": "rnn", "RNN_RELU": "rnn_relu", "LSTM": "lstm", "GRU": "gru"}
KERNEL_KINDS = ("rnn", "lstm", "gru")  # what the built-in traced / Jacobian / stream kernels know
State = Tensor | tuple[Tensor, Tensor]


class WrappedRecurrent(HxLayout, nn.Module):
    """A user's fused recurrent module and readout as a `RecurrentModel`. Build it with `rnnscope.wrap`.

    core: the user's `nn.RNN` / `nn.LSTM` / `nn.GRU` (validated by `wrap`). head: the readout, a callable
    (B, H) -> (B, K) on the top layer's h, or None. n_classes: K, or None without a readout.
    forward(x (B, T, C), lengths (B,) | None) -> logits (B, K).
    """

    def __init__(self, core: nn.RNNBase, head: Callable[[Tensor], Tensor] | None, n_classes: int | None):
        super().__init__()
        self.core = core  # the user's module: a submodule, so .to() / .double() on a copy reach it
        self.head = head
        self.n_classes = n_classes
        self.kind = KIND_OF_MODE[core.mode]
        self.input_size = core.input_size
        self.hidden_size = core.hidden_size
        self.num_layers = core.num_layers
        self.layer_sizes = (core.hidden_size,) * core.num_layers
        self.state_names = ("h", "c") if self.kind == "lstm" else ("h",)

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATES.get(self.kind, ())

    @property
    def carry_gate(self) -> str | None:
        """The gate that carries the state from t-1 to t: lstm f (on c), gru z (on h); None for rnn."""
        return {"lstm": "f", "gru": "z"}.get(self.kind)

    # ---- the user's tensors -------------------------------------------------------------------------
    def layer_weights(self, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(w_ih, w_hh, b_ih, b_hh) of one layer: the user's own tensors; zeros (made now) for a missing
        bias."""
        c = self.core
        w_ih, w_hh = getattr(c, f"weight_ih_l{layer}"), getattr(c, f"weight_hh_l{layer}")
        if not c.bias:
            zero = w_ih.new_zeros(w_ih.shape[0])
            return w_ih, w_hh, zero, zero
        return w_ih, w_hh, getattr(c, f"bias_ih_l{layer}"), getattr(c, f"bias_hh_l{layer}")

    def logits(self, h: Tensor) -> Tensor:
        """The readout of a top-layer h (B, H) -> (B, K); `NoReadout` without one."""
        if self.head is None:
            raise NoReadout(
                "this wrapped model has no readout (wrap(core, readout=...) gives it one); "
                "class scores, predictions, gradients and streaming need it"
            )
        return self.head(h)

    # ---- the protocol ---------------------------------------------------------------------------------
    def readout(self, state: State) -> Tensor:
        """Class logits (B, K) from the top layer's h."""
        return self.logits(self.layer_states(state)[-1]["h"])

    def step(self, x_t: Tensor, state: State) -> State:
        """One time step through every layer (no dropout): x_t (B, C), state -> new state."""
        return self.step_with_gates(x_t, state)[0]

    def step_with_gates(self, x_t: Tensor, state: State) -> tuple[State, list[dict[str, Tensor]]]:
        """One step, also returning each layer's gates {gate: (B, H)} ({} for the RNN)."""
        layers, gates, inp = [], [], x_t
        for layer, parts in enumerate(self.layer_states(state)):
            new, g = self._cell(layer, inp, parts)
            layers.append(new)
            gates.append(g)
            inp = new["h"]
        return self.make_state(layers), gates

    def step_layer(self, layer: int, inp: Tensor, parts: dict[str, Tensor]) -> dict[str, Tensor]:
        """One layer's step (`LayeredStep`): inp (B, C_l), parts {"h" (, "c")} (B, H) -> new parts."""
        return self._cell(layer, inp, parts)[0]

    def _cell(self, layer: int, inp: Tensor, parts: dict[str, Tensor]):
        if self.kind == "lstm":
            (h, c), g = lstm_cell(inp, (parts["h"], parts["c"]), *self.layer_weights(layer))
            return {"h": h, "c": c}, g
        h, g = CELL[self.kind](inp, parts["h"], *self.layer_weights(layer))
        return {"h": h}, g

    # ---- the user's fused module (FusedForward) -----------------------------------------------------
    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """x (B, T, C), lengths (B,) or None -> logits (B, K) at each sequence's last step."""
        return self.readout(self.final_state(x, lengths))

    def final_state(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> State:
        """State after each sequence's last valid step, through the user's module: x (B, T, C)."""
        return self.fused(x, state, lengths, enforce_sorted=False)[1]

    def fused(
        self, x: Tensor, state: State | None, lengths: Tensor | None = None, enforce_sorted: bool = False
    ) -> tuple[Tensor, State]:
        """The user's module over x (B, T, C) from `state` (zeros if None) -> (per-step top h (B, T, H),
        zero past each sequence's end; final state). Packed when lengths (B,) is ragged."""
        bf = self.core.batch_first
        ragged = lengths is not None and bool((lengths < x.shape[1]).any())
        inp = x if bf else x.transpose(0, 1)
        if ragged:
            inp = pack_padded_sequence(
                inp, lengths.detach().cpu(), batch_first=bf, enforce_sorted=enforce_sorted
            )
        out, state = self.core(inp, state)
        if ragged:
            out = pad_packed_sequence(out, batch_first=bf, total_length=x.shape[1])[0]
        return (out if bf else out.transpose(0, 1)), state


class WrappedKernels(ClosedFormKernels, WrappedRecurrent):
    """A wrapped tanh RNN, LSTM or GRU: also the built-in kernels, on the user's tensors."""

    def stream_engine(self, capacity: int, chunk_method: str = "auto") -> WrappedEngine:
        """The built-in in-place many-stream kernel with `capacity` slots, on the user's tensors."""
        return WrappedEngine(self, capacity, chunk_method)


class WrappedEngine(RecurrentEngine):
    """`stream_kernel.RecurrentEngine` on a `WrappedKernels`: the same in-place step, reading the user's
    tensors through `layer_weights` (zero biases where the module has none), the readout through the
    model's `logits`, and the fused chunk through the user's module in its own layout."""

    def __init__(self, model: WrappedKernels, capacity: int, chunk_method: str = "auto"):
        if chunk_method not in ("auto", "stepped", "fused"):
            raise BadArgument(f"chunk_method must be 'auto', 'stepped' or 'fused', got {chunk_method!r}")
        w = model.core.weight_hh_l0
        self.model, self.kind, self.capacity, self.chunk_method = model, model.kind, 0, chunk_method
        self._dev, self._dtype = w.device, w.dtype
        self.h: list[Tensor] = []
        self.c: list[Tensor] | None = [] if self.kind == "lstm" else None
        self._scratch: dict[tuple, Tensor] = {}
        self.grow(capacity)

    def _weights(self) -> list[tuple[Tensor, ...]]:
        """Per layer (w_ih, w_hh, b_ih, b_hh, b_ih + b_hh), read now (so never stale)."""
        layers = (self.model.layer_weights(layer) for layer in range(self.model.num_layers))
        return [(*w, w[2] + w[3]) for w in layers]

    def _probs(self, top: Tensor) -> Tensor:
        """top (S, H) -> probabilities (S, K)."""
        return self.model.logits(top).softmax(-1)

    def _chunk_fused(self, work, x: Tensor, lengths: Tensor | None) -> Tensor:
        s, n, _ = x.shape
        h0 = torch.stack(work.hs)
        hx = (h0, torch.stack(work.cs)) if work.cs is not None else h0
        out, hn = self.model.fused(x, hx, lengths, enforce_sorted=True)
        probs = self._probs(out.reshape(s * n, -1)).view(s, n, -1)
        if lengths is not None:
            probs = probs * (torch.arange(n, device=x.device).view(1, -1, 1) < lengths.view(-1, 1, 1))
        hn_h, hn_c = hn if work.cs is not None else (hn, None)
        for layer in range(self.model.num_layers):
            work.hs[layer].copy_(hn_h[layer])
            if work.cs is not None:
                work.cs[layer].copy_(hn_c[layer])
        return probs
