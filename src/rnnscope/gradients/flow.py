"""Gradient flow of a trained run on a seeded probe batch: the numbers `rnnscope gradients` writes.

`measure_flow(run, ...)` probes the trained model and the model as training initialised it and returns
the profiles by step and the typed summary (decay factor per step, R², half-life, effective context (a),
behavioural context (b) when a sweep's rows are given); it writes and draws nothing (the gradients stage,
rnnscope.stages.gradients, does). The initial model is rebuilt exactly as training built it (the run's
seed, then the model), so its profile equals the snapshot at epoch 0 on the same probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from rnnscope.analysis.gradients import check_epsilon, context_from_corrected
from rnnscope.errors import BadArgument
from rnnscope.gradients.profile import analyse, probe_indices, probe_tensors, summarise
from rnnscope.models import build_model
from rnnscope.rundir import DecayRow, GradientSummary
from rnnscope.training.loop import split_validation

SPLITS = ("train", "val", "test")


def probe_split(run, split: str):
    """The run's split by name; train and val are carved exactly as training carved them."""
    if split not in SPLITS:
        raise BadArgument(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "test":
        return run.data.test

    train, val = split_validation(run.data.train, run.train_cfg.val_fraction, run.train_cfg.seed)
    if split == "val" and len(val) == 0:
        raise BadArgument("the run has no validation split (val_fraction 0); use --split test or train")
    return val if split == "val" else train


def initial_model(run) -> torch.nn.Module:
    """The run's model at initialisation (its seed, then build_model, as training did); the global RNG is
    left untouched."""

    if getattr(run, "initial", None) is not None:  # an imported run: its own architecture, freshly made
        return run.initial().eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.train_cfg.seed)
        model = build_model(run.model_cfg, run.config["input_size"], run.config["n_classes"])
    return model.eval()


def behavioural_context(rows: list[dict], kind: str, source: str) -> dict:
    """Definition (b) for `kind` from a context sweep's rows (context.csv as dicts of strings) -> the
    summary's "behavioural" entry. The curve is the mean over seeds at each distance, missing values
    skipped; chance_corrected is taken from (test_acc - chance) / (1 - chance) where it is missing."""
    cols = set(rows[0]) if rows else set()
    if not {"model", "distance"} <= cols or not (
        "chance_corrected" in cols or {"test_acc", "chance"} <= cols
    ):
        raise BadArgument(
            f"{source} is not a context sweep (needs columns model, distance, chance_corrected)"
        )

    def num(text) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            return math.nan

    curve: dict[int, list[float]] = {}
    for r in rows:
        if r["model"] != kind:
            continue
        cc = num(r.get("chance_corrected"))
        if math.isnan(cc) and "test_acc" in r:
            acc, chance = num(r.get("test_acc")), num(r.get("chance"))
            cc = (acc - chance) / (1.0 - chance)
        distance = num(r["distance"])
        if not math.isfinite(distance):
            raise BadArgument(f"{source} is not a context sweep (distance {r['distance']!r})")
        curve.setdefault(int(distance), []).append(cc)
    if not curve:
        raise BadArgument(f"{source} has no rows for model {kind}")
    distances = sorted(curve)
    means = [np.nanmean(curve[d]) if np.any(np.isfinite(curve[d])) else math.nan for d in distances]
    ctx = context_from_corrected(distances, means)
    return {
        "effective_context": ctx.context,
        "censored": ctx.censored,
        "reference_distance": ctx.reference_distance,
        "threshold_chance_corrected": ctx.threshold,
        "distances": ctx.distances.tolist(),
        "chance_corrected": ctx.corrected.tolist(),
        "source": source,
    }


def validate(epsilon: float, batch: int, split: str) -> float:
    """The probe's settings, checked before anything is loaded -> epsilon."""
    eps = check_epsilon(epsilon)
    if int(batch) < 1:
        raise BadArgument(f"--batch must be positive, got {batch}")
    if split not in SPLITS:
        raise BadArgument(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return eps


@dataclass
class GradientFlow:
    """trained, init: rnnscope.gradients.profile.analyse of the trained and the initial model (by_step
    {(quantity, layer): (mean (T,), std (T,))}, by_distance, grads: StepGradients); summary: the typed
    summary.json."""

    trained: dict
    init: dict
    summary: GradientSummary


def measure_flow(
    run,
    *,
    epsilon: float = 1e-3,
    batch: int = 64,
    split: str = "test",
    behavioural: dict | None = None,
    through_epochs: list[int] | None = None,
) -> GradientFlow:
    """Gradient flow of a loaded Run on a seeded probe batch of `split` (trained and initial model).

    behavioural: the summary's definition (b) (`behavioural_context`), or None; through_epochs: the
    epochs of the run's gradient snapshots, or None."""
    eps = validate(epsilon, batch, split)
    sp = probe_split(run, split)
    index = probe_indices(len(sp), batch, run.train_cfg.seed)
    x, y, lengths = probe_tensors(sp.x, sp.y, sp.lengths, index)
    trained = analyse(run.model, x, y, lengths)
    init = analyse(initial_model(run), x, y, lengths)
    return GradientFlow(
        trained, init, _summary(run, split, index, eps, trained, init, behavioural, through_epochs)
    )


def _summary(run, split, index, eps, trained, init, behavioural, through_epochs) -> GradientSummary:
    return GradientSummary(
        kind=run.model_cfg.kind,
        layers=run.model_cfg.layers,
        split=split,
        batch=len(index),
        probe_index=index.tolist(),
        seq_len=int(trained["grads"].arrays["grad_x"].shape[1]),
        epsilon=eps,
        loss=float(trained["grads"].loss.mean()),
        loss_init=float(init["grads"].loss.mean()),
        definitions={
            "loss": "L = sum over the probe sequences of the cross-entropy at each sequence's last step",
            "decay_factor": "exp(slope) of a least-squares line through log(mean over sequences of the "
            "gradient norm) against the distance k from each sequence's last step",
            "half_life": "ln 2 / -ln(decay_factor) steps; Infinity when the profile does not decay",
            "effective_context": "(a) largest k with g(j)/g(0) >= epsilon for every j <= k; censored: never "
            "fell below epsilon within the sequences",
            "behavioural": "(b) largest recall distance whose seed-mean chance-corrected accuracy, and that "
            "of every shorter tested distance, stays >= 0.9 x that at the shortest distance",
        },
        per_layer=[DecayRow(**r) for r in summarise(trained["by_distance"], eps)],
        per_layer_init=[DecayRow(**r) for r in summarise(init["by_distance"], eps)],
        behavioural=behavioural,
        through_training_epochs=through_epochs,
    )
