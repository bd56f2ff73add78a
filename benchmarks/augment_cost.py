"""The cost of training-batch augmentation: one training epoch with each augmentation against none.

Four trainers per data set, with the recipe's settings (batch size, frames to at most 50 steps) and a
default 2-layer 64-unit model, differing only in `augment`: none, jitter+scale (the recipe before),
jitter+scale+magwarp (the real-data default) and jitter+scale+magwarp+mixup (the option). They alternate in
one process (one torch thread) and the medians are compared with `none`.

    python benchmarks/augment_cost.py [--datasets ArrowHead,OSULeaf,GunPoint] [--model gru] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from frames_cost import epoch_seconds
from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.models import build_model
from rnnscope.training.api import load_data
from rnnscope.training.loop import Trainer
from rnnscope.training.recipe import resolve_data

AUGMENTS = ("none", "jitter+scale", "jitter+scale+magwarp", "jitter+scale+magwarp+mixup")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="ArrowHead,OSULeaf,GunPoint")
    ap.add_argument("--model", default="gru")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for dataset in args.datasets.split(","):
        data = load_data(resolve_data(DataConfig(task=None, dataset=dataset)), seed=0)[0]
        trainers = {
            how: Trainer(
                build_model(ModelConfig(kind=args.model), data.input_size, data.n_classes),
                data,
                TrainConfig(seed=0, device="cpu", augment=how),
            )
            for how in AUGMENTS
        }
        times: dict[str, list[float]] = {how: [] for how in trainers}
        for tr in trainers.values():  # warm-up epoch each
            epoch_seconds(tr)
        for _ in range(args.repeats):
            for how, tr in trainers.items():
                times[how].append(epoch_seconds(tr))
        med = {how: statistics.median(t) for how, t in times.items()}
        tr = trainers["none"]
        shape = tuple(tr.splits["train"].x.shape)
        ratios = ", ".join(f"{how} {med[how] / med['none']:.3f}" for how in AUGMENTS[1:])
        print(
            f"{dataset:<10} {args.model}  batch {tr.cfg.batch_size:>2}  train {shape}"
            f"  none {1e3 * med['none']:6.1f} ms per epoch   ratio to none: {ratios}"
        )


if __name__ == "__main__":
    main()
