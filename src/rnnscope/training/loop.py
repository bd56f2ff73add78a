"""The silent training loop: Adam, clipping, a seeded data order, per-epoch evaluation.

`Trainer(model, data, cfg, callbacks).fit()` returns the history: a list of JSON-serialisable dicts,
one per epoch, epoch 0 being the untrained model. Nothing here prints, plots or writes files;
callbacks do that.

Key: N = sequences, T = time, C = channels, K = classes.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from rnnscope.data.dataset import DataBundle, Split
from rnnscope.errors import BadArgument
from rnnscope.training.augment import augment_batch, batch_generator, mixup_batch
from rnnscope.training.callbacks import Callback, EarlyStopping
from rnnscope.training.recipe import resolve_train

RECORD_KEYS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "batch_loss",
    "grad_norm",
    "lr",
    "seconds",
)


class NonFiniteError(RuntimeError):
    """A loss or gradient became NaN or infinite."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BadArgument("device cuda was asked for but CUDA is not available (use --device cpu or auto)")
    return torch.device(name)


def split_validation(train: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve a seeded, class-stratified validation split from train -> (train', val)."""
    rng = np.random.default_rng([seed, 3])
    val_idx = []
    for k in np.unique(train.y):
        idx = np.flatnonzero(train.y == k)
        n_val = int(round(fraction * len(idx)))
        val_idx.append(rng.permutation(idx)[:n_val])
    val_mask = np.zeros(len(train), dtype=bool)
    val_mask[np.concatenate(val_idx)] = True
    if fraction > 0 and (val_mask.all() or not val_mask.any()):
        raise BadArgument(f"cannot carve a validation split of {fraction:.0%} from {len(train)} sequences")
    return train.subset(~val_mask), train.subset(val_mask)


class _Tensors:
    """A split as tensors on the training device: x (N, T, C), y (N,), lengths (N,) on CPU and device."""

    def __init__(self, split: Split, device: torch.device):
        self.x = torch.as_tensor(split.x, device=device)
        self.y = torch.as_tensor(split.y, device=device)
        self.lengths = torch.as_tensor(split.lengths)
        self.ragged = split.variable_length
        self.n = len(split)

    def batch(self, idx: torch.Tensor):
        lengths = self.lengths[idx] if self.ragged else None
        idx = idx.to(self.x.device)
        return self.x[idx], self.y[idx], lengths


class Trainer:
    """Holds everything that changes during training, so a checkpoint can restore it exactly."""

    def __init__(self, model: torch.nn.Module, data: DataBundle, cfg, callbacks: list[Callback] = ()):
        real = data.source.get("kind") != "task"
        cfg, _ = resolve_train(cfg, len(data.train), data.n_classes, real)  # no-op on a resolved config
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.model = model.to(self.device)
        train, val = split_validation(data.train, cfg.val_fraction, cfg.seed)
        self.splits = {"train": _Tensors(train, self.device), "test": _Tensors(data.test, self.device)}
        if len(val):
            self.splits["val"] = _Tensors(val, self.device)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.per_update = cfg.warmup > 0  # warm-up: the schedule steps per update, else per epoch
        if self.per_update:
            total = cfg.epochs * self.batches_per_epoch
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda u: lr_factor(u, cfg.warmup, total, cfg.schedule)
            )
        elif cfg.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=cfg.epochs)
        else:
            self.scheduler = None
        self.order = torch.Generator().manual_seed(cfg.seed)  # data order, independent of the global RNG
        self.callbacks = list(callbacks)
        if cfg.patience:  # resolved by the recipe (training.recipe): 0 or None is off
            self.callbacks.append(EarlyStopping(cfg.patience, cfg.min_epochs))
        self.history: list[dict] = []
        self.epoch = 0  # epochs completed
        self.position = 0  # batches of the current epoch completed (non-zero only inside an epoch)
        self.partial = (0.0, 0.0)  # (loss sum, gradient-norm sum) over those batches
        self.epoch_order = self.order.get_state()  # data-order generator state at the current epoch's start
        self.status = "running"
        self.stop_reason: str | None = None
        self.failure: dict | None = None

    # ---- control -----------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Ask the loop to end after the current epoch (callbacks call this)."""
        self.stop_reason = reason

    def fit(self) -> list[dict]:
        """Train until cfg.epochs, early stopping, or a non-finite loss; returns the history."""
        for cb in self.callbacks:
            cb.on_train_begin(self)
        if not self.history:
            self._end_epoch(self.evaluate_all(), batch_loss=float("nan"), grad_norm=float("nan"), seconds=0.0)
        while self.epoch < self.cfg.epochs and self.stop_reason is None:
            try:
                self.train_epoch()
            except NonFiniteError as err:
                self.status = "failed_nonfinite"
                self.stop_reason = str(err)
                break
        if self.status == "running":
            self.status = "completed"
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    # ---- one epoch ---------------------------------------------------------------------------
    def train_epoch(self) -> dict:
        """One pass over the training split in a seeded order, then evaluation and callbacks."""
        t0 = time.perf_counter()
        lr_first = self.optimizer.param_groups[0]["lr"]
        batch_loss, grad_norm = self.optimise_epoch()
        self.epoch += 1
        # the rate this epoch trained with (per-update schedules: the rate of its first update)
        lr = lr_first if self.per_update else self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None and not self.per_update:
            self.scheduler.step()
        evals = self.evaluate_all()
        return self._end_epoch(evals, batch_loss, grad_norm, time.perf_counter() - t0, lr)

    @property
    def batches_per_epoch(self) -> int:
        return -(-self.splits["train"].n // self.cfg.batch_size)

    def optimise_epoch(self) -> tuple[float, float]:
        """The optimisation steps of one epoch -> (mean batch loss, mean pre-clip gradient norm).

        Starts at batch `self.position` (non-zero after a resume from a checkpoint inside the epoch: the
        order generator then holds the epoch's start state, so the same permutation is drawn again).
        """
        tr = self.splits["train"]
        self.model.train()
        self.epoch_order = self.order.get_state()
        perm = torch.randperm(tr.n, generator=self.order)
        first = self.position
        (loss_sum, norm_sum), batches = self.partial, first
        clip = self.cfg.clip if self.cfg.clip is not None else math.inf
        for b, start in enumerate(range(0, tr.n, self.cfg.batch_size)):
            if b < first:
                continue
            x, y, lengths = tr.batch(perm[start : start + self.cfg.batch_size])
            mixed = None
            if self.cfg.augment != "none":
                noise = batch_generator(self.cfg.seed, self.epoch, b)
                x = augment_batch(x, self.cfg.augment, noise, lengths)
                if "mixup" in self.cfg.augment.split("+"):
                    x, lam, partner = mixup_batch(x, noise)
                    mixed = lam, y[partner.to(y.device)]
            logits = self.model(x, lengths)
            loss = F.cross_entropy(logits, y)
            if mixed is not None:  # the loss mixes as the inputs did (Zhang et al. 2018)
                loss = mixed[0] * loss + (1 - mixed[0]) * F.cross_entropy(logits, mixed[1])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
            loss_v, norm_v = float(loss.detach()), float(norm)
            if not (math.isfinite(loss_v) and math.isfinite(norm_v)):
                what = "loss" if not math.isfinite(loss_v) else "gradient norm"
                self._fail(what, b, loss_v, norm_v, x)
            try:
                self.optimizer.step()
            except RuntimeError as err:  # Adam's step size lr / (1 - beta1^t) overflowed float32
                if "overflow" not in str(err):
                    raise
                self._fail("update", b, loss_v, norm_v, x)
            if self.per_update:
                self.scheduler.step()
            loss_sum += loss_v
            norm_sum += norm_v
            batches += 1
            self.position, self.partial = b + 1, (loss_sum, norm_sum)
            for cb in self.callbacks:
                cb.on_batch_end(self, b, loss_v)
        self.position, self.partial = 0, (0.0, 0.0)
        return loss_sum / batches, norm_sum / batches

    def _fail(self, what: str, batch: int, loss: float, grad_norm: float, x: torch.Tensor) -> None:
        """Record where training broke (status.json's `failure`) and raise NonFiniteError with remedies."""
        self.failure = {
            "epoch": self.epoch + 1,
            "batch": batch,
            "what": what,
            "loss": loss,
            "grad_norm": grad_norm,
            "nonfinite_inputs": not bool(torch.isfinite(x).all()),
        }
        raise NonFiniteError(self._nonfinite_message())

    def _nonfinite_message(self) -> str:
        """One line: where it happened, what was non-finite, and the remedies that fit."""
        f = self.failure
        what = "update (the optimizer step overflowed float32)" if f["what"] == "update" else f["what"]
        where = (
            f"non-finite {what} at epoch {f['epoch']}, batch {f['batch']} "
            f"(of {self.batches_per_epoch}, counted from 0): training stopped"
        )
        if f["nonfinite_inputs"]:
            return f"{where}; the batch's inputs hold NaN or inf values: clean the data (or fill them in)"
        lower = f"lower the learning rate (--lr {self.cfg.lr / 10:g})"
        if f["what"] == "update":
            return f"{where}; {lower}"
        clip = (
            "turn gradient clipping on (--clip 1.0)"
            if self.cfg.clip is None
            else f"clip gradients harder (--clip {self.cfg.clip / 10:g})"
        )
        return f"{where}; {clip} or {lower}"

    def _end_epoch(
        self, evals: dict, batch_loss: float, grad_norm: float, seconds: float, lr: float | None = None
    ) -> dict:
        record = {
            "epoch": self.epoch,
            **evals,
            "batch_loss": batch_loss,
            "grad_norm": grad_norm,
            "lr": self.optimizer.param_groups[0]["lr"] if lr is None else lr,
            "seconds": seconds,
        }
        self.history.append(record)
        for cb in self.callbacks:
            cb.on_epoch_end(self, record)
        return record

    # ---- evaluation --------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, name: str, batch_size: int = 1024) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) of the model on one split, in eval mode."""
        split = self.splits[name]
        self.model.eval()
        loss, correct = 0.0, 0
        for start in range(0, split.n, batch_size):
            x, y, lengths = split.batch(torch.arange(start, min(start + batch_size, split.n)))
            logits = self.model(x, lengths)
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
        return loss / split.n, correct / split.n

    def evaluate_all(self) -> dict:
        out = {}
        for name in ("train", "val", "test"):
            loss, acc = self.evaluate(name) if name in self.splits else (float("nan"), float("nan"))
            out[f"{name}_loss"], out[f"{name}_acc"] = loss, acc
        return out


def lr_factor(update: int, warmup: int, total: int, schedule: str) -> float:
    """Learning-rate multiplier at optimizer update `update` (from 0): linear warm-up over `warmup`
    updates, then cosine to 0 at `total` (schedule "cosine") or constant."""
    if update < warmup:
        return (update + 1) / warmup
    if schedule != "cosine" or total <= warmup:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(update - warmup, total - warmup) / (total - warmup)))


CONVERGENCE_MIN_VAL = 30  # fewer validation series than this: convergence is judged on the test accuracy


def convergence_key(n_val: int, n_test: int) -> str:
    """The accuracy the convergence epoch is judged on: "val_acc" if the validation split holds at least
    CONVERGENCE_MIN_VAL series (or at least as many as the test split), else "test_acc". On a carve of a
    few series one series moves the accuracy by 10-20 points, so a lucky epoch of an untrained model can
    set the best value that later epochs are measured against."""
    return "val_acc" if n_val >= min(CONVERGENCE_MIN_VAL, n_test) and n_val > 0 else "test_acc"


def converged_epoch(history: list[dict], key: str = "val_acc", within: float = 0.01) -> int | None:
    """First epoch whose `key` is within `within` (1 point) of the run's best; None if no finite value.

    Falls back to test accuracy when there is no validation split.
    """
    vals = [r.get(key, float("nan")) for r in history]
    if not any(math.isfinite(v) for v in vals) and key == "val_acc":
        return converged_epoch(history, "test_acc", within)
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return None
    best = max(finite)
    return next(r["epoch"] for r, v in zip(history, vals) if math.isfinite(v) and v >= best - within)
