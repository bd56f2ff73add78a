"""The length rule chosen on validation carves of the TRAINING sets only (docs/training.md, "How it was
chosen"): candidate rules for shortening long real series, each scored by a GRU's accuracy on a seeded,
stratified 30 % validation carve of the training split. No test accuracy is read or printed.

    nice -n 19 python benchmarks/length_rule_pilot.py run OUT.jsonl VARIANT:DATASET:SEED[:MODEL] ...
    python benchmarks/length_rule_pilot.py table OUT.jsonl [OUT2.jsonl ...]

Variants: `every100` (every k-th step, at most 100 steps: the rule before), `mean100` (the mean of each
block of k steps, at most 100: the rule after), `every50`, `mean50` (at most 50 steps), `every100_lr5`,
`mean100_lr5` (peak learning rate 0.005 instead of 0.002). Everything else is the real-data recipe of
rnnscope.training.recipe (its update budget and warm-up; the carve is asked for, so batch and epochs follow
the 70 % that is fitted). `run` appends one JSON line per run; `table` prints the mean validation accuracy
per data set and variant with the seeds it averages, and the mean final training accuracy, then the
paired comparison of the two 100-step rules on the seeds both ran.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch

import rnnscope.data.prepare as prepare
from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.training.api import run_training

VAL_FRACTION = 0.3
VARIANTS = {  # name: (downsample_by, at most this many steps, peak learning rate)
    "every100": ("every", 100, 2e-3),
    "mean100": ("mean", 100, 2e-3),
    "every50": ("every", 50, 2e-3),
    "mean50": ("mean", 50, 2e-3),
    "every100_lr5": ("every", 100, 5e-3),
    "mean100_lr5": ("mean", 100, 5e-3),
}


def run_one(variant: str, dataset: str, seed: int, model: str = "gru") -> dict:
    """Train one candidate on the training split with a 30 % carve -> its validation figures."""
    by, max_steps, lr = VARIANTS[variant]
    # the auto length rule at another step limit (prepare() looks the function up when it runs)
    prepare.auto_downsample = lambda longest: (lambda k: k if k > 1 else None)(math.ceil(longest / max_steps))
    t0 = time.perf_counter()
    run = run_training(
        DataConfig(task=None, dataset=dataset, downsample_by=by),
        ModelConfig(kind=model),
        TrainConfig(seed=seed, device="cpu", val_fraction=VAL_FRACTION, lr=lr),
        None,
    )
    last = run.history[-1]
    return {
        "variant": variant,
        "dataset": dataset,
        "seed": seed,
        "model": model,
        "val_acc": last["val_acc"],
        "train_acc": last["train_acc"],
        "steps": int(run.data.train.x.shape[1]),
        "epochs": len(run.history) - 1,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def table(paths: list[str]) -> str:
    rows: dict = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                rows.setdefault((r["dataset"], r["model"], r["variant"]), []).append(r)
    out = [
        "| data set | model | rule | seeds | validation accuracy (mean) | per seed | training acc. | steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, model, variant), rs in sorted(rows.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        per_seed = " ".join(f"{r['val_acc']:.2f}" for r in rs)
        out.append(
            f"| {dataset} | {model} | {variant} | {','.join(str(r['seed']) for r in rs)} | "
            f"{statistics.mean(r['val_acc'] for r in rs):.3f} | "
            f"{per_seed} | "
            f"{statistics.mean(r['train_acc'] for r in rs):.2f} | {rs[0]['steps']} |"
        )
    out += [
        "",
        "| data set | seeds both ran | every100 | mean100 | mean100 − every100 |",
        "|---|---|---|---|---|",
    ]
    for dataset in sorted({d for d, _, _ in rows}):
        by_seed = {
            v: {r["seed"]: r["val_acc"] for r in rows.get((dataset, "gru", v), [])}
            for v in ("every100", "mean100")
        }
        seeds = sorted(set(by_seed["every100"]) & set(by_seed["mean100"]))
        if seeds:
            a, b = (statistics.mean(by_seed[v][s] for s in seeds) for v in ("every100", "mean100"))
            out.append(f"| {dataset} | {','.join(map(str, seeds))} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("jobs", nargs="+", help="VARIANT:DATASET:SEED[:MODEL]")
    t = sub.add_parser("table")
    t.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if args.cmd == "table":
        print(table(args.paths))
        return
    torch.set_num_threads(1)
    for job in args.jobs:
        variant, dataset, seed, *model = job.split(":")
        rec = run_one(variant, dataset, int(seed), *model)
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
