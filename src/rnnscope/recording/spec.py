"""What to record, said declaratively and validated when built (like diffrax's `SaveAt`).

    RecordSpec(quantities=("hidden", "gates"), layers=(0,), steps=tuple(range(0, 60, 2)), dtype="float16")

Quantities (each applies to the models listed; `None` records everything the model has). Which a
model has is read off the model protocol (docs/models.md): hidden for a recurrent state, cell where the
state has a "c" part, gates with `step_with_gates` and gate names, residual and attention with
`ResidualStreams`, probs and predictions with a readout:

    inputs       (S, T', C)      every model   the input at each kept step
    hidden       (S, T', H)      rnn/lstm/gru  each kept layer's h_t            -> hidden.l<l>
    cell         (S, T', H)      lstm          each kept layer's c_t            -> cell.l<l>
    gates        (S, T', H)      lstm, gru     i/f/g/o or r/z/n per kept layer  -> gate.<g>.l<l>
    residual     (S, T', D)      transformer   the residual stream after block l -> residual.l<l>
    attention    (S, N, T', T)   transformer   block l's attention weights (queries at kept steps)
    probs        (S, T', K)      every model   softmax(readout(state_t)): the running belief
    labels       (S,)            every model   the class of each sequence (needs labels)
    predictions  (S,)            every model   argmax of the probabilities at each sequence's last step

`lengths` (S,) and `index` (S,) (the position of each sequence in the data) are always recorded: they
are needed to read the rest. Key: S = sequences, T = padded length, T' = kept steps, C = channels,
H = hidden, D = model width, N = heads, K = classes. Steps at or past a sequence's length are NaN.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from rnnscope.errors import BadArgument

QUANTITIES = ("inputs", "hidden", "cell", "gates", "residual", "attention", "probs", "labels", "predictions")
ALWAYS = ("lengths", "index")  # recorded whatever the spec says
DTYPES = ("float32", "float16")
_KINDS = {
    "hidden": ("rnn", "lstm", "gru"),
    "cell": ("lstm",),
    "gates": ("lstm", "gru"),
    "residual": ("transformer",),
    "attention": ("transformer",),
}
_ALL_KINDS = ("rnn", "lstm", "gru", "transformer")
_NEEDS = {  # what a model without the built-in kinds needs for each quantity (in error messages)
    "hidden": "a recurrent state",
    "cell": "a state part 'c'",
    "gates": "step_with_gates and gate names",
    "residual": "residual streams",
    "attention": "residual streams",
    "probs": "a readout",
    "predictions": "a readout",
}


def available_quantities(model) -> tuple[str, ...]:
    """The quantities `model` can be recorded with, in QUANTITIES order, read off its protocol."""
    # imported here: this module is read (for --help) before torch is
    from rnnscope.models.protocol import (  # noqa: PLC0415
        HasGates,
        ResidualStreams,
        has_readout,
        is_recurrent,
        supports,
    )

    have = {"inputs", "labels"}
    if is_recurrent(model):
        have.add("hidden")
        if "c" in model.state_names:
            have.add("cell")
        if model.gate_names and supports(model, HasGates):
            have.add("gates")
    elif supports(model, ResidualStreams):
        have |= {"residual", "attention"}
    else:
        raise TypeError(
            f"{type(model).__name__} is neither a recurrent protocol model nor has residual "
            "streams (docs/models.md)"
        )
    if has_readout(model):
        have |= {"probs", "predictions"}
    return tuple(q for q in QUANTITIES if q in have)


def _int_tuple(value, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise BadArgument(f"{name} must be a sequence of integers or None, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise BadArgument(f"{name} must hold integers, got {v!r}")
        out.append(int(v))
    return tuple(out)


@dataclass(frozen=True)
class RecordSpec:
    """Which quantities, layers, sequences and steps to record, in which dtype, in chunks of how many
    sequences. Validated at construction; `check(model, n_sequences, seq_len)` validates against a model."""

    quantities: tuple[str, ...] | None = None  # names from QUANTITIES; None: all the model has
    layers: tuple[int, ...] | None = None  # layer indices (0 = first); None: every layer
    sequences: tuple[int, ...] | None = None  # indices into the data, in order; None: all
    max_sequences: int | None = None  # keep at most the first N of `sequences` (None: no limit)
    steps: tuple[int, ...] | None = None  # strictly increasing step indices to keep; None: all
    dtype: str = "float32"  # float32 | float16: storage type of the float arrays
    chunk_size: int = 256  # sequences per chunk on disk (and per batch through the model)

    def __post_init__(self) -> None:
        q = self.quantities
        if q is not None:
            if isinstance(q, str):
                q = (q,)
            q = tuple(q)
            if not q:
                raise BadArgument("Empty quantities -- nothing will be recorded.")
            for name in q:
                if name not in QUANTITIES:
                    hint = " (always recorded)" if name in ALWAYS else ""
                    raise BadArgument(f"unknown quantity {name!r}{hint}; choose from {', '.join(QUANTITIES)}")
            if len(set(q)) != len(q):
                raise BadArgument(f"quantities must not repeat, got {q}")
            object.__setattr__(self, "quantities", q)
        layers = _int_tuple(self.layers, "layers")
        if layers is not None:
            if not layers:
                raise BadArgument("Empty layers -- no layer will be recorded (use None for every layer).")
            if min(layers) < 0:
                raise BadArgument(f"layers must be non-negative, got {layers}")
            if len(set(layers)) != len(layers):
                raise BadArgument(f"layers must not repeat, got {layers}")
            layers = tuple(sorted(layers))
        object.__setattr__(self, "layers", layers)
        seqs = _int_tuple(self.sequences, "sequences")
        if seqs is not None:
            if not seqs:
                raise BadArgument("Empty sequences -- nothing will be recorded.")
            if min(seqs) < 0:
                raise BadArgument(f"sequences must be non-negative indices, got a minimum of {min(seqs)}")
            if len(set(seqs)) != len(seqs):
                raise BadArgument("sequences must not repeat")
        object.__setattr__(self, "sequences", seqs)
        if self.max_sequences is not None and not (
            isinstance(self.max_sequences, int) and self.max_sequences >= 1
        ):
            raise BadArgument(f"max_sequences must be a positive integer or None, got {self.max_sequences!r}")
        steps = _int_tuple(self.steps, "steps")
        if steps is not None:
            if not steps:
                raise BadArgument("Empty steps -- nothing will be saved.")
            if steps[0] < 0:
                raise BadArgument(f"steps must be non-negative, got {steps[0]}")
            if any(b <= a for a, b in itertools.pairwise(steps)):
                raise BadArgument("steps must be strictly increasing")
        object.__setattr__(self, "steps", steps)
        if self.dtype not in DTYPES:
            raise BadArgument(f"dtype must be float32 or float16, got {self.dtype!r}")
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise BadArgument(f"chunk_size must be a positive integer, got {self.chunk_size!r}")

    # ---- resolution against a model and data -------------------------------------------------
    def check(self, model, n_sequences: int, seq_len: int) -> Plan:
        """Validate against a model and data of n_sequences x seq_len; return the resolved Plan."""
        n_layers = model.num_layers
        have = available_quantities(model)
        if self.quantities is None:
            quantities = have
        else:
            quantities = self.quantities
            for q in quantities:
                if q not in have:
                    kinds = _KINDS.get(q, _ALL_KINDS)
                    alt = {
                        "hidden": " (record 'residual' for the transformer)",
                        "residual": " (record 'hidden' for recurrent models)",
                    }.get(q, "")
                    raise BadArgument(
                        f"quantity {q!r} exists only for {'/'.join(kinds)} models; this model is "
                        f"{getattr(model, 'kind', type(model).__name__)}{alt}: it needs "
                        f"{_NEEDS.get(q, 'a model')}"
                    )
        layers = tuple(range(n_layers)) if self.layers is None else self.layers
        if layers[-1] >= n_layers:
            raise BadArgument(
                f"layers must be < {n_layers} (the model has {n_layers} layers), got {layers[-1]}"
            )
        if n_sequences < 1:
            raise BadArgument("the data holds no sequences -- nothing will be recorded")
        if self.sequences is None:
            index = np.arange(n_sequences)
        else:
            index = np.asarray(self.sequences, dtype=np.int64)
            if index.max() >= n_sequences:
                raise BadArgument(
                    f"sequences must be < {n_sequences} (the data's size), got {int(index.max())}"
                )
        if self.max_sequences is not None:
            index = index[: self.max_sequences]
        steps = np.arange(seq_len) if self.steps is None else np.asarray(self.steps, dtype=np.int64)
        if steps[-1] >= seq_len:
            raise BadArgument(f"steps must be < {seq_len} (the sequence length), got {int(steps[-1])}")
        return Plan(
            quantities,
            layers,
            index.astype(np.int64),
            steps.astype(np.int64),
            self.dtype,
            self.chunk_size,
            tuple(getattr(model, "gate_names", ())),
        )


@dataclass(frozen=True)
class Plan:
    """A RecordSpec resolved against one model and data set (what the recorder executes).

    index: (S,) sequence indices into the data; steps: (T',) kept steps."""

    quantities: tuple[str, ...]
    layers: tuple[int, ...]
    index: np.ndarray
    steps: np.ndarray
    dtype: str
    chunk_size: int
    gate_names: tuple[str, ...]

    def array_names(self) -> list[str]:
        """The names of the arrays a recording of this plan holds, in a fixed order."""
        names = []
        for q in self.quantities:
            if q == "gates":
                names += [f"gate.{g}.l{layer}" for layer in self.layers for g in self.gate_names]
            elif q in ("hidden", "cell", "residual", "attention"):
                names += [f"{q}.l{layer}" for layer in self.layers]
            else:
                names.append(q)
        return names + list(ALWAYS)
