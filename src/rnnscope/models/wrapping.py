"""`rnnscope.wrap`: a user's `nn.RNN` / `nn.LSTM` / `nn.GRU`, or own cell(s), as a protocol model.

    model = rnnscope.wrap(my_lstm, my_linear)          # WrappedKernels: every fast path
    model = rnnscope.wrap(my_cell, hidden_size=64)     # CellStack: the generic paths
    model = rnnscope.wrap([cell_1, cell_2], readout)   # a stack: layer l reads layer l - 1's h

Validation happens here (the classes only store); bad input raises `TypeError` (wrong kind of object)
or `rnnscope.errors.BadArgument` (a ValueError: unusable sizes or options), naming the problem.
Nothing of the user's is copied or changed. docs/own-models.md has worked examples.

Key: B = batch, C = input channels, H = hidden size, K = classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from rnnscope.errors import BadArgument
from rnnscope.models.custom import CellStack
from rnnscope.models.protocol import eval_mode
from rnnscope.models.wrapped import KERNEL_KINDS, KIND_OF_MODE, WrappedKernels, WrappedRecurrent

Readout = Callable[[Tensor], Tensor]  # top-layer h (B, H) -> logits (B, K)
EXPECTED = (
    "an nn.RNN, nn.LSTM or nn.GRU, or a cell (an nn.Module stepping (x_t, h) -> h or "
    "(x_t, (h, c)) -> (h, c)), or a list of cells"
)


def wrap(
    core, readout=None, *, input_size: int | None = None, hidden_size: int | Sequence[int] | None = None
) -> WrappedRecurrent | CellStack:
    """A protocol model over the user's module(s), sharing their tensors.

    core: an `nn.RNN` (tanh or relu), `nn.LSTM` or `nn.GRU` (any layers, bias or not, `batch_first`
    either way; not bidirectional, no `proj_size`), or a cell, or a list of cells (see models/custom.py).
    readout: an `nn.Linear` (H -> K) or any callable (B, H) -> (B, K) on the top layer's h, or None
    (then `n_classes` is None and `readout()` raises `NoReadout`).
    input_size / hidden_size: for cells without `input_size` / `hidden_size` attributes (hidden_size: one
    int for every cell, or one per cell); refused for fused modules, which carry their own sizes.
    """
    if isinstance(core, nn.RNNBase):
        _check_core(core)
        if input_size is not None or hidden_size is not None:
            raise BadArgument(
                f"input_size= / hidden_size= are for cells; the {type(core).__name__} carries "
                f"its own sizes ({core.input_size}, {core.hidden_size})"
            )
        head, k = resolve_readout(readout, core.hidden_size, core.weight_hh_l0)
        cls = WrappedKernels if KIND_OF_MODE[core.mode] in KERNEL_KINDS else WrappedRecurrent
        return cls(core, head, k)
    cells = list(core) if isinstance(core, (list, tuple, nn.ModuleList)) else [core]
    if not cells:
        raise BadArgument(f"wrap needs {EXPECTED}; got an empty list")
    for cell in cells:
        if not isinstance(cell, nn.Module) or isinstance(cell, (nn.RNNBase, nn.Linear)):
            raise TypeError(f"wrap needs {EXPECTED}; got {type(cell).__name__}")
    sizes = _cell_sizes(cells, input_size, hidden_size)
    like = _param_like(cells)
    forms = tuple(_cell_form(cell, c, h, like) for cell, (c, h) in zip(cells, sizes))
    head, k = resolve_readout(readout, sizes[-1][1], like)
    return CellStack(cells, forms, sizes[0][0], tuple(h for _, h in sizes), head, k)


def _check_core(core: nn.RNNBase) -> None:
    if core.mode not in KIND_OF_MODE:
        raise TypeError(f"wrap needs {EXPECTED}; got {type(core).__name__} (mode {core.mode})")
    if core.bidirectional:
        raise BadArgument(
            "wrap cannot take a bidirectional module: its backward direction reads the "
            "future, so it has no causal step (wrap the forward direction alone)"
        )
    if getattr(core, "proj_size", 0):
        raise BadArgument(
            f"wrap cannot take an LSTM with proj_size={core.proj_size}: its h and c differ in "
            "size, which the state layout (docs/models.md) does not describe"
        )


def resolve_readout(readout, hidden: int, like: Tensor) -> tuple[Readout | None, int | None]:
    """(the readout, K) after checking it reads an h of size `hidden`; (None, None) without one. A
    callable that is not an `nn.Linear` is called once on zeros (1, H) (no grad, eval mode) to find K."""
    if readout is None:
        return None, None
    if isinstance(readout, nn.Linear):
        if readout.in_features != hidden:
            raise BadArgument(
                f"the readout nn.Linear reads {readout.in_features} features but the top "
                f"layer's hidden size is {hidden}"
            )
        return readout, readout.out_features
    if not callable(readout):
        raise TypeError(
            f"readout must be an nn.Linear, a callable (B, H) -> (B, K) or None; got {type(readout).__name__}"
        )
    with torch.no_grad(), eval_mode(readout):
        try:
            out = readout(like.new_zeros(1, hidden))
        except (RuntimeError, ValueError, TypeError) as e:
            raise BadArgument(
                f"the readout cannot read a hidden state of size {hidden} (B, {hidden}): {e}"
            ) from e
    if not isinstance(out, Tensor) or out.ndim != 2 or out.shape[0] != 1:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise BadArgument(
            f"the readout must map (B, {hidden}) to logits (B, K); on (1, {hidden}) it gave {got}"
        )
    return readout, int(out.shape[1])


def _cell_sizes(cells: list[nn.Module], input_size, hidden_size) -> list[tuple[int, int]]:
    """(C_l, H_l) per cell: attributes where the cell has them, else the keywords; a keyword that
    contradicts an attribute is refused."""
    if hidden_size is None or isinstance(hidden_size, int):
        hiddens = [hidden_size] * len(cells)
    else:
        hiddens = list(hidden_size)
        if len(hiddens) != len(cells):
            raise BadArgument(f"hidden_size gives {len(hiddens)} sizes for {len(cells)} cells")
    sizes, inp = [], input_size
    for layer, (cell, given) in enumerate(zip(cells, hiddens)):
        c = _size(cell, "input_size", inp, layer)
        h = _size(cell, "hidden_size", given, layer)
        sizes.append((c, h))
        inp = h
    return sizes


def _size(cell: nn.Module, name: str, given, layer: int) -> int:
    own = getattr(cell, name, None)
    own = own if isinstance(own, int) and not isinstance(own, bool) else None
    if own is not None and given is not None and own != given:
        what = "the layer below's hidden size" if name == "input_size" and layer else f"{name}="
        raise BadArgument(f"cell {layer} ({type(cell).__name__}) has {name} {own}, but {what} is {given}")
    size = own if own is not None else given
    if size is None:
        raise BadArgument(
            f"cell {layer} ({type(cell).__name__}) has no {name} attribute: pass wrap(..., {name}=...)"
        )
    if size < 1:
        raise BadArgument(f"{name} of cell {layer} must be positive, got {size}")
    return int(size)


def _param_like(cells: list[nn.Module]) -> Tensor:
    for cell in cells:
        for p in cell.parameters():
            if p.is_floating_point():
                return p
    return torch.zeros(())


def _cell_form(cell: nn.Module, c: int, h: int, like: Tensor) -> str:
    """ "h" or "hc": which step the cell takes, found by one call on zeros (B = 2, no grad, eval mode)."""
    x, z = like.new_zeros(2, c), like.new_zeros(2, h)
    with torch.no_grad(), eval_mode(cell):
        first = _try(cell, x, z)
        if isinstance(first, Tensor) and first.shape == z.shape:
            return "h"
        second = _try(cell, x, (z, z))
    if (
        isinstance(second, tuple)
        and len(second) == 2
        and all(isinstance(v, Tensor) and v.shape == z.shape for v in second)
    ):
        return "hc"
    err = next((r for r in (first, second) if isinstance(r, Exception)), None)
    raise TypeError(
        f"{type(cell).__name__} is not a cell of input size {c} and hidden size {h}: wrap needs "
        f"{EXPECTED}" + (f" ({type(err).__name__}: {err})" if err is not None else "")
    )


def _try(cell, x, state):
    try:
        return cell(x, state)
    except Exception as e:
        return e
