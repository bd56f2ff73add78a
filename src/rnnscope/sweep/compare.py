"""Architecture comparison: the jobs of `rnnscope compare`, its tidy rows and the seed-mean gradient
profiles its figure draws (the compare stage, rnnscope.stages.compare, writes the files and figures).

Every model is trained at a matched parameter count (±10 %, `hidden_for_params`) on the same data
(same task, sizes and seed → the same arrays), once per seed and per sequence length (`seq_len`) or
dependency distance (the recall task's `distance`).
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.errors import BadArgument, UserInputError
from rnnscope.models import MODEL_KINDS, build_model, count_params, hidden_for_params
from rnnscope.rundir import RunPaths, SweepPaths, read_csv
from rnnscope.sweep.jobs import job_configs, job_name, make_job
from rnnscope.sweep.store import at_chance
from rnnscope.tasks import TASKS, get_task

AXES = {"length": "seq_len", "distance": "distance"}  # sweep axis -> the task parameter it sets
COLUMNS_AFTER_AXIS = [
    "params",
    "hidden",
    "layers",
    "train_acc",
    "val_acc",
    "test_acc",
    "at_chance",
    "converged_epoch",
    "epochs_run",
    "seconds",
    "status",
    "task_ceiling",
    "message",
    "run",
]


def columns(axis: str) -> list[str]:
    return ["model", "seed", axis, *COLUMNS_AFTER_AXIS]


def check_names(models: list[str]) -> list[str]:
    if not models:
        raise BadArgument("give at least one model")
    for m in models:
        if m not in MODEL_KINDS:
            raise BadArgument(f"unknown model {m!r}; choose from {', '.join(MODEL_KINDS)}")
    _no_duplicates("model", models)
    return list(models)


def check_seeds(seeds: list[int]) -> list[int]:
    if not seeds:
        raise BadArgument("give at least one seed")
    for s in seeds:
        if s < 0:
            raise BadArgument(f"seeds must be non-negative, got {s}")
    _no_duplicates("seed", seeds)
    return list(seeds)


def _no_duplicates(what: str, values: list) -> None:
    seen = set()
    for v in values:
        if v in seen:
            raise BadArgument(f"{what} {v} is given twice")
        seen.add(v)


def resolve_axis(task: str, task_params: dict, lengths: list[int] | None, distances: list[int] | None):
    """-> (axis name, values). Neither given: the task's own value (distance for recall, else length)."""

    base = get_task(task, **task_params)  # validates the task name and parameters
    fields = TASKS[task].__dataclass_fields__
    if lengths and distances:
        raise BadArgument("give --lengths or --distances, not both")
    if distances is not None or (lengths is None and "distance" in fields):
        axis, values = "distance", distances
    else:
        axis, values = "length", lengths
    if AXES[axis] not in fields:
        other = "--distances" if axis == "length" else "--lengths"
        raise BadArgument(f"task {task!r} has no {AXES[axis]} parameter to sweep; use {other}")
    if values is None:
        values = [getattr(base, AXES[axis])]
    if not values:
        raise BadArgument(f"give at least one {axis}")
    for v in values:
        if v < 1:
            raise BadArgument(f"{axis}s must be positive, got {v}")
    _no_duplicates(axis, values)
    return axis, list(values)


def compare_config(
    *,
    task: str,
    models: list[str],
    params: int,
    seeds: list[int],
    lengths=None,
    distances=None,
    layers: int = 2,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 32,
    n_train: int = 1500,
    n_test: int = 1000,
    task_params: dict | None = None,
    device: str = "auto",
) -> dict:
    """The command's configuration as JSON (what sweep.json records), validated."""
    task_params = dict(task_params or {})
    axis, values = resolve_axis(task, task_params, lengths, distances)
    if params < 1:
        raise BadArgument(f"the parameter budget must be positive, got {params}")
    return {
        "task": task,
        "task_params": task_params,
        "models": check_names(models),
        "params": int(params),
        "seeds": check_seeds(seeds),
        "axis": axis,
        "values": values,
        "layers": layers,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "n_train": n_train,
        "n_test": n_test,
        "device": device,
    }


def plan_compare(config: dict, out: str | Path) -> list[dict]:
    """One job per model × seed × axis value, hidden sizes matched to the parameter budget.

    Raises ValueError (one line) for anything that would fail, before any file is written.
    """

    sweep_dir = SweepPaths(out)
    param = AXES[config["axis"]]
    jobs = []
    for value in config["values"]:
        task_params = {**config["task_params"], param: value}
        try:
            task = get_task(config["task"], **task_params)
        except UserInputError as err:
            raise BadArgument(f"{config['axis']} {value}: {err}") from None
        data_cfg = DataConfig(
            task=config["task"], task_params=task_params, n_train=config["n_train"], n_test=config["n_test"]
        )
        for model in config["models"]:
            base = ModelConfig(kind=model, layers=config["layers"])
            model_cfg = hidden_for_params(base, task.input_size, task.n_classes, config["params"])
            for seed in config["seeds"]:
                train_cfg = TrainConfig(
                    epochs=config["epochs"],
                    lr=config["lr"],
                    batch_size=config["batch_size"],
                    seed=seed,
                    device=config["device"],
                )
                tags = {"model": model, "seed": seed, config["axis"]: value}
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


def result_row(job: dict, result: dict, sweep_dir: str | Path | None = None) -> dict:
    """One tidy row: the job's coordinates, its model size and the run's metrics (NaN where failed)."""
    m = result.get("metrics") or {}
    nan = math.nan
    run = Path(job["out"])
    if sweep_dir is not None:
        try:
            run = run.relative_to(Path(sweep_dir).absolute())
        except ValueError:
            pass
    row = dict(job["tags"])
    row.update(
        {
            "params": m.get("params", _params(job)),
            "hidden": job["model"]["hidden"],
            "layers": job["model"]["layers"],
            "train_acc": m.get("train_acc", nan),
            "val_acc": m.get("val_acc", nan),
            "test_acc": m.get("test_acc", nan),
            "at_chance": at_chance(m.get("train_acc"), _n_classes(job), job["data"]["n_train"]),
            "converged_epoch": m.get("converged_epoch"),
            "epochs_run": m.get("epochs_run"),
            "seconds": m.get("train_seconds", nan),
            "status": result["status"],
            "task_ceiling": m.get("task_ceiling"),
            "message": result.get("message"),
            "run": str(run),
        }
    )
    return row


def _n_classes(job: dict) -> int:
    """The number of classes of the job's task (chance = 1 / that)."""

    return get_task(job["data"]["task"], **job["data"]["task_params"]).n_classes


def _params(job: dict) -> int | None:
    """The parameter count of the job's model (without training it)."""

    try:
        data_cfg, model_cfg, _ = job_configs(job)
        task = get_task(data_cfg.task, **data_cfg.task_params)
        return count_params(build_model(model_cfg, task.input_size, task.n_classes))
    except (ValueError, TypeError, KeyError):
        return None


def rows_from(jobs: list[dict], results: list[dict], sweep_dir: str | Path | None = None) -> list[dict]:
    return [result_row(j, r, sweep_dir) for j, r in zip(jobs, results)]


# ---- what the figures read -------------------------------------------------------------------------
def gradient_profiles(jobs: list[dict], axis: str) -> tuple[list[dict], list[str]]:
    """Per model, the mean over seeds of the top layer's ‖∂L/∂h_t‖ (transformer: top residual stream)
    from RUN/gradients/profile.csv (written by `rnnscope gradients`), at the sweep's largest axis value.

    Returns (profiles [{model, axis, "quantity", "layer", "step": [...], "mean": [...], "runs": n}],
    missing [run names without a profile]). Reads only; computes no gradients.
    """
    top = max(j["tags"][axis] for j in jobs)
    chosen = [j for j in jobs if j["tags"][axis] == top]
    by_model: dict[str, list[dict]] = {}
    missing = []
    for job in chosen:
        try:
            rows = read_csv(RunPaths(job["out"]).gradients.profile_csv)
        except (OSError, UnicodeDecodeError):
            missing.append(job["name"])
            continue
        series = _top_series(rows)
        if series is None:
            missing.append(job["name"])
            continue
        by_model.setdefault(job["tags"]["model"], []).append(series)
    profiles = []
    for model, series in by_model.items():
        steps = sorted(set.intersection(*(set(s["mean"]) for s in series)))
        mean = [sum(s["mean"][t] for s in series) / len(series) for t in steps]
        profiles.append(
            {
                "model": model,
                axis: top,
                "quantity": series[0]["quantity"],
                "layer": series[0]["layer"],
                "step": steps,
                "mean": mean,
                "runs": len(series),
            }
        )
    return profiles, missing


def _top_series(rows: list[dict]) -> dict | None:
    """The hidden-state gradient of the top layer from profile.csv rows (step, layer, quantity, mean, std)."""

    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return math.nan

    quantities = {r.get("quantity", "") for r in rows}
    pick = next((q for q in ("grad_h", "grad_stream", "grad_x") if q in quantities), None)
    if pick is None:
        return None
    sel = [r for r in rows if r.get("quantity") == pick]
    layers = [num(r.get("layer")) for r in sel]
    finite_layers = [v for v in layers if math.isfinite(v)]
    layer = max(finite_layers) if finite_layers else None
    if layer is not None:
        sel = [r for r, v in zip(sel, layers) if v == layer]
    mean = {int(num(r["step"])): num(r["mean"]) for r in sel if math.isfinite(num(r.get("step")))}
    if not mean:
        return None
    return {"quantity": pick, "layer": None if layer is None else int(layer), "mean": mean}


__all__ = [
    "AXES",
    "columns",
    "compare_config",
    "gradient_profiles",
    "plan_compare",
    "result_row",
    "rows_from",
]
