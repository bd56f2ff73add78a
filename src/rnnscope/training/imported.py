"""Imported runs read back: a model trained elsewhere as a `Run` every command can use.

`load_imported(path, device, model)` is what `rnnscope.load_run` does for a directory holding
`imported.json` (rnnscope.rundir.imported). An `nn.RNN` / `nn.LSTM` / `nn.GRU` core is rebuilt from the
stored kind and sizes and the weights of model.safetensors, then wrapped (`rnnscope.wrap`); a custom
cell cannot be rebuilt from a file (no code is ever imported by name), so the caller hands its module
back (`model=`): a copy of it gets the stored weights, the caller's module is not touched.

The `Run` has no training history (`history == []`); its metrics are the accuracies measured at import;
its TrainConfig is the default with `val_fraction = 0` (no validation split is known) and the data's
seed; `initial()` is the same architecture freshly initialised (PyTorch's default initialisation, seed 0),
the reference the gradient report compares against.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.data.dataset import DataBundle, Split
from rnnscope.errors import BadArgument
from rnnscope.io import RunFileError
from rnnscope.models.from_weights import FUSED
from rnnscope.models.protocol import eval_mode, is_recurrent
from rnnscope.models.wrapping import wrap
from rnnscope.rundir import ImportSummary, RunPaths, load_model_state, read_data_arrays, read_import_summary

SPLITS = ("train", "test")


def describe_model(model) -> dict:
    """imported.json's `model` entry for a protocol model (built-in, wrapped, or custom cells)."""
    core, head = getattr(model, "core", None), getattr(model, "head", None)
    readout = head is None or isinstance(head, nn.Linear)
    if isinstance(core, nn.RNNBase) and readout:
        kind = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}[core.mode]
        return {
            "kind": kind,
            "nonlinearity": "relu" if core.mode == "RNN_RELU" else "tanh",
            "bias": bool(core.bias),
            "input_size": int(core.input_size),
            "hidden_size": int(core.hidden_size),
            "layers": int(core.num_layers),
            "n_classes": model.n_classes,
            "readout_bias": head is not None and head.bias is not None,
            "module": type(core).__name__ + (f" + {type(head).__name__}" if head is not None else ""),
            "rebuild": True,
        }
    cells = getattr(model, "cells", None)
    names = [type(c).__name__ for c in cells] if cells is not None else [type(model).__name__]
    return {
        "kind": "custom",
        "input_size": int(model.input_size),
        "layer_sizes": [int(h) for h in model.layer_sizes],
        "layers": int(model.num_layers),
        "n_classes": model.n_classes,
        "module": " + ".join(names) + (f" + {type(head).__name__}" if head is not None else ""),
        "rebuild": False,
    }


def rebuild(summary: ImportSummary, seed: int | None = None) -> nn.Module:
    """A wrapped core of the stored kind and sizes (weights: PyTorch's initialisation, under `seed`)."""
    m = summary.model
    kw = {"nonlinearity": m["nonlinearity"]} if m["kind"] == "rnn" else {}
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        core = FUSED[m["kind"]](
            m["input_size"], m["hidden_size"], m["layers"], bias=m["bias"], batch_first=True, **kw
        )
        head = nn.Linear(m["hidden_size"], m["n_classes"], bias=m["readout_bias"]) if m["n_classes"] else None
    return wrap(core, head).eval()


def reattach(summary: ImportSummary, model, state: dict, path: Path) -> nn.Module:
    """A copy of the caller's `model` (a protocol model, a cell or a list of cells) with the stored
    weights. BadArgument when it does not fit them."""
    m = copy.deepcopy(model)
    if not is_recurrent(m):
        sizes = summary.model.get("layer_sizes") or [summary.model.get("hidden_size")]
        m = wrap(m, input_size=summary.model["input_size"], hidden_size=sizes if len(sizes) > 1 else sizes[0])
    try:
        m.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = " ".join(str(err).split())[:300]
        raise BadArgument(
            f"the model given does not fit {RunPaths(path).model} ({summary.model.get('module')}): {first}"
        ) from None
    return m.eval()


def data_of(summary: ImportSummary, path: Path) -> tuple[DataConfig, DataBundle | None]:
    """The run's DataConfig and, for arrays stored at import, the DataBundle."""
    d = summary.data
    if "arrays" in d:
        arrays = read_data_arrays(path)
        try:
            splits = [
                Split(arrays[f"X_{s}"], arrays[f"y_{s}"].astype(np.int64), arrays[f"lengths_{s}"])
                for s in SPLITS
            ]
        except (KeyError, ValueError) as err:
            raise RunFileError(f"imported data {RunPaths(path).imported_data} is corrupt ({err})") from None
        cfg = DataConfig(task=None, path=str(RunPaths(path).imported_data), normalize="none")
        return cfg, DataBundle(
            *splits, summary.sizes["n_classes"], list(summary.class_names), {"kind": "arrays"}
        )
    keys = (
        "task",
        "task_params",
        "n_train",
        "n_test",
        "dataset",
        "path",
        "normalize",
        "truncate",
        "downsample",
        "downsample_by",
    )
    cfg = {k: d[k] for k in keys if k in d}
    if "task" not in cfg:
        cfg["task"] = None
    return DataConfig(**cfg), None


def load_imported(path: str | Path, device: str = "cpu", model=None) -> dict:
    """The fields of the `Run` (rnnscope.training.api) of an imported directory (see the module docstring)."""
    path = Path(path)
    summary = read_import_summary(path)
    state = load_model_state(path)
    m = summary.model
    if model is not None:
        net = reattach(summary, model, state, path)
    elif not m.get("rebuild"):
        raise RunFileError(
            f"{path} holds an imported custom model ({m.get('module')}), which rnnscope cannot rebuild "
            f"from a file (it never imports code by name); its recording and analysis are in the directory "
            f"(rnnscope report {path}); in Python, rnnscope.load_run({str(path)!r}, model=your_module)"
        )
    else:
        net = rebuild(summary)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError:
            raise RunFileError(
                f"model {RunPaths(path).model} does not match {RunPaths(path).imported.name}"
            ) from None
    data_cfg, data = data_of(summary, path)
    kind = m["kind"] if m["kind"] in ("rnn", "lstm", "gru") else "rnn"
    hidden = m.get("hidden_size") or max(m.get("layer_sizes") or [1])
    model_cfg = ModelConfig(kind=kind, hidden=int(hidden), layers=int(m["layers"]))
    train_cfg = TrainConfig(val_fraction=0.0, seed=int(summary.data.get("seed", 0)))
    config = {
        "data": {**summary.data, "normalize": summary.data.get("normalize", "none")},
        "model": {**m},
        "input_size": summary.sizes["input_size"],
        "n_classes": summary.sizes["n_classes"],
        "class_names": list(summary.class_names),
        "data_source": {},
        "imported": summary.to_json(),
    }
    metrics = {f"{s}_acc": summary.accuracies.get(s) for s in SPLITS} | {"val_acc": None}
    return {
        "path": path,
        "data_cfg": data_cfg,
        "model_cfg": model_cfg,
        "train_cfg": train_cfg,
        "model": net.to(device).eval(),
        "history": [],
        "metrics": metrics,
        "config": config,
        "_data": data,
        "initial": (lambda: rebuild(summary, seed=0)) if m.get("rebuild") else None,
    }


@torch.no_grad()
def accuracy(model, split: Split, batch: int = 256) -> float:
    """Share of `split`'s sequences whose argmax logit (at each sequence's last step) is the label."""
    like = next(iter(model.parameters()), torch.zeros(()))
    correct = 0
    with eval_mode(model):
        for i in range(0, len(split), batch):
            x = torch.as_tensor(split.x[i : i + batch], dtype=like.dtype, device=like.device)
            lengths = torch.as_tensor(split.lengths[i : i + batch], device=like.device)
            pred = model(x, lengths).argmax(-1).cpu().numpy()
            correct += int((pred == split.y[i : i + batch]).sum())
    return correct / max(1, len(split))
