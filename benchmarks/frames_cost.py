"""The cost of frames: one training epoch on frames of k steps (k x C inputs per step, the real-data default)
against block means (C inputs per step) of the same data set.

Three trainers per data set, with the recipe's settings (batch size, length rule) and a default 2-layer
64-unit model: block means at the recipe's limit for them (at most 100 steps), frames at that same limit
(the same number of recurrent steps: what the wider input product costs), and frames at their own limit
(at most 50 steps, the real-data default: what the default costs against block means). They alternate in
one process and the medians are compared.

    python benchmarks/frames_cost.py [--datasets ACSF1,OSULeaf,GunPoint] [--model gru] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.data.prepare import AUTO_MAX_STEPS
from rnnscope.models import build_model
from rnnscope.training.api import load_data
from rnnscope.training.loop import Trainer
from rnnscope.training.recipe import resolve_data

VARIANTS = {  # name: (downsample_by, step limit)
    "means": ("mean", AUTO_MAX_STEPS["mean"]),
    "frames, same steps": ("frames", AUTO_MAX_STEPS["mean"]),
    "frames (default)": ("frames", AUTO_MAX_STEPS["frames"]),
}


def trainer_for(dataset: str, by: str, limit: int, kind: str) -> Trainer:
    """A Trainer over `dataset` shortened by the auto rule to at most `limit` steps by `by` (frames, mean)."""
    cfg = DataConfig(task=None, dataset=dataset, downsample_by=by, downsample_max_steps=limit)
    data = load_data(resolve_data(cfg), seed=0)[0]
    model = build_model(ModelConfig(kind=kind), data.input_size, data.n_classes)
    return Trainer(model, data, TrainConfig(seed=0, device="cpu"))


def epoch_seconds(trainer: Trainer) -> float:
    t0 = time.perf_counter()
    trainer.optimise_epoch()
    return time.perf_counter() - t0


def median_epoch_seconds(trainers: dict[str, Trainer], repeats: int) -> dict[str, float]:
    """One warm-up epoch each, then `repeats` rounds of one epoch each, alternating -> median seconds."""
    times: dict[str, list[float]] = {name: [] for name in trainers}
    for tr in trainers.values():
        epoch_seconds(tr)
    for _ in range(repeats):
        for name, tr in trainers.items():
            times[name].append(epoch_seconds(tr))
    return {name: statistics.median(t) for name, t in times.items()}


def epoch_cost_args(doc: str, datasets: str, repeats: int) -> argparse.Namespace:
    """The options of an epoch-cost benchmark (--datasets, --model, --repeats); one torch thread from here."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--datasets", default=datasets)
    ap.add_argument("--model", default="gru")
    ap.add_argument("--repeats", type=int, default=repeats)
    args = ap.parse_args()
    torch.set_num_threads(1)
    return args


def main() -> None:
    args = epoch_cost_args(__doc__, "ACSF1,OSULeaf,GunPoint", 5)
    for dataset in args.datasets.split(","):
        trainers = {
            name: trainer_for(dataset, by, limit, args.model) for name, (by, limit) in VARIANTS.items()
        }
        med = median_epoch_seconds(trainers, args.repeats)
        shapes = "   ".join(
            f"{name} {tuple(tr.splits['train'].x.shape)}: {1e3 * med[name]:6.1f} ms"
            for name, tr in trainers.items()
        )
        print(
            f"{dataset:<10} {args.model}  batch {trainers['means'].cfg.batch_size:>2}  {shapes}   "
            "ratio to means: "
            f"same steps {med['frames, same steps'] / med['means']:.3f}, "
            f"default {med['frames (default)'] / med['means']:.3f}"
        )


if __name__ == "__main__":
    main()
