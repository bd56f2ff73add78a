"""The cost of training-batch augmentation: one training epoch with each augmentation against none.

Four trainers per data set, with the recipe's settings (batch size, frames to at most 50 steps) and a
default 2-layer 64-unit model, differing only in `augment`: none, jitter+scale (the recipe before),
jitter+scale+magwarp (the real-data default) and jitter+scale+magwarp+mixup (the option). They alternate in
one process (one torch thread) and the medians are compared with `none`.

    python benchmarks/augment_cost.py [--datasets ArrowHead,OSULeaf,GunPoint] [--model gru] [--repeats 7]
"""

from __future__ import annotations

from frames_cost import epoch_cost_args, median_epoch_seconds
from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.models import build_model
from rnnscope.training.api import load_data
from rnnscope.training.loop import Trainer
from rnnscope.training.recipe import resolve_data

AUGMENTS = ("none", "jitter+scale", "jitter+scale+magwarp", "jitter+scale+magwarp+mixup")


def main() -> None:
    args = epoch_cost_args(__doc__, "ArrowHead,OSULeaf,GunPoint", 7)
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
        med = median_epoch_seconds(trainers, args.repeats)
        tr = trainers["none"]
        shape = tuple(tr.splits["train"].x.shape)
        ratios = ", ".join(f"{how} {med[how] / med['none']:.3f}" for how in AUGMENTS[1:])
        print(
            f"{dataset:<10} {args.model}  batch {tr.cfg.batch_size:>2}  train {shape}"
            f"  none {1e3 * med['none']:6.1f} ms per epoch   ratio to none: {ratios}"
        )


if __name__ == "__main__":
    main()
