"""rnn, gru and lstm on the shipped UCR/UEA data sets at rnnscope's defaults, next to the published table and
1NN baselines measured in the same run -> docs/results.md.

    nice -n 10 .venv/bin/python benchmarks/ucr_results.py [--workers 2] [--datasets A,B] [--seeds 0,1,2]

Each (data set, model, seed) is a run directory under --out (default build/ucr_defaults/runs/), trained by
rnnscope's sweep runner in --workers spawned processes of one torch thread each, with nothing but the data
set, the model kind, the seed and the device given: the real-data recipe of docs/training.md chooses batch
size, epochs, validation carve, warm-up and length. Finished runs are skipped, so an interrupted benchmark
resumes. docs/results.md is regenerated from every finished run on each call (`--report-only`: without
training). Baselines in the same run: 1NN-Euclidean and 1NN-DTW (full window, dtaidistance) on the same
files (rnnscope.analysis.nearest, no cost budget), cached in --out/baselines.json with their seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.data import list_datasets
from rnnscope.io import RunFileError, read_json, write_json
from rnnscope.rundir import check_sweep_dir, write_sweep_file
from rnnscope.stages.baselines import compute_baselines
from rnnscope.sweep import LocalProcessExecutor, make_job, run_state, run_sweep
from rnnscope.sweep.jobs import read_metrics
from rnnscope.training.recipe import DEFAULT_DOWNSAMPLE_BY, auto_downsample, resolve_train
from ucr_doc import MODELS, fmt, write_doc

COMMAND = "ucr_results"
WORKERS = 2  # worker processes (one torch thread each)
SEEDS = (0, 1, 2)

ORDER = (
    "GunPoint",
    "ItalyPowerDemand",
    "BasicMotions",
    "JapaneseVowels",
    "ArrowHead",
    "PickupGestureWiimoteZ",
    "ACSF1",
    "OSULeaf",
)  # the goal data sets first, the costly ones last
BASELINES = "baselines.json"  # in --out: the 1NN baselines measured once per data set
WALLCLOCK = "wallclock.json"  # in --out: the sweep's wall-clock seconds, summed over invocations
CHECKPOINT_EVERY = 20  # epochs between checkpoints (what an interrupted run resumes from)


def make_plan() -> dict[str, dict]:
    """{name: what the recipe chooses (batch_size, val_fraction, epochs, warmup, downsample k or None)}."""

    plan = {}
    for r in sorted(list_datasets(), key=lambda r: ORDER.index(r["name"])):
        cfg, _ = resolve_train(TrainConfig(), r["n_train"], r["classes"], real=True)
        plan[r["name"]] = {
            "batch_size": cfg.batch_size,
            "val_fraction": cfg.val_fraction,
            "epochs": cfg.epochs,
            "warmup": cfg.warmup,
            "downsample": auto_downsample(r["length_max"], DEFAULT_DOWNSAMPLE_BY),
        }
    return plan


def make_jobs(out: Path, plan: dict, datasets: list[str], seeds: list[int]) -> list[dict]:
    """One job per (data set, model, seed), every one at rnnscope's defaults: nothing but the data set,
    the model kind, the seed and the device is given (the recipe of docs/training.md fills in the rest)."""

    jobs = []
    for name in sorted(datasets, key=ORDER.index):
        for kind in MODELS:
            for seed in seeds:
                tags = {"model": kind, "seed": seed, "dataset": name}
                job_id = f"{name}-{kind}-s{seed}"
                jobs.append(
                    make_job(
                        job_id,
                        out / "runs" / job_id,
                        DataConfig(task=None, dataset=name),
                        ModelConfig(kind=kind),
                        TrainConfig(seed=seed, device="cpu"),
                        tags=tags,
                        checkpoint_every=CHECKPOINT_EVERY,
                    )
                )
    return jobs


def sweep_config(plan: dict) -> dict:
    """What the benchmark was asked to do; repeating it into the same --out with another one is refused."""
    return {"settings": "rnnscope defaults (docs/training.md); only data set, model kind, seed, device given"}


def run(jobs: list[dict], out: Path, workers: int) -> None:
    if all(run_state(job) == "finished" for job in jobs):
        print(f"all {len(jobs)} runs are finished; nothing to train")
        return
    done, loads = [0], []
    t0 = time.perf_counter()

    def report(result: dict) -> None:
        done[0] += 1
        loads.append(os.getloadavg()[0])
        m = result["metrics"] or {}
        what = (
            f"test {m['test_acc']:.3f} in {m['train_seconds']:.0f} s"
            if result["status"] == "completed"
            else f"{result['status']}: {result['message']}"
        )
        print(
            f"[{done[0]:>3}/{len(jobs)} {time.perf_counter() - t0:6.0f} s] {result['action'] or 'failed':<9} "
            f"{result['name']:<32} {what}",
            flush=True,
        )

    executor = LocalProcessExecutor(workers, threads=1)
    try:
        run_sweep(jobs, executor, on_result=report)
    finally:
        executor.shutdown()
        add_wallclock(out, time.perf_counter() - t0, loads)
        print(f"sweep wall-clock: {time.perf_counter() - t0:.0f} s")


def add_wallclock(out: Path, seconds: float, loads: list[float]) -> None:
    """Add one invocation's sweep time and its 1-minute load averages (sampled as each run finished) to
    DIR/wallclock.json (a resumed grid sums its invocations)."""

    prev = read_wallclock(out)
    write_json(
        out / WALLCLOCK,
        {
            "seconds": prev["seconds"] + seconds,
            "invocations": prev["invocations"] + 1,
            "load_sum": prev.get("load_sum", 0.0) + sum(loads),
            "load_samples": prev.get("load_samples", 0) + len(loads),
            "nice": os.nice(0),
        },
    )


def read_wallclock(out: Path) -> dict:
    try:
        return read_json(out / WALLCLOCK, "wall-clock file")
    except RunFileError:
        return {"seconds": 0.0, "invocations": 0}


def collect_runs(jobs: list[dict]) -> dict:
    """{(dataset, model): [metrics.json of each finished, completed run]}."""

    cells: dict = {}
    for job in jobs:
        m = read_metrics(job) if run_state(job) == "finished" else None
        if m is not None and m.get("status") == "completed":
            cells.setdefault((job["tags"]["dataset"], job["tags"]["model"]), []).append(m)
    return cells


def measure_baselines(out: Path, names: list[str]) -> dict:
    """{name: {"ed": acc|None, "dtw": acc|None, "ed_s", "dtw_s", "ed_skipped", "dtw_skipped"}}, measured
    once per data set on the series as rnnscope loads them at full rate, no budget; cached in
    out/baselines.json (delete it to measure again)."""

    path = out / BASELINES
    try:
        cache = read_json(path, "baselines file")
    except RunFileError:
        cache = {}
    cache.pop("format_version", None)
    for name in names:
        if name in cache:
            continue
        found = compute_baselines(DataConfig(task=None, dataset=name), dtw_budget=math.inf)["baselines"]
        ed, dtw = found["baseline_1nn_ed"], found["baseline_1nn_dtw"]
        cache[name] = {
            "ed": ed["accuracy"],
            "dtw": dtw["accuracy"],
            "ed_s": ed["seconds"],
            "dtw_s": dtw["seconds"],
            "ed_skipped": ed["skipped"],
            "dtw_skipped": dtw["skipped"],
        }
        print(
            f"baselines {name}: 1NN-ED {fmt(ed['accuracy'])}, 1NN-DTW {fmt(dtw['accuracy'])} "
            f"({dtw['seconds']:.1f} s)",
            flush=True,
        )
        write_json(path, cache)
    return cache


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/ucr_defaults"))
    ap.add_argument("--doc", type=Path, default=Path("docs/results.md"))
    ap.add_argument("--workers", type=int, default=WORKERS)
    ap.add_argument("--datasets", default=",".join(ORDER), help="comma-separated subset of the data sets")
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--report-only", action="store_true", help="regenerate --doc from finished runs only")
    args = ap.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in datasets if d not in ORDER]
    if unknown:
        ap.error(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    if os.nice(0) < 10:  # be polite on a shared machine; spawned workers inherit it
        os.nice(10 - os.nice(0))

    plan = make_plan()
    check_sweep_dir(args.out, COMMAND, sweep_config(plan))
    write_sweep_file(args.out, COMMAND, sweep_config(plan))
    jobs = make_jobs(args.out.absolute(), plan, datasets, seeds)
    if not args.report_only:
        run(jobs, args.out, args.workers)
    base = measure_baselines(args.out, list(ORDER))
    all_jobs = make_jobs(args.out.absolute(), plan, list(ORDER), list(SEEDS))
    cells, wall = collect_runs(all_jobs), read_wallclock(args.out)
    text = write_doc(args.doc, args.out, cells, wall, plan, base, len(SEEDS), WORKERS)
    print(text.split("## Against")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
