"""`rnnscope.import_model` / `rnnscope import`: a model trained elsewhere as an *imported* run directory.

    rnnscope.import_model(rnnscope.wrap(net.rnn, net.fc), "mixture", "runs/mine")
    rnnscope.import_model(model, (X_train, y_train, X_test, y_test), "runs/mine")
    import_weights("ckpt.pt", "lstm", "runs/mine", task="mixture", prefix="rnn.")   # the CLI's twin

Writes (layout: rnnscope.rundir.imported):
    DIR/imported.json        provenance (trained elsewhere; the source file and its SHA-256), the model's
                             kind and sizes, the data reference, the data's sizes, accuracies measured now
    DIR/model.safetensors    the weights
    DIR/data.safetensors     the data, when given as arrays
    DIR/recording/, DIR/analysis/   for a custom cell only, which no command can rebuild from a file

No history is written: nothing was trained here. Everything is validated, the data loaded and the
accuracies measured before the directory appears; it is built under a temporary name and moved into
place whole, so bad input leaves nothing behind. `rnnscope record|analyze|gradients|report|stream DIR`
then work on it as on a trained run (`rnnscope.load_run` loads it: training/imported.py).
"""

from __future__ import annotations

import platform
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnscope import __version__, names
from rnnscope.config import DataConfig
from rnnscope.data.dataset import DataBundle, Split
from rnnscope.errors import BadArgument
from rnnscope.io import FORMAT_VERSION, save_tensors, sha256
from rnnscope.models.from_weights import modules_from_state_dict, read_weights
from rnnscope.models.protocol import is_recurrent
from rnnscope.models.wrapping import wrap
from rnnscope.rundir import RunPaths
from rnnscope.rundir.imported import (
    ImportSummary,
    check_new_dir,
    publish,
    staging_dir,
    write_data_arrays,
    write_import_summary,
)
from rnnscope.stages.analyze import write_report
from rnnscope.stages.record import record_run
from rnnscope.training.api import Run, load_data
from rnnscope.training.imported import accuracy, describe_model, load_imported
from rnnscope.unitreport import analyze_recording

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test")


def import_model(
    model,
    data,
    out: str | Path,
    *,
    readout=None,
    task_params: dict | None = None,
    n_train: int = 1500,
    n_test: int = 1000,
    seed: int = 0,
    class_names: list[str] | None = None,
    source: dict | None = None,
    overwrite: bool = False,
) -> ImportSummary:
    """Write an imported run directory at `out` for `model` on `data`; returns its summary.

    model: a protocol model (`rnnscope.wrap(...)`, a built-in RecurrentClassifier), or an `nn.RNN` /
    `nn.LSTM` / `nn.GRU` or cell(s), wrapped here with `readout` (an nn.Linear or callable (B, H) -> (B, K)).
    The model needs a readout: the accuracies are measured now. data: a built-in task name (with
    task_params, n_train, n_test, seed), a UCR/UEA data set name, a path (as `--data`), or arrays
    (X_train (N, T, C), y_train (N,), X_test, y_test), stored in the directory. source: provenance of a
    file ({"file", "sha256", "format"}; the CLI sets it). TypeError / ValueError (BadArgument) naming the
    problem; nothing is written then.
    """
    out = check_new_dir(out, overwrite, "imported")
    model = _as_model(model, readout)
    if model.n_classes is None:
        raise BadArgument(
            "import_model needs a model with a readout (class scores) to measure its accuracies: "
            "wrap(core, readout) or readout="
        )
    reference, bundle, arrays = _data(data, task_params, n_train, n_test, seed, class_names)
    _check_fits(model, bundle)
    accuracies = {s: accuracy(model, getattr(bundle, s)) for s in ("train", "test")}
    train = bundle.train
    summary = ImportSummary(
        model=describe_model(model),
        data=reference,
        sizes={
            "n_train": len(train),
            "n_test": len(bundle.test),
            "seq_len": train.seq_len,
            "input_size": bundle.input_size,
            "n_classes": bundle.n_classes,
        },
        class_names=[str(c) for c in bundle.class_names],
        accuracies=accuracies,
        source={"trained": "elsewhere", "file": None, "sha256": None, "format": "python", **(source or {})},
        versions={"rnnscope": __version__, "torch": torch.__version__, "python": platform.python_version()},
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    staged = staging_dir(out, "import")
    try:
        paths = RunPaths(staged)
        save_tensors(paths.model, model.state_dict(), {"format_version": str(FORMAT_VERSION)})
        summary.files[paths.model.name] = sha256(paths.model)
        if arrays is not None:
            write_data_arrays(staged, arrays)
            summary.files[paths.imported_data.name] = sha256(paths.imported_data)
        write_import_summary(staged, summary)
        if not summary.model["rebuild"]:
            _record_and_analyze(staged, model)
        publish(staged, out)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return summary


def import_weights(
    weights: str | Path,
    kind: str,
    out: str | Path,
    *,
    task: str | None = None,
    dataset: str | None = None,
    data: str | None = None,
    prefix: str = "",
    readout_prefix: str = "fc.",
    nonlinearity: str = "tanh",
    overwrite: bool = False,
    **data_kwargs,
) -> ImportSummary:
    """`rnnscope import`: a state dict with PyTorch's key names (`.safetensors`, or `.pt` / `.pth` read
    with `torch.load(weights_only=True)`) -> an imported run at `out`. Give one of task, dataset, data."""
    given = [v for v in (task, dataset, data) if v is not None]
    if len(given) != 1:
        raise BadArgument("give exactly one of --task, --dataset, --data")
    check_new_dir(out, overwrite, "imported")
    state = read_weights(weights)
    core, head = modules_from_state_dict(
        state, kind, prefix=prefix, readout_prefix=readout_prefix, nonlinearity=nonlinearity
    )
    path = Path(weights)
    source = {"file": str(path.resolve()), "sha256": sha256(path), "format": path.suffix.lower().lstrip(".")}
    return import_model(wrap(core, head), given[0], out, source=source, overwrite=overwrite, **data_kwargs)


# ---- helpers ---------------------------------------------------------------------------------------
def _as_model(model, readout):
    if is_recurrent(model) and isinstance(model, nn.Module):
        if readout is not None:
            raise BadArgument("readout= is for an nn.RNN/LSTM/GRU or a cell; this model has its own")
        return model
    if isinstance(model, nn.Module) or isinstance(model, (list, tuple)):
        return wrap(model, readout)
    raise TypeError(
        f"import_model needs a protocol model (rnnscope.wrap(...)), an nn.RNN, nn.LSTM or nn.GRU, or a cell; "
        f"got {type(model).__name__}"
    )


def _data(data, task_params, n_train, n_test, seed, class_names):
    """(the data reference for imported.json, the DataBundle, the arrays to store or None)."""
    if isinstance(data, (tuple, list)):
        return _arrays(data, class_names)
    if not isinstance(data, (str, Path)):
        raise TypeError(
            "data must be a task name, a data set name, a path, or arrays (X_train, y_train, X_test, "
            f"y_test); got {type(data).__name__}"
        )
    text = str(data)
    if text.lower() in {n.lower() for n in names.TASK_NAMES}:
        cfg = DataConfig(task=text, task_params=dict(task_params or {}), n_train=n_train, n_test=n_test)
        ref = {"task": cfg.task, "task_params": cfg.task_params, "n_train": n_train, "n_test": n_test}
        ref["seed"] = seed
    elif text.lower() in {n.lower() for n in names.DATASET_NAMES}:
        cfg = DataConfig(task=None, dataset=text)
        ref = {"dataset": cfg.dataset, "normalize": cfg.normalize}
    else:
        if not Path(text).exists():
            raise BadArgument(
                f"data {text!r} is neither a task ({', '.join(names.TASK_NAMES)}), a data set name, nor an "
                "existing path"
            )
        cfg = DataConfig(task=None, path=str(Path(text).resolve()))
        ref = {"path": cfg.path, "normalize": cfg.normalize}
    bundle, _ = load_data(cfg, seed)
    return ref, bundle, None


def _arrays(data, class_names):
    if len(data) != 4:
        raise BadArgument(f"data arrays must be (X_train, y_train, X_test, y_test), got {len(data)} arrays")
    arrays = {}
    for name, value in zip(ARRAY_NAMES, data):
        a = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if name.startswith("X"):
            if a.ndim == 2:
                a = a[:, :, None]
            if a.ndim != 3 or not np.issubdtype(a.dtype, np.number):
                raise BadArgument(f"{name} must be a numeric array (N, T, C) or (N, T), got shape {a.shape}")
            if not np.isfinite(a).all():
                raise BadArgument(f"{name} holds NaN or infinite values")
            a = a.astype(np.float32)
        else:
            if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
                raise BadArgument(f"{name} must be integer class indices (N,), got {a.dtype} {a.shape}")
            a = a.astype(np.int64)
        arrays[name] = a
    splits = {}
    for s in ("train", "test"):
        x, y = arrays[f"X_{s}"], arrays[f"y_{s}"]
        if len(x) != len(y) or len(x) == 0:
            raise BadArgument(f"X_{s} has {len(x)} sequences but y_{s} has {len(y)} labels (need >= 1)")
        arrays[f"lengths_{s}"] = np.full(len(x), x.shape[1], dtype=np.int64)
        splits[s] = Split(x, y, arrays[f"lengths_{s}"])
    if arrays["X_train"].shape[2] != arrays["X_test"].shape[2]:
        raise BadArgument("X_train and X_test have different numbers of channels")
    k = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    if min(arrays["y_train"].min(), arrays["y_test"].min()) < 0:
        raise BadArgument("class indices must be non-negative")
    names_ = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(k)]
    if len(names_) < k:
        raise BadArgument(f"class_names names {len(names_)} classes but the labels use {k}")
    bundle = DataBundle(splits["train"], splits["test"], len(names_), names_, {"kind": "arrays"})
    return {"arrays": RunPaths(".").imported_data.name}, bundle, arrays


def _check_fits(model, bundle: DataBundle) -> None:
    if model.input_size != bundle.input_size:
        raise BadArgument(
            f"the model reads {model.input_size} input channels but the data have {bundle.input_size}"
        )
    if model.n_classes != bundle.n_classes:
        raise BadArgument(f"the model scores {model.n_classes} classes but the data have {bundle.n_classes}")


def _record_and_analyze(staged: Path, model) -> None:
    """A custom cell's recording and unit analysis (of the test split), written into the staged directory."""
    run = Run(**load_imported(staged, model=model))
    rec = record_run(staged, split="test", run=run)
    report = analyze_recording(rec, class_names=list(run.data.class_names))
    report.summary.split = "test"
    write_report(report, RunPaths(staged).analysis)
