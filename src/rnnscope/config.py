"""Frozen configuration dataclasses: what to learn from, which model, how to train.

Each is JSON-round-trippable (`asdict` / `from_dict`), so `config.json` in a run directory rebuilds
the data and the model exactly. Invalid values raise `rnnscope.errors.BadArgument` (a ValueError) when
the config is built; model, task and data set names are matched ignoring case and stored canonical.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from rnnscope import names
from rnnscope.errors import BadArgument

DEFAULT_TASK = "mixture"
MODEL_KINDS = names.MODEL_KINDS  # "rnn" | "lstm" | "gru" | "transformer"
DOWNSAMPLE_BY = ("mean", "every", "frames")  # shortening by k: block means | every k-th step | each block
#                                              of k steps as one step of k x C values (data.prepare)
# downsample "auto"'s step limit for a run whose config.json does not record one: it was written when every
# auto rule shortened to at most 100 steps
UNRECORDED_AUTO_MAX_STEPS = 100
# training-batch augmentations (training.augment), joined by "+"
AUGMENTATIONS = ("jitter", "scale", "magwarp", "mixup")
READOUTS = ("last", "mean", "max", "attention")  # how a recurrent classifier reads its top layer out
GATED_KINDS = ("lstm", "gru")  # the kinds with carry gates (forget_bias, chrono_tmax apply to these)
ANALYSIS_MAX_SEQUENCES = 512  # sequences `rnnscope analyze` uses by default ...
ANALYSIS_VALUE_BUDGET = (
    1 << 24
)  # ... unless they exceed this many activity values (seq x steps x units) per layer


@dataclass(frozen=True)
class DataConfig:
    task: str | None = DEFAULT_TASK  # built-in task name (None when dataset or path is given)
    task_params: dict = field(default_factory=dict)  # overrides of the task's default parameters
    n_train: int = 1500  # training sequences drawn from the task (validation is carved from these)
    n_test: int = 1000  # test sequences drawn from the task
    dataset: str | None = None  # built-in UCR/UEA data set name (needs the `ucr` extra)
    path: str | None = None  # the user's own files: a directory of <Name>_TRAIN/_TEST files or an .npz
    normalize: str = "channel"  # real data only: "none" | "series" | "channel" z-normalisation
    truncate: int | None = None  # real data only: keep the first N steps (off by default)
    label_column: int | str | None = None  # .csv files only: the label's column (0-based or header name)
    downsample: int | str | None = None  # real data only: shorten by k, or "auto" (at most
    #                                      data.prepare.AUTO_MAX_STEPS[downsample_by] steps); None: "auto"
    #                                      for real data
    downsample_by: str | None = None  # real data only: "frames" (each block of k steps as one step of
    #                                   k x C values) | "mean" of each block | "every" k-th step kept; None:
    #                                   "frames" for a new real-data run (a config.json without
    #                                   it, written before block means, rebuilds with "every")
    downsample_max_steps: int | None = None  # downsample "auto": the step limit; None: the limit of its
    #                                          downsample_by (data.prepare.AUTO_MAX_STEPS), which a new
    #                                          real-data run records here (a config.json without it,
    #                                          written before frames had a limit of their own: 100)

    def __post_init__(self) -> None:
        given = [k for k in ("task", "dataset", "path") if getattr(self, k) is not None]
        if len(given) != 1:
            raise BadArgument(f"give exactly one of task, dataset, path (got {', '.join(given) or 'none'})")
        if self.task is not None:  # the registries check the names when the data is made
            object.__setattr__(self, "task", names.spelled(self.task, names.TASK_NAMES))
        if self.dataset is not None:
            object.__setattr__(self, "dataset", names.spelled(self.dataset, names.DATASET_NAMES))
        for name in ("n_train", "n_test"):
            if getattr(self, name) < 1:
                raise BadArgument(f"{name} must be positive, got {getattr(self, name)}")
        if self.label_column is not None and self.path is None:
            raise BadArgument("a label column applies to your own .csv files (--data) only")
        if self.downsample_by is not None:
            if self.downsample_by not in DOWNSAMPLE_BY:
                raise BadArgument(
                    f"downsample_by must be one of {', '.join(DOWNSAMPLE_BY)}, got {self.downsample_by!r}"
                )
            if self.task is not None:
                raise BadArgument(
                    "downsample_by applies to real data only (a built-in task is not downsampled)"
                )
        m = self.downsample_max_steps
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise BadArgument(f"downsample_max_steps must be a positive integer, got {m!r}")
        if isinstance(self.downsample, str):
            if self.downsample.lower() != "auto":
                raise BadArgument(f"downsample must be a positive integer or auto, got {self.downsample!r}")
            object.__setattr__(self, "downsample", "auto")
            if self.task is not None:
                raise BadArgument(
                    "downsample auto applies to real data only: a built-in task's length is set by its "
                    "parameters (e.g. --task-param length=N)"
                )


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "rnn"  # "rnn" (tanh Elman) | "lstm" | "gru" | "transformer"
    hidden: int = 64  # hidden size per layer (d_model for the transformer)
    layers: int = 2  # number of stacked layers (blocks for the transformer)
    dropout: float = 0.0  # dropout between layers (inside blocks for the transformer)
    forget_bias: float | None = (
        1.0  # lstm/gru: initial carry-gate bias (LSTM forget gate, GRU update gate z; Keras'
    )
    #                           unit_forget_bias for the LSTM); None keeps PyTorch's initialisation
    chrono_tmax: int | None = (
        None  # lstm/gru: chrono initialisation (Tallec & Ollivier 2018) for dependencies up
    )
    #                           to this many steps; replaces forget_bias when set (docs/training.md)
    readout: str = "last"  # rnn/lstm/gru: "last" step's h | "mean" | "max" | "attention" pooling of the top
    #                        layer's h over each sequence's valid steps (docs/models.md, "Readouts")
    heads: int = 4  # transformer only: attention heads
    ff_mult: int = 2  # transformer only: MLP width as a multiple of d_model

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", names.model_kind(self.kind))
        if self.readout not in READOUTS:
            raise BadArgument(f"unknown readout {self.readout!r}; choose from {', '.join(READOUTS)}")
        if self.readout != "last" and self.kind == "transformer":
            raise BadArgument(
                f"readout {self.readout} applies to rnn, lstm and gru; the transformer reads out last"
            )
        for name in ("hidden", "layers", "heads", "ff_mult"):
            if getattr(self, name) < 1:
                raise BadArgument(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise BadArgument(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.chrono_tmax is not None:
            if self.kind not in GATED_KINDS:
                raise BadArgument(f"chrono initialisation needs gated cells (lstm, gru), not {self.kind}")
            if self.chrono_tmax < 3:
                raise BadArgument(f"chrono_tmax must be at least 3, got {self.chrono_tmax}")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int | None = None  # maximum number of epochs (None: by the recipe, training/recipe.py:
    #                            60 for built-in tasks; real data: about 1200 optimizer updates)
    batch_size: int | None = None  # sequences per optimisation step (None: 32 for tasks; real data: ~N/8)
    lr: float = 2e-3  # Adam learning rate (peak of the cosine schedule)
    weight_decay: float = 0.0  # Adam (L2) weight decay
    schedule: str = "cosine"  # learning-rate schedule over `epochs`: "cosine" (to 0) | "constant"
    clip: float | None = 1.0  # max global gradient norm (None: no clipping)
    patience: int | None = None  # early stopping: epochs without val-accuracy gain; 0: off (None: 10 for
    #                              built-in tasks, off for real data, whose recipe is an update budget)
    min_epochs: int = 30  # ... never before this many epochs (the demo's plateau at chance lasts <= 18)
    val_fraction: float | None = None  # share of the training split held out for validation (seeded;
    #                                    None: 0.1 for tasks; real data: 0.1 only if classes average >= 20)
    warmup: int | None = None  # optimizer updates of linear learning-rate warm-up; > 0 steps the schedule
    #                            per update (None: 0 for tasks; real data: 5 % of the updates)
    seed: int = 0  # seeds data, initialisation and data order
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    augment: str | None = None  # training batches: "none" or jitter, scale, magwarp, mixup joined by "+"
    #                             (training.augment; None: "none" for tasks; real data: the recipe's)

    def __post_init__(self) -> None:
        if self.augment is not None:
            object.__setattr__(self, "augment", parse_augment(self.augment))
        for name in ("epochs", "batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise BadArgument(f"{name} must be positive, got {getattr(self, name)}")
        if not self.lr > 0:
            raise BadArgument(f"lr must be positive, got {self.lr}")
        if self.weight_decay < 0:
            raise BadArgument(f"weight_decay must be non-negative, got {self.weight_decay}")
        if self.schedule not in ("cosine", "constant"):
            raise BadArgument(f"schedule must be cosine or constant, got {self.schedule!r}")
        if self.clip is not None and not self.clip > 0:
            raise BadArgument(f"clip must be positive, got {self.clip}")
        if self.min_epochs < 0:
            raise BadArgument(f"min_epochs must be non-negative, got {self.min_epochs}")
        if self.patience is not None and self.patience < 0:
            raise BadArgument(f"patience must be non-negative (0: off), got {self.patience}")
        if self.warmup is not None and self.warmup < 0:
            raise BadArgument(f"warmup must be non-negative, got {self.warmup}")
        if self.val_fraction is not None and not 0.0 <= self.val_fraction < 1.0:
            raise BadArgument(f"val_fraction must lie in [0, 1), got {self.val_fraction}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise BadArgument(f"device must be auto, cpu or cuda, got {self.device!r}")


def parse_augment(spec: str) -> str:
    """ "none" or names from AUGMENTATIONS joined by "+" (any order, any case) -> the canonical spelling.

    Raises BadArgument for an unknown or repeated name."""
    text = str(spec).strip().lower()
    if text in ("none", ""):
        return "none"
    names = [s.strip() for s in text.split("+")]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown or len(set(names)) != len(names):
        raise BadArgument(
            f"augment must be none or {', '.join(AUGMENTATIONS)} joined by '+' "
            f"(e.g. jitter+scale+magwarp+mixup), got {spec!r}"
        )
    return "+".join(n for n in AUGMENTATIONS if n in names)


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(cls, d: dict):
    """Rebuild a config, ignoring unknown keys (forward compatibility of config.json)."""
    names = {f.name for f in dataclasses.fields(cls)}
    if cls is TrainConfig and "augment" not in d:  # a config.json written before augmentation existed
        d = {**d, "augment": "none"}
    if cls is DataConfig and d.get("downsample") == "auto" and "downsample_max_steps" not in d:
        d = {**d, "downsample_max_steps": UNRECORDED_AUTO_MAX_STEPS}
    return cls(**{k: v for k, v in d.items() if k in names})
