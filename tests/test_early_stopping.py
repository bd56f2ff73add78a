"""The demo's stopping rule (TrainConfig patience 10, min_epochs 30): a plateau at chance early in
training is not convergence, a dip is not a place to stop, a settled run stops."""

from types import SimpleNamespace

from rnnscope.config import TrainConfig
from rnnscope.training.callbacks import EarlyStopping
from rnnscope.training.recipe import resolve_train


def _stops(val_accs, **kw) -> int | None:
    """The epoch at which EarlyStopping stops a run with these validation accuracies (epoch 0 first)."""
    stopped = []
    trainer = SimpleNamespace(history=[], epoch=0, stop=lambda reason: stopped.append(reason))
    cb = EarlyStopping(**kw)
    for epoch, acc in enumerate(val_accs):
        trainer.epoch = epoch
        trainer.history.append({"val_acc": acc})
        cb.on_epoch_end(trainer, trainer.history[-1])
        if stopped:
            return epoch
    return None


def test_defaults_are_the_demo_rule():
    cfg, _ = resolve_train(TrainConfig(), 1500, 4, real=False)  # a built-in task's defaults
    assert (cfg.patience, cfg.min_epochs, cfg.epochs) == (10, 30, 60)
    real, _ = resolve_train(TrainConfig(), 50, 2, real=True)  # real data: the update budget, no early stop
    assert real.patience == 0


def test_plateau_at_chance_before_min_epochs_does_not_stop():
    # a flat plateau at 0.5 until epoch 17 (the demo's seeds leave it at epochs 13-18), then learning
    accs = [0.25] + [0.5] * 17 + [0.63, 0.94] + [0.95] * 30
    assert _stops(accs, patience=10) == 11  # without min_epochs: stopped on the plateau
    assert _stops(accs, patience=10, min_epochs=30) == 30  # best 0.95 at epoch 20: 10 epochs later


def test_no_stop_in_a_dip():
    accs = [0.5] * 10 + [0.98] + [0.96] * 19 + [0.90, 0.97]
    # at epoch 30 the run is 0.08 below its best: not settled; epoch 31 is back within 0.01
    assert _stops(accs, patience=10, min_epochs=30) == 31
    assert _stops([0.5] * 10 + [0.98] + [0.9] * 40, patience=10, min_epochs=30) is None
