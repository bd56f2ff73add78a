"""A user's own cell, or a stack of them, as a protocol model (`rnnscope.wrap(cell)`).

A cell is an `nn.Module` whose forward is one time step, either
  `(x_t (B, C), h (B, H)) -> h (B, H)`               an "h" cell (nn.RNNCell, nn.GRUCell), or
  `(x_t (B, C), (h, c) each (B, H)) -> (h, c)`       an "hc" cell (nn.LSTMCell).
In a stack, layer l reads layer l - 1's new h. `CellStack` calls the user's modules (never copies or
changes them: no weight, `requires_grad`, training flag or hook) and offers the required protocol plus
`LayeredStep`, so every analysis runs through the generic paths with *total* per-layer gradients.

State: a list over layers of {"h": (B, H_l)} dicts, or {"h", "c"} when any cell of the stack is an hc
cell; then an h cell's layer carries c = 0 at every step, a constant: its rows and columns of the step
Jacobian are 0, its grad_c is 0, its recorded cell array is 0.

Key: B = batch, C = input channels, H_l = hidden size of layer l, L = layers, K = classes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnscope.models.protocol import NoReadout

State = list  # list over layers of {part: (B, H_l)}


class CellStack(nn.Module):
    """Cells stacked bottom-up with an optional readout of the top h. Build it with `rnnscope.wrap`.

    cells: the user's modules; forms: "h" or "hc" per cell (found by `wrap`); input_size: C;
    layer_sizes: H_l per layer; head: a callable (B, H_top) -> (B, K), or None; n_classes: K or None.
    forward(x (B, T, C), lengths (B,) | None) -> logits (B, K) at each sequence's last step.
    """

    gate_names: tuple[str, ...] = ()
    kind = "custom"

    def __init__(
        self,
        cells: list[nn.Module],
        forms: tuple[str, ...],
        input_size: int,
        layer_sizes: tuple[int, ...],
        head: Callable[[Tensor], Tensor] | None,
        n_classes: int | None,
    ):
        super().__init__()
        self.cells = nn.ModuleList(cells)  # holds the user's modules themselves (no copy)
        self.forms = forms
        self.head = head
        self.n_classes = n_classes
        self.input_size = input_size
        self.layer_sizes = layer_sizes
        self.num_layers = len(cells)
        self.state_names = ("h", "c") if "hc" in forms else ("h",)

    def _like(self, device=None, dtype=None) -> tuple[torch.device, torch.dtype]:
        for p in self.parameters():
            if p.is_floating_point():
                return device or p.device, dtype or p.dtype
        return device or torch.device("cpu"), dtype or torch.get_default_dtype()

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        """Zeros: per layer {"h" (, "c")} each (B, H_l)."""
        device, dtype = self._like(device, dtype)
        return [
            {name: torch.zeros(batch, size, device=device, dtype=dtype) for name in self.state_names}
            for size in self.layer_sizes
        ]

    def layer_states(self, state: State) -> list[dict[str, Tensor]]:
        return state

    def make_state(self, layers: list[dict[str, Tensor]]) -> State:
        return [dict(parts) for parts in layers]

    def step_layer(self, layer: int, inp: Tensor, parts: dict[str, Tensor]) -> dict[str, Tensor]:
        """One cell's step (`LayeredStep`): inp (B, C_l), parts {"h" (, "c")} (B, H_l) -> new parts."""
        cell = self.cells[layer]
        if self.forms[layer] == "hc":
            h, c = cell(inp, (parts["h"], parts["c"]))
            return {"h": h, "c": c}
        h = cell(inp, parts["h"])
        return {"h": h, "c": torch.zeros_like(h)} if "c" in parts else {"h": h}

    def step(self, x_t: Tensor, state: State) -> State:
        """One time step through every cell: x_t (B, C), state -> new state (the old one unchanged)."""
        layers, inp = [], x_t
        for layer, parts in enumerate(state):
            new = self.step_layer(layer, inp, parts)
            layers.append(new)
            inp = new["h"]
        return layers

    def readout(self, state: State) -> Tensor:
        """Class logits (B, K) from the top cell's h; `NoReadout` without a readout."""
        if self.head is None:
            raise NoReadout(
                "this wrapped cell has no readout (wrap(cell, readout=...) gives it one); "
                "class scores, predictions, gradients and streaming need it"
            )
        return self.head(state[-1]["h"])

    def final_state(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> State:
        """Stepping over x (B, T, C); each sequence's state stops at its length (B,)."""
        state = self.init_state(x.shape[0], x.device, x.dtype) if state is None else state
        for t in range(x.shape[1]):
            new = self.step(x[:, t], state)
            if lengths is not None:
                keep = (t < lengths).to(x.device)[:, None]
                new = [
                    {k: torch.where(keep, v, old[k]) for k, v in parts.items()}
                    for parts, old in zip(new, state)
                ]
            state = new
        return state

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.readout(self.final_state(x, lengths))
