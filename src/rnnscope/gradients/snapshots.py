"""The gradient profile through training: a callback that snapshots it on a fixed probe batch.

    RUN/gradients/through_training.safetensors   "epochs" (E,), "probe_index" (B,),
                                                 "mean/<quantity>/<layer>", "std/<quantity>/<layer>" (E, T)
    RUN/gradients/through_training.json          kind, split, batch, seed, every, epochs, seq_len, names

Snapshots are taken at initialisation (epoch 0), every `every` epochs, and after the last epoch. The
probe is a seeded choice of sequences from one split (`profile.probe_indices`, the same choice
`rnnscope gradients` makes). Taking a snapshot changes nothing about training: the computation uses
no randomness, leaves no parameter gradient, and runs inside a forked RNG state anyway.

Key: E = snapshots, T = time, B = probe batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnscope.errors import BadArgument
from rnnscope.gradients.capture import step_gradients
from rnnscope.gradients.profile import gradient_profiles, probe_indices
from rnnscope.io import load_tensors, read_json, save_tensors, write_json
from rnnscope.models.protocol import TracedForward, model_kind, supports
from rnnscope.training.callbacks import Callback

STEM = "through_training"


@dataclass
class ThroughTraining:
    """Profiles by step at several epochs: epochs (E,), mean and std {"<quantity>/<layer>": (E, T)}."""

    epochs: np.ndarray
    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]
    meta: dict


def save_through_training(
    directory: Path, epochs: list[int], rows: list[dict], meta: dict, index: np.ndarray
) -> None:

    directory.mkdir(parents=True, exist_ok=True)
    names = list(rows[0]) if rows else []
    tensors = {"epochs": torch.tensor(epochs, dtype=torch.int64), "probe_index": torch.as_tensor(index)}
    for name in names:
        tensors[f"mean/{name}"] = torch.tensor(np.stack([r[name][0] for r in rows]))
        tensors[f"std/{name}"] = torch.tensor(np.stack([r[name][1] for r in rows]))
    save_tensors(directory / f"{STEM}.safetensors", tensors, {"format_version": "1"})
    write_json(directory / f"{STEM}.json", {**meta, "epochs": list(epochs), "names": names})


def load_through_training(run_dir: str | Path) -> ThroughTraining | None:
    """The snapshots of a run, or None when it has none."""

    directory = Path(run_dir) / "gradients"
    if not (directory / f"{STEM}.json").exists():
        return None
    meta = read_json(directory / f"{STEM}.json", "gradient snapshots")
    t = load_tensors(directory / f"{STEM}.safetensors", "gradient snapshots")
    names = meta.get("names", [])
    return ThroughTraining(
        t["epochs"].numpy(),
        {n: t[f"mean/{n}"].numpy() for n in names},
        {n: t[f"std/{n}"].numpy() for n in names},
        meta,
    )


class GradientSnapshots(Callback):
    """Snapshot the per-step gradient profile at initialisation and every `every` epochs.

    run_dir: where to write (RUN/gradients/...); batch: probe size; split: "test", "val" or "train".
    """

    def __init__(self, run_dir: str | Path, every: int = 5, batch: int = 64, split: str = "test"):
        if every < 1:
            raise BadArgument(f"every must be positive, got {every}")
        if batch < 1:
            raise BadArgument(f"batch must be positive, got {batch}")
        if split not in ("train", "val", "test"):
            raise BadArgument(f"split must be train, val or test, got {split!r}")
        self.run_dir, self.every, self.batch, self.split = Path(run_dir), every, batch, split
        self.epochs: list[int] = []
        self.rows: list[dict] = []

    def on_train_begin(self, trainer) -> None:
        if self.split not in trainer.splits:
            raise BadArgument(f"the run has no {self.split} split to take gradient snapshots on")
        sp = trainer.splits[self.split]
        self.index = probe_indices(sp.n, self.batch, trainer.cfg.seed)
        idx = torch.as_tensor(self.index, dtype=torch.long)
        self.x, self.y = sp.x[idx.to(sp.x.device)], sp.y[idx.to(sp.y.device)]
        self.lengths = sp.lengths[idx]
        self.epochs, self.rows = [], []
        if trainer.epoch > 0:  # resumed: keep what earlier epochs recorded
            old = load_through_training(self.run_dir)
            if old is not None:
                for e, i in zip(old.epochs.tolist(), range(len(old.epochs))):
                    if e <= trainer.epoch:
                        self.epochs.append(int(e))
                        self.rows.append({n: (old.mean[n][i], old.std[n][i]) for n in old.mean})

    def on_epoch_end(self, trainer, record: dict) -> None:
        if record["epoch"] % self.every == 0:
            self.snapshot(trainer)

    def on_train_end(self, trainer) -> None:
        if not self.epochs or self.epochs[-1] != trainer.epoch:
            self.snapshot(trainer)

    def snapshot(self, trainer) -> None:
        model = trainer.model
        devices = [trainer.device] if trainer.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            grads = step_gradients(
                model, self.x, self.y, self.lengths, learning=supports(model, TracedForward)
            )
        by_step, _ = gradient_profiles(grads)
        row = {f"{q}/{layer}": stats for (q, layer), stats in by_step.items()}
        if self.epochs and self.epochs[-1] == trainer.epoch:
            self.epochs.pop()
            self.rows.pop()
        self.epochs.append(trainer.epoch)
        self.rows.append(row)
        meta = {
            "kind": model_kind(model),
            "split": self.split,
            "batch": len(self.index),
            "seed": trainer.cfg.seed,
            "every": self.every,
            "seq_len": int(self.x.shape[1]),
        }
        save_through_training(self.run_dir / "gradients", self.epochs, self.rows, meta, self.index)
