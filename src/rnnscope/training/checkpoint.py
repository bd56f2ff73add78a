"""Checkpoints that an exact resume can rely on: atomic, verified, no pickle.

Layout: RUN/checkpoints/epoch-000012/{state.safetensors, state.json, MANIFEST.json}. A checkpoint is
built in a hidden temporary directory, every file fsynced, then renamed into place in one step; the
manifest (written last, inside the temporary directory) holds each file's SHA-256, and a checkpoint is
only chosen on load when its manifest verifies. The newest verified checkpoint wins.

What it holds: model, optimizer (and scheduler when present) state; every RNG state (torch CPU and CUDA,
numpy's and Python's global generators, the data-order generator); the epoch (checkpoints sit on epoch
boundaries, so the position inside the epoch is always 0); history, status.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from rnnscope.io import RunFileError, _fsync_dir, load_tensors, read_json, save_tensors, sha256, write_json
from rnnscope.training.callbacks import Callback

FILES = ("state.safetensors", "state.json")


def _name(epoch: int) -> str:
    return f"epoch-{epoch:06d}"


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
    tensors["rng/order"] = trainer.order.get_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    np_state = np.random.get_state()
    meta = {
        "epoch": trainer.epoch, "position_in_epoch": 0, "status": trainer.status,
        "stop_reason": trainer.stop_reason, "history": trainer.history, "optimizer": opt_json,
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "rng": {"numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
                "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]]},
    }
    return tensors, meta


def restore_trainer(trainer, tensors: dict[str, torch.Tensor], meta: dict, restore_rng: bool = True) -> None:
    """Put a trainer back in the state `trainer_state` captured. restore_rng=False exists for the
    negative control of the resume test (it must then produce different weights)."""
    model_sd = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
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
    trainer.history = meta["history"]
    trainer.status = "running"
    trainer.stop_reason = None


def save_checkpoint(trainer, ckpt_root: str | Path, keep: int = 2) -> Path:
    """Write a checkpoint of the trainer's current epoch atomically; keep the newest `keep`."""
    root = Path(ckpt_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / _name(trainer.epoch)
    tmp = root / f".tmp-{_name(trainer.epoch)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tensors, meta = trainer_state(trainer)
    save_tensors(tmp / "state.safetensors", tensors)
    write_json(tmp / "state.json", meta)
    write_json(tmp / "MANIFEST.json", {"epoch": trainer.epoch, "files": {f: sha256(tmp / f) for f in FILES}})
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    for old in sorted(root.glob("epoch-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def verify_checkpoint(path: Path) -> None:
    """Raise RunFileError naming what is wrong unless every file matches its manifest."""
    manifest = read_json(path / "MANIFEST.json", "checkpoint manifest")
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


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    verify_checkpoint(path)
    return load_tensors(path / "state.safetensors", "checkpoint"), read_json(path / "state.json", "checkpoint")


class Checkpointer(Callback):
    """Checkpoint every `every` epochs and at the end of training."""

    def __init__(self, ckpt_root: str | Path, every: int = 1, keep: int = 2):
        self.root, self.every, self.keep = Path(ckpt_root), every, keep

    def on_epoch_end(self, trainer, record: dict) -> None:
        if trainer.epoch > 0 and trainer.epoch % self.every == 0:
            save_checkpoint(trainer, self.root, self.keep)

    def on_train_end(self, trainer) -> None:
        if trainer.status == "completed" and trainer.epoch % self.every:
            save_checkpoint(trainer, self.root, self.keep)
