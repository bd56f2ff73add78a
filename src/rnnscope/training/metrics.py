"""metrics.json of a finished training: the last epoch's figures, convergence, the chance check."""

from __future__ import annotations

from rnnscope.training.chance import chance_warning, majority_rate
from rnnscope.training.loop import Trainer, converged_epoch, convergence_key
from rnnscope.training.recipe import MAX_STEPS


def compute_metrics(trainer: Trainer, params: int, ceiling: float | None) -> dict:
    h = trainer.history
    last = h[-1]
    majority = majority_rate(trainer.splits["train"].y.cpu().numpy())
    long_series = trainer.splits["train"].x.shape[1] > MAX_STEPS
    val, test = trainer.splits.get("val"), trainer.splits.get("test")
    key = convergence_key(val.n if val is not None else 0, test.n if test is not None else 0)
    warning = (  # a run that failed on a non-finite loss says so instead
        chance_warning(h, majority, trainer.cfg, getattr(trainer.model, "kind", ""), long_series)
        if trainer.status != "failed_nonfinite"
        else None
    )
    return {
        "train_acc": last["train_acc"],
        "val_acc": last["val_acc"],
        "test_acc": last["test_acc"],
        "train_loss": last["train_loss"],
        "test_loss": last["test_loss"],
        "best_val_acc": max((r["val_acc"] for r in h), default=float("nan")),
        "converged_epoch": None if warning else converged_epoch(h, key),  # nothing to converge to at chance
        "converged_on": key,
        "epochs_run": trainer.epoch,
        "params": params,
        "train_seconds": sum(r["seconds"] for r in h),
        "task_ceiling": ceiling,
        "status": trainer.status,
        "stop_reason": trainer.stop_reason,
        "majority_rate": majority,
        "warnings": [warning] if warning else [],
    }
