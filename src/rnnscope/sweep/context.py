"""The behavioural effective context: how far back can a trained model still recall a cue?

`rnnscope context` trains each architecture on the delayed-recall task (`recall`) at every dependency
distance and seed, then reads off definition (b) of the effective context window (docs/context.md):

    chance_corrected = (accuracy − chance) / (1 − chance),  chance = 1 / n_classes
    effective context = the largest distance d such that every tested distance ≤ d keeps a mean (over
                        seeds) chance-corrected test accuracy ≥ 0.9 × that at the shortest distance.

When the shortest distance itself is not solved above chance, the effective context is undefined (None);
when every tested distance passes, it is at least the longest one (`censored`: true).
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnscope.analysis.gradients import context_from_corrected
from rnnscope.config import GATED_KINDS, DataConfig, ModelConfig, TrainConfig
from rnnscope.errors import BadArgument
from rnnscope.models import hidden_for_params
from rnnscope.names import DEFAULT_MAX_DISTANCE
from rnnscope.rundir import SweepPaths
from rnnscope.sweep.compare import check_names, check_seeds, result_row
from rnnscope.sweep.jobs import job_name, make_job
from rnnscope.sweep.store import aggregate
from rnnscope.tasks import get_task
from rnnscope.tasks.recall import MAX_DISTANCE

TASK = "recall"
THRESHOLD = 0.9  # a distance is solved while its chance-corrected accuracy keeps this share of the shortest's
GATE_INITS = ("chrono", "constant")  # lstm/gru carry gates: chrono (T_max = longest sweep sequence) | bias +1
COLUMNS = [
    "model",
    "seed",
    "distance",
    "test_acc",
    "chance",
    "chance_corrected",
    "train_acc",
    "at_chance",
    "val_acc",
    "hidden",
    "layers",
    "params",
    "converged_epoch",
    "epochs_run",
    "seconds",
    "status",
    "message",
    "run",
]


def check_distances(distances: list[int], max_distance: int = DEFAULT_MAX_DISTANCE) -> list[int]:
    """Positive, distinct, and no longer than `max_distance` or the recall task's own limit."""

    if max_distance < 1:
        raise BadArgument(f"--max-distance must be positive, got {max_distance}")
    if not distances:
        raise BadArgument("give at least one distance")
    limit = min(max_distance, MAX_DISTANCE)
    seen = set()
    for d in distances:
        if d < 1:
            raise BadArgument(f"distances must be positive, got {d}")
        if d > limit:
            why = "--max-distance" if max_distance <= MAX_DISTANCE else "the recall task's limit"
            raise BadArgument(f"distance {d} is longer than the maximum {limit} ({why})")
        if d in seen:
            raise BadArgument(f"distance {d} is given twice")
        seen.add(d)
    return sorted(distances)


def context_config(
    *,
    models: list[str],
    distances: list[int],
    seeds: list[int],
    max_distance: int = DEFAULT_MAX_DISTANCE,
    hidden: int = 64,
    layers: int = 1,
    params: int | None = None,
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 32,
    n_train: int = 1000,
    n_test: int = 500,
    n_classes: int = 4,
    n_distractors: int = 4,
    gate_init: str = "chrono",
    device: str = "auto",
) -> dict:
    """The command's configuration as JSON (what sweep.json records), validated."""

    distances = check_distances(distances, max_distance)
    get_task(TASK, n_classes=n_classes, n_distractors=n_distractors, distance=distances[0])
    if params is not None and params < 1:
        raise BadArgument(f"the parameter budget must be positive, got {params}")
    if gate_init not in GATE_INITS:
        raise BadArgument(f"unknown gate initialisation {gate_init!r}; choose from {', '.join(GATE_INITS)}")
    return {
        "models": check_names(models),
        "distances": distances,
        "seeds": check_seeds(seeds),
        "max_distance": max_distance,
        "hidden": hidden,
        "layers": layers,
        "params": params,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "n_train": n_train,
        "n_test": n_test,
        "n_classes": n_classes,
        "n_distractors": n_distractors,
        "gate_init": gate_init,
        "device": device,
    }


def plan_context(config: dict, out: str | Path) -> list[dict]:
    """One job per model × seed × distance (same hidden size, or matched parameters when `params`).

    With gate_init "chrono" the gated cells get chrono initialisation for the sweep's longest sequence
    (longest distance + 2) at every distance, so a model is the same at every distance of one sweep."""

    sweep_dir = SweepPaths(out)
    chrono = max(config["distances"]) + 2 if config.get("gate_init", "constant") == "chrono" else None
    jobs = []
    for distance in config["distances"]:
        task_params = {
            "n_classes": config["n_classes"],
            "n_distractors": config["n_distractors"],
            "distance": distance,
        }
        task = get_task(TASK, **task_params)
        data_cfg = DataConfig(
            task=TASK, task_params=task_params, n_train=config["n_train"], n_test=config["n_test"]
        )
        for model in config["models"]:
            model_cfg = ModelConfig(
                kind=model,
                hidden=config["hidden"],
                layers=config["layers"],
                chrono_tmax=chrono if model in GATED_KINDS else None,
            )
            if config["params"] is not None:
                model_cfg = hidden_for_params(model_cfg, task.input_size, task.n_classes, config["params"])
            for seed in config["seeds"]:
                train_cfg = TrainConfig(
                    epochs=config["epochs"],
                    lr=config["lr"],
                    batch_size=config["batch_size"],
                    seed=seed,
                    device=config["device"],
                )
                tags = {"model": model, "seed": seed, "distance": distance}
                name = job_name(tags)
                jobs.append(
                    make_job(
                        name,
                        sweep_dir.run(name).root,
                        data_cfg,
                        model_cfg,
                        train_cfg,
                        tags,
                        seq_len=task.seq_len,
                    )
                )
    return jobs


def chance_corrected(acc: float, chance: float) -> float:
    """(acc − chance) / (1 − chance): 0 at chance, 1 at perfect; NaN stays NaN."""
    return (acc - chance) / (1.0 - chance)


def context_rows(jobs: list[dict], results: list[dict], sweep_dir: str | Path | None = None) -> list[dict]:
    rows = []
    for job, result in zip(jobs, results):
        row = result_row(job, result, sweep_dir)
        chance = 1.0 / job["data"]["task_params"]["n_classes"]
        row["chance"] = chance
        row["chance_corrected"] = chance_corrected(row["test_acc"], chance)
        rows.append(row)
    return rows


def effective_context(distances: list[int], cc: list[float], threshold: float = THRESHOLD):
    """Definition (b) on one (seed-mean) chance-corrected curve -> (effective context or None, censored).

    The definition lives in rnnscope.analysis.gradients (`context_from_corrected`); this adapts it."""

    found = context_from_corrected(distances, [math.nan if c is None else c for c in cc], fraction=threshold)
    return found.context, bool(found.censored)


def median_context(per_seed: list[int | None]) -> int | None:
    """The lower median of per-seed contexts (None, undefined, ranks below every distance): the context
    that at least half of the trained models reach, robust to one seed's optimisation failure."""
    if not per_seed:
        return None
    ranked = sorted(per_seed, key=lambda c: -math.inf if c is None else c)
    return ranked[(len(ranked) - 1) // 2]


def summarize(rows: list[dict], threshold: float = THRESHOLD) -> dict:
    """context.json: per model the effective context of the seed-mean curve, and per seed."""

    distances = sorted({r["distance"] for r in rows})
    models = list(dict.fromkeys(r["model"] for r in rows))
    mean_cc = {
        (a["model"], a["distance"]): a["mean"] for a in aggregate(rows, "distance", "chance_corrected")
    }
    mean_acc = {(a["model"], a["distance"]): a["mean"] for a in aggregate(rows, "distance", "test_acc")}
    out = {}
    for model in models:
        curve = [mean_cc.get((model, d), math.nan) for d in distances]
        eff, censored = effective_context(distances, curve, threshold)
        per_seed = {}
        for seed in dict.fromkeys(r["seed"] for r in rows if r["model"] == model):
            pts = {
                r["distance"]: r["chance_corrected"]
                for r in rows
                if r["model"] == model and r["seed"] == seed
            }
            per_seed[str(seed)] = effective_context(
                distances, [pts.get(d, math.nan) for d in distances], threshold
            )[0]
        median = median_context(list(per_seed.values()))
        out[model] = {
            "effective_context": eff,
            "censored": censored,
            "short_distance": distances[0],
            "short_chance_corrected": curve[0],
            "threshold_chance_corrected": threshold * curve[0],
            "per_seed": per_seed,
            "median_seed_context": median,
            "median_seed_censored": median is not None and median == distances[-1],
            "mean_test_acc": {str(d): mean_acc.get((model, d), math.nan) for d in distances},
            "mean_chance_corrected": {str(d): c for d, c in zip(distances, curve)},
        }
    chance = rows[0]["chance"] if rows else math.nan
    return {
        "task": TASK,
        "definition": "largest distance d such that every tested distance <= d keeps a seed-mean "
        "chance-corrected test accuracy >= threshold x that at the shortest distance; null when the shortest "
        "distance is not above chance; censored = every tested distance passed (the context is at least d); "
        "median_seed_context = lower median over seeds of the same definition on each seed's own curve",
        "threshold": threshold,
        "chance": chance,
        "distances": distances,
        "models": out,
    }
