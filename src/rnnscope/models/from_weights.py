"""A PyTorch `nn.RNN` / `nn.LSTM` / `nn.GRU` and its `nn.Linear` readout rebuilt from a state dict.

    core, head = modules_from_state_dict(state, "lstm", prefix="rnn.", readout_prefix="fc.")

The state dict holds PyTorch's own key names (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`,
... per layer) under an optional prefix, as a user's module saves them (`model.state_dict()` of a module
with `self.rnn = nn.LSTM(...)` has `rnn.weight_ih_l0`). Input size, hidden size, layers and bias are read
off the shapes; the readout is `<readout_prefix>weight` (K, H) and, optionally, `<readout_prefix>bias`
(K,). Anything that does not fit raises `rnnscope.errors.BadFile` in one line that lists the keys found.

`read_weights(path)` reads such a file without running code: `.safetensors`, or `.pt` / `.pth` through
`torch.load(weights_only=True)`, which unpickles tensors and plain containers only and refuses any other
object before constructing it.

Key: C = input channels, H = hidden size, K = classes, L = layers, G = gates (rnn 1, gru 3, lstm 4).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from rnnscope.errors import BadArgument, BadFile

GATE_COUNT = {"rnn": 1, "gru": 3, "lstm": 4}
FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth")
_LAYER_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)")


def read_weights(path: str | Path) -> dict[str, Tensor]:
    """{key: tensor} from a `.safetensors`, `.pt` or `.pth` file; BadFile (one line) for anything else,
    including a `.pt` that holds objects beyond tensors (refused, never executed)."""
    path = Path(path)
    if not path.is_file():
        raise BadFile(f"weights file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise BadFile(
            f"weights file {path}: unknown format {suffix or '(no suffix)'}; "
            f"give a {', '.join(WEIGHT_SUFFIXES)} file"
        )
    if suffix == ".safetensors":
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise BadFile(f"weights file {path} is not a readable safetensors file ({first})") from None
    else:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            first = (str(err).splitlines() or ["refused"])[0]
            raise BadFile(
                f"weights file {path} holds objects beyond tensors, which rnnscope refuses to unpickle "
                f"(save model.state_dict() instead): {first[:160]}"
            ) from None
        except (RuntimeError, OSError, EOFError, ValueError, AttributeError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise BadFile(f"weights file {path} is not a readable PyTorch file ({first[:160]})") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
    ):
        raise BadFile(
            f"weights file {path} does not hold a state dict (a map of names to tensors); "
            "save model.state_dict()"
        )
    return state


def _found(state: dict) -> str:
    keys = sorted(state)
    shown = ", ".join(f"{k} {tuple(state[k].shape)}" for k in keys[:24])
    return f"keys found: {shown}" + (f" (+{len(keys) - 24} more)" if len(keys) > 24 else "")


def modules_from_state_dict(
    state: dict[str, Tensor],
    kind: str,
    *,
    prefix: str = "",
    readout_prefix: str | None = "fc.",
    nonlinearity: str = "tanh",
) -> tuple[nn.RNNBase, nn.Linear | None]:
    """(core, readout) with the state dict's tensors copied in (float32, batch_first=True, eval mode).

    kind: rnn | lstm | gru; prefix: what precedes the core's keys ("" or e.g. "rnn."); readout_prefix:
    what precedes `weight` / `bias` of the readout, or None for no readout; nonlinearity: tanh | relu
    (rnn only). BadArgument for a bad option, BadFile when the keys or shapes do not fit."""
    if kind not in GATE_COUNT:
        raise BadArgument(f"kind must be one of {', '.join(GATE_COUNT)}, got {kind!r}")
    if nonlinearity not in ("tanh", "relu"):
        raise BadArgument(f"nonlinearity must be tanh or relu, got {nonlinearity!r}")
    if nonlinearity == "relu" and kind != "rnn":
        raise BadArgument(f"nonlinearity relu is for kind rnn only, not {kind}")
    layers: dict[int, dict[str, Tensor]] = {}
    for key, value in state.items():
        if key.startswith(prefix):
            m = _LAYER_KEY.fullmatch(key[len(prefix) :])
            if m:
                layers.setdefault(int(m.group(2)), {})[m.group(1)] = value
    if not layers:
        raise BadFile(
            f"no {kind} weights under prefix {prefix!r} (expected {prefix}weight_ih_l0, "
            f"{prefix}weight_hh_l0, ...; give --prefix); {_found(state)}"
        )
    n_layers = max(layers) + 1
    sizes = _check_layers(layers, n_layers, kind, prefix, state)
    c, h, bias = sizes
    kw = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    core = FUSED[kind](c, h, n_layers, bias=bias, batch_first=True, **kw)
    with torch.no_grad():
        for layer, parts in layers.items():
            for name, value in parts.items():
                getattr(core, f"{name}_l{layer}").copy_(value.float())
    head = None if readout_prefix is None else _readout(state, readout_prefix, h)
    return core.eval(), head


def _check_layers(layers, n_layers, kind, prefix, state) -> tuple[int, int, bool]:
    """(C, H, bias) after checking every layer's four tensors (two without bias) and their shapes."""
    g = GATE_COUNT[kind]
    first = layers.get(0, {})
    if "weight_hh_l0" not in {f"{k}_l0" for k in first} or first["weight_hh"].ndim != 2:
        raise BadFile(f"{prefix}weight_hh_l0 is missing or not a matrix; {_found(state)}")
    gh, h = first["weight_hh"].shape
    if gh != g * h:
        raise BadFile(
            f"{prefix}weight_hh_l0 has shape {tuple(first['weight_hh'].shape)}, which is not ({g} x H, H) "
            f"for a {kind} (wrong --kind?); {_found(state)}"
        )
    bias = "bias_ih" in first
    if "weight_ih" not in first or first["weight_ih"].ndim != 2:
        raise BadFile(f"{prefix}weight_ih_l0 is missing or not a matrix; {_found(state)}")
    c = int(first["weight_ih"].shape[1])
    for layer in range(n_layers):
        parts = layers.get(layer, {})
        want = {
            "weight_ih": (g * h, c if layer == 0 else h),
            "weight_hh": (g * h, h),
            **({"bias_ih": (g * h,), "bias_hh": (g * h,)} if bias else {}),
        }
        if set(parts) != set(want):
            missing = sorted(f"{prefix}{k}_l{layer}" for k in set(want) - set(parts))
            extra = sorted(f"{prefix}{k}_l{layer}" for k in set(parts) - set(want))
            what = [f"missing {', '.join(missing)}"] if missing else []
            what += [f"unexpected {', '.join(extra)}"] if extra else []
            raise BadFile(f"layer {layer} of the {kind} does not fit: {'; '.join(what)}; {_found(state)}")
        for name, shape in want.items():
            if tuple(parts[name].shape) != shape:
                raise BadFile(
                    f"{prefix}{name}_l{layer} has shape {tuple(parts[name].shape)}, expected {shape} "
                    f"(a {kind} of input size {c}, hidden size {h}); {_found(state)}"
                )
    return c, int(h), bias


def _readout(state: dict, readout_prefix: str, hidden: int) -> nn.Linear:
    w, b = state.get(f"{readout_prefix}weight"), state.get(f"{readout_prefix}bias")
    if w is None:
        raise BadFile(
            f"no readout {readout_prefix}weight (give --readout-prefix, e.g. fc. or head.); {_found(state)}"
        )
    if w.ndim != 2:
        raise BadFile(f"readout {readout_prefix}weight has shape {tuple(w.shape)}, expected (K, H)")
    if w.shape[1] != hidden:
        raise BadFile(
            f"the readout {readout_prefix}weight reads {w.shape[1]} features but the top layer's hidden "
            f"size is {hidden}"
        )
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise BadFile(f"readout {readout_prefix}bias has shape {tuple(b.shape)}, expected ({w.shape[0]},)")
    head = nn.Linear(hidden, int(w.shape[0]), bias=b is not None)
    with torch.no_grad():
        head.weight.copy_(w.float())
        if b is not None:
            head.bias.copy_(b.float())
    return head.eval()
