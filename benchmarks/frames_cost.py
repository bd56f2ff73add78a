"""The cost of frames: one training epoch on frames of k steps (k x C inputs per step, the real-data default)
against block means (C inputs per step) of the same data set, same number of recurrent steps.

Both runs use the recipe's settings for the data set (batch size, length rule) and a default 2-layer
64-unit model; they alternate in one process and the medians are compared.

    python benchmarks/frames_cost.py [--datasets ACSF1,OSULeaf,GunPoint] [--model gru] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.models import build_model
from rnnscope.training.api import load_data
from rnnscope.training.loop import Trainer
from rnnscope.training.recipe import resolve_data


def trainer_for(dataset: str, by: str, kind: str) -> Trainer:
    """A Trainer over `dataset` shortened by the recipe's k, `by` "frames" or "mean"."""
    data = load_data(resolve_data(DataConfig(task=None, dataset=dataset, downsample_by=by)), seed=0)[0]
    model = build_model(ModelConfig(kind=kind), data.input_size, data.n_classes)
    return Trainer(model, data, TrainConfig(seed=0, device="cpu"))


def epoch_seconds(trainer: Trainer) -> float:
    t0 = time.perf_counter()
    trainer.optimise_epoch()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="ACSF1,OSULeaf,GunPoint")
    ap.add_argument("--model", default="gru")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for dataset in args.datasets.split(","):
        trainers = {by: trainer_for(dataset, by, args.model) for by in ("mean", "frames")}
        times: dict[str, list[float]] = {by: [] for by in trainers}
        for tr in trainers.values():  # warm-up epoch each
            epoch_seconds(tr)
        for _ in range(args.repeats):
            for by, tr in trainers.items():
                times[by].append(epoch_seconds(tr))
        mean_t, frames_t = (statistics.median(times[by]) for by in ("mean", "frames"))
        x = {by: tr.splits["train"].x.shape for by, tr in trainers.items()}
        print(
            f"{dataset:<22} {args.model}  batch {trainers['frames'].cfg.batch_size:>2}  "
            f"block means {tuple(x['mean'])}: {1e3 * mean_t:7.1f} ms/epoch   "
            f"frames {tuple(x['frames'])}: {1e3 * frames_t:7.1f} ms/epoch   "
            f"ratio frames / means {frames_t / mean_t:.3f}"
        )


if __name__ == "__main__":
    main()
