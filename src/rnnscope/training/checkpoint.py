"""Checkpoints that an exact resume can rely on: atomic, verified, no pickle.

Layout: RUN/checkpoints/epoch-000012/{state.safetensors, state.json, MANIFEST.json}, and for a checkpoint
inside an epoch (`checkpoint_every_batches`) RUN/checkpoints/epoch-000012-batch-000040 (12 epochs done, 40
batches of the 13th). Names sort in training order. A checkpoint is built in a hidden temporary directory
`.tmp-<name>-<pid>`, every file fsynced, then renamed into place in one step; the manifest (written last,
inside the temporary directory) holds each file's SHA-256, and a checkpoint is only chosen on load when its
manifest verifies. The newest verified checkpoint wins; temporary directories left by a killed process are
never chosen and are removed when training starts again (under the run's lock).

What it holds: model, optimizer (and scheduler when present) state; every RNG state (torch CPU and CUDA,
numpy's and Python's global generators, the data-order generator as it was at the start of the current
epoch); the epoch and the position inside it (batches done, with the running loss and gradient-norm sums);
history, status, stop reason.

Test hook: RNNSCOPE_TEST_CHECKPOINT_DELAY=<seconds> sleeps after each file of a checkpoint is written, so
that the kill -9 test (tests/test_reliability_resume.py) can land a SIGKILL inside a checkpoint write.
It is unset in normal use and changes nothing else.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from rnnscope.io import (
    FORMAT_VERSION,
    RunFileError,
    _fsync_dir,
    load_tensors,
    read_json,
    save_tensors,
    sha256,
    write_json,
)
from rnnscope.training.callbacks import Callback

FILES = ("state.safetensors", "state.json")
DELAY_ENV = "RNNSCOPE_TEST_CHECKPOINT_DELAY"


def checkpoint_name(epoch: int, position: int = 0) -> str:
    """'epoch-000012' after 12 epochs; 'epoch-000012-batch-000040' 40 batches into the 13th."""
    return f"epoch-{epoch:06d}" + (f"-batch-{position:06d}" if position else "")


def _test_delay() -> None:
    delay = os.environ.get(DELAY_ENV)
    if delay:
        time.sleep(float(delay))


def trainer_state(trainer) -> tuple[dict[str, torch.Tensor], dict]:
    """Everything that changes during training, split into tensors and JSON."""
    tensors = {f"model/{k}": v for k, v in trainer.model.state_dict().items()}
    opt = trainer.optimizer.state_dict()
    opt_json = {"param_groups": opt["param_groups"], "state": {}}
    for pid, st in opt["state"].items():
        opt_json["state"][str(pid)] = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim/{pid}/{k}"] = v
            else:
                opt_json["state"][str(pid)][k] = v
    tensors["rng/torch_cpu"] = torch.get_rng_state()
    # inside an epoch the order is regenerated from the epoch's start state, then `position` batches skipped
    tensors["rng/order"] = trainer.epoch_order if trainer.position else trainer.order.get_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    np_state = np.random.get_state()
    meta = {
        "epoch": trainer.epoch,
        "position_in_epoch": trainer.position,
        "partial_sums": list(trainer.partial),
        "status": trainer.status,
        "stop_reason": trainer.stop_reason,
        "history": trainer.history,
        "optimizer": opt_json,
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "rng": {
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        },
    }
    return tensors, meta


def restore_trainer(trainer, tensors: dict[str, torch.Tensor], meta: dict, restore_rng: bool = True) -> None:
    """Put a trainer back in the state `trainer_state` captured. restore_rng=False exists for the
    negative control of the resume test (it must then produce different weights)."""
    model_sd = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
    trainer.model.load_state_dict(model_sd)
    opt_state: dict = {}
    for pid, st in meta["optimizer"]["state"].items():
        opt_state[int(pid)] = dict(st)
    for k, v in tensors.items():
        if k.startswith("optim/"):
            _, pid, key = k.split("/", 2)
            opt_state.setdefault(int(pid), {})[key] = v.to(trainer.device) if key != "step" else v
    trainer.optimizer.load_state_dict({"state": opt_state, "param_groups": meta["optimizer"]["param_groups"]})
    if trainer.scheduler is not None and meta.get("scheduler") is not None:
        trainer.scheduler.load_state_dict(meta["scheduler"])
    if restore_rng:
        torch.set_rng_state(tensors["rng/torch_cpu"])
        trainer.order.set_state(tensors["rng/order"])
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        n = meta["rng"]["numpy"]
        np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))
        p = meta["rng"]["python"]
        random.setstate((p[0], tuple(p[1]), p[2]))
    trainer.epoch = meta["epoch"]
    trainer.position = int(meta.get("position_in_epoch", 0))
    trainer.partial = tuple(meta.get("partial_sums", (0.0, 0.0)))
    trainer.history = meta["history"]
    trainer.status = "running"
    trainer.stop_reason = meta.get("stop_reason")  # e.g. early stopping decided at this epoch


def save_checkpoint(trainer, ckpt_root: str | Path, keep: int = 2) -> Path:
    """Write a checkpoint of the trainer's current state atomically; keep the newest `keep`."""
    root = Path(ckpt_root)
    root.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(trainer.epoch, trainer.position)
    final = root / name
    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tensors, meta = trainer_state(trainer)
    save_tensors(tmp / "state.safetensors", tensors, {"format_version": str(FORMAT_VERSION)})
    _test_delay()
    write_json(tmp / "state.json", meta)
    _test_delay()
    write_json(
        tmp / "MANIFEST.json",
        {
            "epoch": trainer.epoch,
            "position_in_epoch": trainer.position,
            "files": {f: sha256(tmp / f) for f in FILES},
        },
        checksum=True,
    )
    _test_delay()
    _fsync_dir(tmp)
    if final.exists():  # only a checkpoint that failed verification can be in the way
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    for old in sorted(root.glob("epoch-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def remove_partial(ckpt_root: str | Path) -> list[str]:
    """Delete temporary checkpoint directories left by a killed writer (call only under the run lock)."""
    removed = []
    for tmp in Path(ckpt_root).glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp.name)
    return removed


def verify_checkpoint(path: Path) -> None:
    """Raise RunFileError naming what is wrong unless every file matches its manifest."""
    manifest = read_json(path / "MANIFEST.json", f"checkpoint {path.name}: manifest")
    for f in FILES:
        if not (path / f).exists():
            raise RunFileError(f"checkpoint {path.name}: {f} is missing")
        if sha256(path / f) != manifest.get("files", {}).get(f):
            raise RunFileError(f"checkpoint {path.name}: {f} does not match its SHA-256 (corrupt)")


def latest_checkpoint(ckpt_root: str | Path) -> tuple[Path, list[str]]:
    """The newest verified checkpoint and the problems found with newer ones.

    Raises RunFileError when none is intact.
    """
    root = Path(ckpt_root)
    problems: list[str] = []
    for cand in sorted(root.glob("epoch-*"), reverse=True):
        try:
            verify_checkpoint(cand)
            return cand, problems
        except RunFileError as err:
            problems.append(str(err))
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise RunFileError(f"no intact checkpoint in {root}{detail}")


def intact_checkpoint(ckpt_root: str | Path) -> str | None:
    """The name of the newest intact checkpoint, or None (for error messages that say what to do)."""
    try:
        return latest_checkpoint(ckpt_root)[0].name
    except RunFileError:
        return None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, JSON state) of a verified checkpoint; RunFileError naming the file otherwise."""
    verify_checkpoint(path)
    what = f"checkpoint {path.name}:"
    return load_tensors(path / "state.safetensors", what), read_json(path / "state.json", what)


def load_latest(ckpt_root: str | Path) -> tuple[Path, dict[str, torch.Tensor], dict, list[str]]:
    """The newest checkpoint that verifies AND loads -> (path, tensors, state, problems with newer ones).

    Raises RunFileError listing every problem when none does.
    """
    root = Path(ckpt_root)
    problems: list[str] = []
    for cand in sorted(root.glob("epoch-*"), reverse=True):
        try:
            return (cand, *load_checkpoint(cand), problems)
        except RunFileError as err:
            problems.append(str(err))
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise RunFileError(f"no intact checkpoint in {root}{detail}")


class Checkpointer(Callback):
    """Checkpoint every `every` epochs, every `every_batches` batches inside an epoch (None: never), and at
    the end of training. Put it after every callback that changes the trainer (early stopping), so that a
    checkpoint holds their decisions."""

    def __init__(
        self, ckpt_root: str | Path, every: int = 1, keep: int = 2, every_batches: int | None = None
    ):
        self.root, self.every, self.keep, self.every_batches = Path(ckpt_root), every, keep, every_batches

    def on_train_begin(self, trainer) -> None:
        remove_partial(self.root)

    def on_batch_end(self, trainer, batch: int, loss: float) -> None:
        if (
            self.every_batches
            and trainer.position % self.every_batches == 0
            and trainer.position < trainer.batches_per_epoch
        ):  # the epoch's end has its own checkpoint
            save_checkpoint(trainer, self.root, self.keep)

    def on_epoch_end(self, trainer, record: dict) -> None:
        if trainer.epoch > 0 and trainer.epoch % self.every == 0:
            save_checkpoint(trainer, self.root, self.keep)

    def on_train_end(self, trainer) -> None:
        if trainer.status == "completed" and trainer.epoch % self.every:
            save_checkpoint(trainer, self.root, self.keep)
