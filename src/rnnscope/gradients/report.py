"""`rnnscope gradients RUN_DIR`: the gradient-flow report of a trained run, written to RUN_DIR/gradients/.

    profile.csv, profile_init.csv   step, layer, quantity, mean, std (trained model; freshly initialised)
    summary.json                    per layer and quantity: decay factor per step, R², half-life,
                                    effective context (a); behavioural context (b) when a sweep is given
    step_gradients.safetensors      the trained model's per-sequence, per-unit gradients on the probe
    profile.png|svg, learning_by_step.png|svg, highways.png|svg (recurrent), through_training.png|svg
    (when the run recorded snapshots with `GradientSnapshots`)

The initial model is rebuilt exactly as training built it (the run's seed, then the model), so its
profile equals the snapshot at epoch 0 on the same probe.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

from rnnscope.analysis.gradients import BehaviouralContext, check_epsilon, context_from_corrected
from rnnscope.gradients.profile import analyse, probe_indices, probe_tensors, summarise, write_profile_csv
from rnnscope.gradients.snapshots import load_through_training

GRADIENTS_DIR = "gradients"
SPLITS = ("train", "val", "test")
LABELS = {"grad_h": "‖∂L/∂h‖", "grad_c": "‖∂L/∂c‖", "grad_x": "‖∂L/∂x‖", "grad_stream": "‖∂L/∂stream‖"}


def probe_split(run, split: str):
    """The run's split by name; train and val are carved exactly as training carved them."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "test":
        return run.data.test
    from rnnscope.training.loop import split_validation

    train, val = split_validation(run.data.train, run.train_cfg.val_fraction, run.train_cfg.seed)
    if split == "val" and len(val) == 0:
        raise ValueError("the run has no validation split (val_fraction 0); use --split test or train")
    return val if split == "val" else train


def initial_model(run) -> torch.nn.Module:
    """The run's model at initialisation (its seed, then build_model, as training did); global RNG untouched."""
    from rnnscope.models import build_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.train_cfg.seed)
        model = build_model(run.model_cfg, run.config["input_size"], run.config["n_classes"])
    return model.eval()


def read_context(path: str | Path, kind: str) -> tuple[BehaviouralContext, str]:
    """Definition (b) for `kind` from a context sweep (its directory or context.csv) -> (context, file).

    Needs columns model, distance and chance_corrected (or test_acc and chance); the curve is the mean
    over seeds at each distance, missing values skipped.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "context.csv"
    if not p.is_file():
        raise ValueError(f"no context sweep results at {p} (run `rnnscope context` first)")
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = set(rows[0]) if rows else set()
    if not {"model", "distance"} <= cols or not ("chance_corrected" in cols or {"test_acc", "chance"} <= cols):
        raise ValueError(f"{p} is not a context sweep (needs columns model, distance, chance_corrected)")

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
        curve.setdefault(int(num(r["distance"])), []).append(cc)
    if not curve:
        raise ValueError(f"{p} has no rows for model {kind}")
    distances = sorted(curve)
    means = [np.nanmean(curve[d]) if np.any(np.isfinite(curve[d])) else math.nan for d in distances]
    return context_from_corrected(distances, means), str(p)


def _validate(epsilon: float, batch: int, split: str) -> float:
    eps = check_epsilon(epsilon)
    if int(batch) < 1:
        raise ValueError(f"--batch must be positive, got {batch}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return eps


def gradient_report(run_dir: str | Path, *, epsilon: float = 1e-3, batch: int = 64, split: str = "test",
                    context: str | Path | None = None) -> dict:
    """Measure gradient flow of a run on a seeded probe batch and write RUN_DIR/gradients/. Returns the summary.

    Everything is validated (and the run loaded) before the first file is written.
    """
    from rnnscope import load_run

    eps = _validate(epsilon, batch, split)
    run = load_run(run_dir)
    behavioural = read_context(context, run.model_cfg.kind) if context is not None else None
    sp = probe_split(run, split)
    index = probe_indices(len(sp), batch, run.train_cfg.seed)
    x, y, lengths = probe_tensors(sp.x, sp.y, sp.lengths, index)
    trained = analyse(run.model, x, y, lengths)
    init = analyse(initial_model(run), x, y, lengths)
    through = load_through_training(run.path)

    out = Path(run.path) / GRADIENTS_DIR
    out.mkdir(exist_ok=True)
    write_profile_csv(out / "profile.csv", trained["by_step"])
    write_profile_csv(out / "profile_init.csv", init["by_step"])
    trained["grads"].save(out / "step_gradients.safetensors")
    summary = _summary(run, split, index, eps, trained, init, behavioural, through)
    from rnnscope.io import write_json

    write_json(out / "summary.json", summary)
    _figures(out, run.model_cfg.kind, trained, init, through)
    return summary


def _summary(run, split, index, eps, trained, init, behavioural, through) -> dict:
    b = None
    if behavioural is not None:
        ctx, source = behavioural
        b = {"effective_context": ctx.context, "censored": ctx.censored,
             "reference_distance": ctx.reference_distance, "threshold_chance_corrected": ctx.threshold,
             "distances": ctx.distances.tolist(), "chance_corrected": ctx.corrected.tolist(), "source": source}
    return {
        "kind": run.model_cfg.kind, "layers": run.model_cfg.layers, "split": split, "batch": len(index),
        "probe_index": index.tolist(), "seq_len": int(trained["grads"].arrays["grad_x"].shape[1]),
        "epsilon": eps, "loss": float(trained["grads"].loss.mean()), "loss_init": float(init["grads"].loss.mean()),
        "definitions": {
            "loss": "L = sum over the probe sequences of the cross-entropy at each sequence's last step",
            "decay_factor": "exp(slope) of a least-squares line through log(mean over sequences of the gradient "
                            "norm) against the distance k from each sequence's last step",
            "half_life": "ln 2 / -ln(decay_factor) steps; Infinity when the profile does not decay",
            "effective_context": "(a) largest k with g(j)/g(0) >= epsilon for every j <= k; censored: never fell "
                                 "below epsilon within the sequences",
            "behavioural": "(b) largest recall distance whose seed-mean chance-corrected accuracy, and that of every "
                           "shorter tested distance, stays >= 0.9 x that at the shortest distance"},
        "per_layer": summarise(trained["by_distance"], eps),
        "per_layer_init": summarise(init["by_distance"], eps),
        "behavioural": b,
        "through_training_epochs": None if through is None else through.epochs.tolist(),
    }


def _panels(by_step: dict, kind: str, quantities, label=None) -> dict[str, dict[str, np.ndarray]]:
    panels: dict[str, dict[str, np.ndarray]] = {}
    for (q, layer), (mean, _) in by_step.items():
        if q in quantities:
            title = "input" if q == "grad_x" else ("stream" if q == "grad_stream" else "layer") + f" {layer}"
            panels.setdefault(title, {})[(label or LABELS).get(q, q)] = mean
    return panels


def _highway_panels(by_step: dict, kind: str) -> dict[str, dict[str, np.ndarray]]:
    panels: dict[str, dict[str, np.ndarray]] = {}
    grad_q = "grad_c" if kind == "lstm" else "grad_h"
    for (q, layer), (mean, _) in by_step.items():
        curves = panels.setdefault(f"layer {layer}", {})
        if q == "highway":
            curves["gate product Π f" if kind == "lstm" else "gate product Π z"] = mean
        elif q == grad_q:
            last = mean[np.isfinite(mean)][-1] if np.any(np.isfinite(mean)) else np.nan
            curves[f"{LABELS[grad_q]} / last step"] = mean / last
        elif q == "jacobian_product":
            curves["‖Jacobian product‖"] = mean
    return {k: v for k, v in panels.items() if v}


def _figures(out: Path, kind: str, trained: dict, init: dict, through) -> None:
    from rnnscope.plots import gradients as gp
    from rnnscope.plots import save_figure

    quantities = ("grad_h", "grad_c", "grad_x", "grad_stream")
    save_figure(gp.plot_gradient_profiles(_panels(trained["by_step"], kind, quantities),
                                          _panels(init["by_step"], kind, quantities)), out / "profile")
    if kind != "transformer":
        learn = {"learn_w_ih": "W_ih", "learn_w_hh": "W_hh"}
        save_figure(gp.plot_learning_by_step(_panels(trained["by_step"], kind, learn, learn),
                                             _panels(init["by_step"], kind, learn, learn)), out / "learning_by_step")
        save_figure(gp.plot_highways(_highway_panels(trained["by_step"], kind),
                                     _highway_panels(init["by_step"], kind)), out / "highways")
    if through is not None and len(through.epochs):
        prefix = "grad_stream/" if kind == "transformer" else "grad_h/"
        maps = {f"{'stream' if kind == 'transformer' else 'layer'} {n.split('/')[1]} ‖∂L/∂h‖": m
                for n, m in through.mean.items() if n.startswith(prefix)}
        if maps:
            save_figure(gp.plot_profile_heatmap(through.epochs, maps), out / "through_training")
