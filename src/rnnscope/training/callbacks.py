"""Callbacks: the only way training talks to the outside world (progress, checkpoints, snapshots).

A callback overrides any of the hooks below; each receives the `Trainer`, whose attributes
(`model`, `optimizer`, `history`, `epoch`, `status`) it may read. Callbacks must not print from
library code paths other than the CLI's own progress callback.
"""

from __future__ import annotations

import math

from tqdm.auto import tqdm


class Callback:
    def on_train_begin(self, trainer) -> None: ...

    def on_batch_end(self, trainer, batch: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer, record: dict) -> None: ...

    def on_train_end(self, trainer) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar over epochs showing loss and accuracies (the CLI's display)."""

    def __init__(self, desc: str = "train", position: int = 0, leave: bool = True):
        self.desc, self.position, self.leave = desc, position, leave
        self.bar = None

    def on_train_begin(self, trainer) -> None:
        self.bar = tqdm(
            total=trainer.cfg.epochs,
            initial=trainer.epoch,
            desc=self.desc,
            unit="epoch",
            position=self.position,
            leave=self.leave,
            dynamic_ncols=True,
        )

    def on_epoch_end(self, trainer, record: dict) -> None:
        if self.bar is not None and record["epoch"] > 0:
            shown = {"loss": record["train_loss"], "train": record["train_acc"], "val": record["val_acc"]}
            shown["test"] = record["test_acc"]
            if math.isnan(shown["val"]):  # no validation split: no val figure rather than "nan"
                del shown["val"]
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in shown.items()})
            self.bar.update(1)

    def on_train_end(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()


class EarlyStopping(Callback):
    """Stop when validation accuracy has not improved for `patience` epochs, once `min_epochs` epochs
    have run (a plateau at chance early in training is not convergence), at an epoch whose validation
    accuracy is within `within` of the best (not in a dip: the run keeps the last epoch's weights)."""

    def __init__(self, patience: int, min_epochs: int = 0, within: float = 0.01):
        self.patience, self.min_epochs, self.within = patience, min_epochs, within

    def on_epoch_end(self, trainer, record: dict) -> None:
        accs = [r["val_acc"] for r in trainer.history]
        best = max(range(len(accs)), key=accs.__getitem__)
        settled = accs[-1] >= accs[best] - self.within
        if trainer.epoch >= self.min_epochs and len(accs) - 1 - best >= self.patience and settled:
            trainer.stop(f"early stop: no validation gain for {self.patience} epochs")
