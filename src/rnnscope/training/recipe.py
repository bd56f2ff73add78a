"""The default training recipe: what a TrainConfig left unset becomes, from the size of the data.

Built-in tasks keep their fixed defaults (`TASK_DEFAULTS`, the reference result). Real data (UCR/UEA or the
user's files) gets a recipe sized to its training set (docs/training.md says how it was chosen, on the
training folds only):

- batch size: the power of two nearest N / 8, clamped to [8, 64] (N = training series);
- epochs: enough for `UPDATES` optimizer updates, clamped to `EPOCH_RANGE` (a few dozen series at batch 32
  would otherwise get one update per epoch);
- validation carve: 10 % (stratified) only where the classes average at least `VAL_MIN_PER_CLASS` series,
  otherwise none (tiny sets train on every series; the final model is used either way);
- warm-up: the learning rate rises linearly over the first `WARMUP_SHARE` of the updates, then follows a
  cosine to zero, stepped per update;
- early stopping: off (the update budget is the recipe; built-in tasks stop after 10 epochs without a
  validation gain, not before `min_epochs`);
- augmentation: each training batch jittered, scaled and magnitude-warped (`AUGMENT`, "jitter+scale+magwarp";
  built-in tasks: none);
- length: series longer than `MAX_STEPS` (50) are shortened by k = ceil(longest / MAX_STEPS)
  (`downsample="auto"`), each block of k steps fed whole as one step of k values per channel
  (`DEFAULT_DOWNSAMPLE_BY`, "frames"; an explicit `downsample=k` makes frames too unless `downsample_by`
  says "mean" or "every"; auto with "mean" or "every" shortens to at most 100 steps,
  `data.prepare.AUTO_MAX_STEPS`).
"""

from __future__ import annotations

import dataclasses
import math

from rnnscope.data.prepare import AUTO_MAX_STEPS, auto_downsample

__all__ = [
    "DEFAULT_DOWNSAMPLE_BY",
    "MAX_STEPS",
    "auto_downsample",
    "resolve_train",
    "recipe_batch_size",
    "recipe_epochs",
    "resolve_data",
]

TASK_DEFAULTS = {
    "epochs": 60,
    "batch_size": 32,
    "val_fraction": 0.1,
    "warmup": 0,
    "patience": 10,
    "augment": "none",
}
UPDATES = 1200  # optimizer updates a real-data run aims for (600 before: docs/training.md)
EPOCH_RANGE = (30, 600)  # ... within this many epochs (the upper bound scaled with UPDATES)
BATCH_RANGE = (8, 64)  # batch size: the power of two nearest N / 8, clamped to this range
VAL_FRACTION = 0.1  # the validation carve where the classes are large enough
VAL_MIN_PER_CLASS = 20  # carve only when training series per class average at least this
WARMUP_SHARE = 0.05  # share of the updates over which the learning rate warms up
AUGMENT = "jitter+scale+magwarp"  # real data's training batches (training.augment)
DEFAULT_DOWNSAMPLE_BY = "frames"  # real data shortened by k: frames of k steps (lossless; "mean" before)
MAX_STEPS = AUTO_MAX_STEPS[DEFAULT_DOWNSAMPLE_BY]  # the length rule's limit at the recipe's defaults


def recipe_batch_size(n_train: int) -> int:
    """The power of two nearest n_train / 8, clamped to BATCH_RANGE."""
    b = 2 ** round(math.log2(max(n_train / 8, 1)))
    return int(min(max(b, BATCH_RANGE[0]), BATCH_RANGE[1]))


def recipe_val_fraction(n_train: int, n_classes: int) -> float:
    return VAL_FRACTION if n_train >= VAL_MIN_PER_CLASS * n_classes else 0.0


def recipe_epochs(n_fit: int, batch_size: int, updates: int = UPDATES) -> int:
    """Epochs that give about `updates` optimizer updates on n_fit series, clamped to EPOCH_RANGE."""
    per_epoch = -(-n_fit // batch_size)
    return int(min(max(math.ceil(updates / per_epoch), EPOCH_RANGE[0]), EPOCH_RANGE[1]))


def resolve_data(cfg):
    """DataConfig with real data's unset length rule filled in: downsample "auto", by `DEFAULT_DOWNSAMPLE_BY`,
    to at most AUTO_MAX_STEPS[downsample_by] steps. Built-in tasks are returned unchanged."""
    if cfg.task is not None:
        return cfg
    if cfg.downsample is None:
        cfg = dataclasses.replace(cfg, downsample="auto")
    if cfg.downsample_by is None:
        cfg = dataclasses.replace(cfg, downsample_by=DEFAULT_DOWNSAMPLE_BY)
    if cfg.downsample == "auto" and cfg.downsample_max_steps is None:  # recorded: a new rule won't move it
        cfg = dataclasses.replace(cfg, downsample_max_steps=AUTO_MAX_STEPS[cfg.downsample_by])
    return cfg


def resolve_train(cfg, n_train: int, n_classes: int, real: bool):
    """TrainConfig with every field left at None filled in: `TASK_DEFAULTS` for built-in tasks, the
    recipe above for real data. Fields the user set are kept. Returns (TrainConfig, {field: value} of
    what the recipe chose)."""
    unset = {f: getattr(cfg, f) is None for f in TASK_DEFAULTS}  # the fields a recipe fills
    if not any(unset.values()):
        return cfg, {}
    if not real:
        chosen = {f: TASK_DEFAULTS[f] for f, u in unset.items() if u}
        return dataclasses.replace(cfg, **chosen), chosen
    chosen = {}
    batch = cfg.batch_size if cfg.batch_size is not None else recipe_batch_size(n_train)
    val = cfg.val_fraction if cfg.val_fraction is not None else recipe_val_fraction(n_train, n_classes)
    n_fit = n_train - int(round(val * n_train))
    epochs = cfg.epochs if cfg.epochs is not None else recipe_epochs(n_fit, batch)
    updates = epochs * -(-n_fit // batch)
    warmup = cfg.warmup if cfg.warmup is not None else max(1, round(WARMUP_SHARE * updates))
    patience = cfg.patience if cfg.patience is not None else 0  # real data trains its whole update budget
    augment = cfg.augment if cfg.augment is not None else AUGMENT
    chosen_values = (
        ("batch_size", batch),
        ("val_fraction", val),
        ("epochs", epochs),
        ("warmup", warmup),
        ("patience", patience),
        ("augment", augment),
    )
    for name, value in chosen_values:
        if unset[name]:
            chosen[name] = value
    return dataclasses.replace(cfg, **chosen), chosen
