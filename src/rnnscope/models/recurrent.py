"""Recurrent sequence classifiers (tanh RNN, LSTM, GRU): one fused fast path, one single step.

The fused path is PyTorch's `nn.RNN` / `nn.LSTM` / `nn.GRU` (cuDNN on GPU). The single step
`step(x_t, state) -> state` evaluates the same equations from the same weights (see `cells.py`);
recording, gradient analysis and streaming are views of it, and tests hold the two paths equal.

Key: B = batch, T = time, C = input channels, H = hidden size, L = layers, K = classes.
State: rnn/gru -> h (L, B, H); lstm -> (h, c), each (L, B, H) — PyTorch's `hx` layout, so a state
from `step` can be handed to the fused path and back.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnscope.errors import BadArgument
from rnnscope.models.cells import CELLS, GATES
from rnnscope.models.hx_layout import ClosedFormKernels, HxLayout
from rnnscope.models.stream_kernel import RecurrentEngine

FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
State = Tensor | tuple[Tensor, Tensor]


class RecurrentClassifier(HxLayout, ClosedFormKernels, nn.Module):
    """A stack of recurrent layers read out by a linear layer at each sequence's last step.

    forward(x (B, T, C), lengths (B,) | None) -> logits (B, K).
    """

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        n_classes: int,
        dropout: float = 0.0,
        forget_bias: float | None = 1.0,
        chrono_tmax: int | None = None,
    ):
        super().__init__()
        if kind not in FUSED:
            raise BadArgument(f"unknown recurrent kind {kind!r}; choose from {', '.join(FUSED)}")
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
            ("n_classes", n_classes),
        ):
            if value < 1:
                raise BadArgument(f"{name} must be greater than zero, got {value}")
        self.kind = kind
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.n_classes = n_classes
        self.layer_sizes = (hidden_size,) * num_layers
        self.state_names = ("h", "c") if kind == "lstm" else ("h",)
        kw = {"nonlinearity": "tanh"} if kind == "rnn" else {}
        self.core = FUSED[kind](
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            **kw,
        )
        self.head = nn.Linear(hidden_size, n_classes)
        if kind in ("lstm", "gru"):
            if chrono_tmax is not None:
                self._chrono_init(chrono_tmax)
            elif forget_bias is not None:
                # Start the carry gates open (sigmoid(1) = 0.73): the LSTM's forget gate, as Keras'
                # unit_forget_bias does (Jozefowicz et al. 2015), and the GRU's update gate z, which is the
                # carry gate in PyTorch's h' = (1 - z) * n + z * h. Both are the fused bias's second chunk.
                self._set_carry_bias(torch.full((num_layers, hidden_size), float(forget_bias)))
        elif chrono_tmax is not None:
            raise BadArgument(f"chrono initialisation needs gated cells (lstm, gru), not {kind}")

    def _set_carry_bias(self, bias: Tensor, input_bias: Tensor | None = None) -> None:
        """Carry-gate bias (L, H) into b_ih (b_hh's part zeroed); optionally the LSTM input gate's too."""
        H = self.hidden_size
        with torch.no_grad():
            for layer in range(self.num_layers):
                _, _, b_ih, b_hh = self.layer_weights(layer)
                b_ih[H : 2 * H] = bias[layer]
                b_hh[H : 2 * H] = 0.0
                if input_bias is not None:
                    b_ih[:H] = input_bias[layer]
                    b_hh[:H] = 0.0

    def _chrono_init(self, tmax: int) -> None:
        """Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?"):
        carry-gate biases b ~ log U(1, tmax − 1), one per unit, so the units' initial memory timescales
        1 / (1 − σ(b)) = 1 + e^b ~ U(2, tmax) spread over every delay up to tmax; the LSTM's input gate
        gets −b.
        Draws from torch's global generator (seeded by the trainer)."""
        if tmax < 3:
            raise BadArgument(f"chrono_tmax must be at least 3, got {tmax}")
        bias = torch.log(torch.empty(self.num_layers, self.hidden_size).uniform_(1.0, tmax - 1.0))
        self._set_carry_bias(bias, -bias if self.kind == "lstm" else None)

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATES[self.kind]

    @property
    def carry_gate(self) -> str | None:
        """The gate that carries the state from t-1 to t: lstm f (on c), gru z (on h); None for rnn."""
        return {"lstm": "f", "gru": "z"}.get(self.kind)

    # ---- fused fast path -------------------------------------------------------------------
    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """x (B, T, C), lengths (B,) or None (all full length) -> logits (B, K)."""
        return self.readout(self.final_state(x, lengths))

    def final_state(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> State:
        """State after each sequence's last valid step, via the fused kernel (packed if ragged)."""
        if lengths is not None and bool((lengths < x.shape[1]).any()):
            packed = pack_padded_sequence(x, lengths.detach().cpu(), batch_first=True, enforce_sorted=False)
            _, state = self.core(packed, state)
        else:
            _, state = self.core(x, state)
        return state

    def readout(self, state: State) -> Tensor:
        """Class logits from the top layer's hidden state: state -> (B, K)."""
        return self.head(self.top_hidden(state))

    # ---- the single step -------------------------------------------------------------------
    def layer_weights(self, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(w_ih, w_hh, b_ih, b_hh) of one layer, the fused module's own tensors."""
        c = self.core
        return (
            getattr(c, f"weight_ih_l{layer}"),
            getattr(c, f"weight_hh_l{layer}"),
            getattr(c, f"bias_ih_l{layer}"),
            getattr(c, f"bias_hh_l{layer}"),
        )

    def step(self, x_t: Tensor, state: State) -> State:
        """One time step through every layer: x_t (B, C), state -> new state (no dropout)."""
        return self.step_with_gates(x_t, state)[0]

    def step_with_gates(self, x_t: Tensor, state: State) -> tuple[State, list[dict[str, Tensor]]]:
        """One step, also returning each layer's gates: list over layers of {gate: (B, H)}."""
        layers, gates = [], []
        inp = x_t
        for layer, parts in enumerate(self.layer_states(state)):
            new, g = self._cell(layer, inp, parts)
            layers.append(new)
            gates.append(g)
            inp = new["h"]
        return self.make_state(layers), gates

    def step_layer(self, layer: int, inp: Tensor, parts: dict[str, Tensor]) -> dict[str, Tensor]:
        """One layer's step: its input inp (B, C_l) (x_t, or the new h of the layer below) and its state
        parts {"h" (, "c")}: (B, H) -> the new parts (the `LayeredStep` capability)."""
        return self._cell(layer, inp, parts)[0]

    def _cell(self, layer: int, inp: Tensor, parts: dict[str, Tensor]):
        if self.kind == "lstm":
            (h, c), g = CELLS["lstm"](inp, (parts["h"], parts["c"]), *self.layer_weights(layer))
            return {"h": h, "c": c}, g
        h, g = CELLS[self.kind](inp, parts["h"], *self.layer_weights(layer))
        return {"h": h}, g

    # ---- fast kernels (capabilities of protocol.py), all tested equal to `step` ------------------
    def stream_engine(self, capacity: int, chunk_method: str = "auto") -> RecurrentEngine:
        """The in-place many-stream kernel (`models.stream_kernel`) with `capacity` slots."""
        return RecurrentEngine(self, capacity, chunk_method)

    def unroll(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> State:
        """The stepped path over a whole batch: x (B, T, C) -> state after each sequence's last step.

        A sequence's state stops changing after its length (the stepped path stops at its end).
        """
        state = self.init_state(x.shape[0], x.device, x.dtype) if state is None else state
        for t in range(x.shape[1]):
            new = self.step(x[:, t], state)
            state = new if lengths is None else mask_state(new, state, t < lengths)
        return state


def mask_state(new: State, old: State, keep_new: Tensor) -> State:
    """Per sequence, take `new` where keep_new (B,) is True, else `old`."""
    m = keep_new.view(1, -1, 1).to(torch.bool)
    if isinstance(new, tuple):
        return tuple(torch.where(m, n, o) for n, o in zip(new, old))  # type: ignore[return-value]
    return torch.where(m, new, old)
