"""A gated companion for a tanh-RNN run: so that one `rnnscope run` shows the gates that keep the gradient.

A tanh RNN has no gates, so its own report can show the gradient vanish but not the highway that stops
it. The companion is an LSTM (or GRU) with the main model's layer count and a matched parameter count
(±10 %, `hidden_for_params`), trained on the same data with the same training configuration and seed, in
RUN_DIR/companion/ (an ordinary run directory). It trains in a second worker process while the main
model trains (the recurrences run on one thread each, so on two or more cores it costs little wall
time), then gets the same gradient report (RUN_DIR/companion/gradients/), which the main report shows
next to the tanh RNN's (docs/gradients.md, "The gated companion").

    mate = Companion.plan("auto", out, data_cfg, model_cfg, train_cfg)   # None: none for this model
    run_training(data_cfg, model_cfg, train_cfg, out, callbacks=[mate])  # starts it as training begins
    note = mate.finish()                          # waits, measures its gradients -> one line

Its training runs as a sweep job (rnnscope.sweep); this stage then draws its training curves and writes
its gradient report, as `rnnscope train` and `rnnscope gradients` would.
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnscope.config import ModelConfig
from rnnscope.errors import BadArgument
from rnnscope.models import count_params, hidden_for_params
from rnnscope.names import COMPANION_CHOICES
from rnnscope.rundir import CompanionSummary, RunPaths
from rnnscope.stages.gradients import gradient_report
from rnnscope.stages.train import write_curves
from rnnscope.sweep.executors import LocalProcessExecutor
from rnnscope.sweep.jobs import make_job
from rnnscope.training.callbacks import Callback

CHOICES = COMPANION_CHOICES
AUTO_KIND = "lstm"  # the companion of a tanh RNN under "auto": the forget gate is the textbook highway


def companion_kind(main_kind: str, requested: str) -> str | None:
    """The companion architecture for a main model of `main_kind`: "auto" gives a tanh RNN an LSTM
    and a gated or attention model none; "none" gives none; "lstm" / "gru" ask for one explicitly."""
    if requested not in CHOICES:
        raise BadArgument(f"unknown companion {requested!r}; choose from {', '.join(CHOICES)}")
    if requested == "none" or (requested == "auto" and main_kind != "rnn"):
        return None
    kind = AUTO_KIND if requested == "auto" else requested
    if kind == main_kind:
        raise BadArgument(
            f"the companion must differ from the main model ({main_kind}); choose another or none"
        )
    return kind


class Companion(Callback):
    """Starts the companion's training when the main training begins (its run directory then exists
    and has been cleared of any earlier run); `finish` waits for it and measures its gradients."""

    def __init__(self, kind: str, out: str | Path, data_cfg, train_cfg, executor_factory=None):
        self.kind, self.out, self.data_cfg, self.train_cfg = kind, Path(out), data_cfg, train_cfg
        self.executor_factory = executor_factory  # () -> an Executor; default: one spawned worker process
        self._executor = self._future = None
        self._error: str | None = (
            None  # why it could not start (reported by `finish`, never raised in training)
        )

    @classmethod
    def plan(
        cls, requested: str, out, data_cfg, model_cfg, train_cfg, executor_factory=None
    ) -> Companion | None:
        """The companion of a run into `out`, or None when `requested` gives this model none."""
        kind = companion_kind(model_cfg.kind, requested)
        return None if kind is None else cls(kind, out, data_cfg, train_cfg, executor_factory)

    def job(self, model, input_size: int) -> dict:
        """The companion's sweep job: `model`'s layer count and parameter count (±10 %, or the nearest
        width when no width comes that close, as for tiny models)."""

        cfg = hidden_for_params(
            ModelConfig(kind=self.kind, layers=model.num_layers),
            input_size,
            model.n_classes,
            count_params(model),
            tolerance=math.inf,
        )
        where = RunPaths(self.out).companion.root
        return make_job(
            where.name,
            where,
            self.data_cfg,
            cfg,
            self.train_cfg,
            tags={"model": self.kind, "role": "companion"},
        )

    def on_train_begin(self, trainer) -> None:
        if self._future is not None or self._error is not None:  # a resumed or repeated fit
            return
        try:  # the main training must never fail because of its companion
            job = self.job(trainer.model, int(trainer.splits["train"].x.shape[-1]))
            if self.executor_factory is None:
                self._executor = LocalProcessExecutor(workers=1, threads=1)
            else:
                self._executor = self.executor_factory()
            self._future = self._executor.submit(job)
        except Exception as err:
            self._error = f"{err.__class__.__name__}: {' '.join(str(err).split())}"
            self.cancel()

    def cancel(self) -> None:
        """Stop waiting for it (the main run failed): the worker finishes its job and exits."""
        if self._executor is not None:
            self._executor.shutdown(cancel=True)
            self._executor = None

    def finish(self) -> str:
        """Wait for the companion, measure its gradients -> one line for the pipeline log; raises
        RuntimeError (one line) when its training failed."""
        if self._error is not None:
            raise RuntimeError(f"it could not start ({self._error})")
        if self._future is None:
            raise RuntimeError("it was never started (training did not begin)")
        try:
            result = self._future.result()
        finally:
            self.cancel()
        if result["status"] != "completed":
            raise RuntimeError(f"its training {result['status']}: {result['message']}")
        where = RunPaths(self.out).companion.root
        write_curves(where)
        m = result["metrics"]
        return CompanionSummary(
            self.kind, None, None, m["params"], m["test_acc"], gradient_report(where)
        ).note()
