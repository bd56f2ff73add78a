"""The recorder: run a model over data, step by step, and hand back what a RecordSpec asks for.

Everything goes through the model protocol (docs/models.md). A recurrent model runs its single step
(`step_with_gates` where it has gates, else `step`), read through `layer_states`: for the built-in cells
the same equations as the fused kernel (tests hold the two equal to 1e-5). A model with residual streams
(the Transformer) runs `encode(x, need_weights=True)`, which returns every block's residual stream and
attention weights. Everything runs under `torch.no_grad()`
with the model temporarily in eval mode (its flags restored in `finally`); no hook is registered and no
parameter is touched, so the caller's model is left exactly as it was.

Data go through in chunks of `spec.chunk_size` sequences; `record_chunks` yields one dict of numpy
arrays per chunk, so a recording never has to fit in memory (`record_to_disk` writes each chunk as it
comes). Steps at or past a sequence's length hold NaN (inputs included); `lengths` marks them.

Key: S = sequences, T = padded length, T' = kept steps, C = channels, H = hidden, L = layers,
K = classes, N = heads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from rnnscope.errors import BadArgument
from rnnscope.models.protocol import (
    HasGates,
    eval_mode,
    has_readout,
    is_recurrent,
    model_device,
    model_kind,
    supports,
)
from rnnscope.recording.spec import Plan, RecordSpec
from rnnscope.recording.store import Recording, RecordingWriter

__all__ = ["check_data", "eval_mode", "plan_for", "record", "record_chunks", "record_to_disk"]

_TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def check_data(x, lengths, labels) -> tuple[int, int, np.ndarray, np.ndarray | None]:
    """Validate x (S, T, C), lengths (S,) (None: full length), labels (S,) or None
    -> (S, T, lengths, labels)."""
    shape = tuple(x.shape)
    if len(shape) != 3 or 0 in shape:
        raise BadArgument(f"x must have shape (sequences, time, channels), got {shape}")
    n, t, _ = shape
    if lengths is None:
        lengths = np.full(n, t, dtype=np.int64)
    else:
        lengths = np.asarray(lengths)
        if lengths.shape != (n,):
            raise BadArgument(f"lengths must have shape (sequences,) = ({n},), got {lengths.shape}")
        if not np.issubdtype(lengths.dtype, np.integer):
            raise BadArgument(f"lengths must hold integers, got dtype {lengths.dtype}")
        if lengths.min() < 1 or lengths.max() > t:
            raise BadArgument(f"lengths must lie in [1, {t}], got {int(lengths.min())}..{int(lengths.max())}")
        lengths = lengths.astype(np.int64)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise BadArgument(f"labels must have shape (sequences,) = ({n},), got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise BadArgument(f"labels must hold integer class indices, got dtype {labels.dtype}")
    return n, t, lengths, labels


def plan_for(model, x, lengths=None, labels=None, spec: RecordSpec | None = None) -> Plan:
    """Validate spec (None: RecordSpec()) and data against the model without running anything."""
    spec = RecordSpec() if spec is None else spec
    n, t, lengths, labels = check_data(x, lengths, labels)
    plan = spec.check(model, n, t)
    if "labels" in plan.quantities and labels is None:
        if spec.quantities is not None:
            raise BadArgument("quantity 'labels' was asked for but no labels were given")
        plan = dataclasses.replace(plan, quantities=tuple(q for q in plan.quantities if q != "labels"))
    c = model.input_size
    if x.shape[2] != c:
        raise BadArgument(f"x must have {c} channels for this model, got shape {tuple(x.shape)}")
    return plan


def record_chunks(model, x, lengths=None, labels=None, spec: RecordSpec | None = None) -> Iterator[dict]:
    """Yield, chunk by chunk, {array name: numpy array} with the chunk's sequences first.

    x: (S, T, C) numpy array, memmap or tensor (only one chunk of it is read at a time).
    lengths: (S,) valid steps per sequence (None: all T). labels: (S,) class indices or None.
    spec: what to record (None: everything the model has, RecordSpec()).
    """
    plan = plan_for(model, x, lengths, labels, spec)
    _, _, lengths, labels = check_data(x, lengths, labels)
    for start in range(0, len(plan.index), plan.chunk_size):
        idx = plan.index[start : start + plan.chunk_size]
        xb = x[torch.as_tensor(idx)] if torch.is_tensor(x) else np.asarray(x[idx])
        # no_grad and eval mode hold only while a chunk is computed, never across the yield
        with torch.no_grad(), eval_mode(model):
            arrays = _record_chunk(model, xb, lengths[idx], idx, labels, plan)
        yield arrays


def _record_chunk(model, xb, lengths, idx, labels, plan: Plan) -> dict[str, np.ndarray]:
    device, dtype = model_device(model)
    xb = torch.as_tensor(xb).to(device=device, dtype=dtype)
    lb = torch.as_tensor(lengths, device=device)
    valid = torch.arange(xb.shape[1], device=device)[None, :] < lb[:, None]  # (B, T)
    bad = ~torch.isfinite(xb).all(dim=2) & valid
    if bool(bad.any()):
        b, t = (int(v) for v in bad.nonzero()[0])
        raise BadArgument(f"x contains NaN or inf at a valid step (sequence {int(idx[b])}, step {t})")
    xb = torch.where(valid[:, :, None], xb, torch.zeros((), dtype=xb.dtype, device=xb.device))
    if is_recurrent(model):
        out, logits = _recurrent_chunk(model, xb, lb, plan)
    else:  # residual streams (checked with the plan)
        out, logits = _transformer_chunk(model, xb, lb, plan)
    return _finish(out, logits, xb, lb, idx, labels, plan)


def _recurrent_chunk(model, xb, lb, plan: Plan) -> tuple[dict, torch.Tensor | None]:
    b, t_max, _ = xb.shape
    q, steps = plan.quantities, plan.steps
    n_keep, sizes = len(steps), model.layer_sizes
    slot = np.full(t_max, -1)
    slot[steps] = np.arange(n_keep)
    out = {}
    # Left uninitialised: every step before a sequence's end is written below, every other one is
    # filled with NaN in _finish (steps past the longest sequence are past every sequence's end).
    for layer in plan.layers:
        shape = (b, n_keep, sizes[layer])
        if "hidden" in q:
            out[f"hidden.l{layer}"] = xb.new_empty(shape)
        if "cell" in q:
            out[f"cell.l{layer}"] = xb.new_empty(shape)
        if "gates" in q:
            for g in plan.gate_names:
                out[f"gate.{g}.l{layer}"] = xb.new_empty(shape)
    if "probs" in q:
        out["probs"] = xb.new_empty((b, n_keep, model.n_classes))
    readout = has_readout(model)
    gated = supports(model, HasGates)
    last = lb - 1
    logits_last = xb.new_zeros((b, model.n_classes)) if readout else None
    state = model.init_state(b, xb.device, xb.dtype)
    gates = None
    for t in range(int(lb.max())):  # no sequence is valid beyond its longest member
        if gated:
            state, gates = model.step_with_gates(xb[:, t], state)
        else:
            state = model.step(xb[:, t], state)
        if readout:
            logits = model.readout(state)
            ends = last == t
            if bool(ends.any()):
                logits_last[ends] = logits[ends]
        j = int(slot[t])
        if j < 0:
            continue
        parts = model.layer_states(state)
        for layer in plan.layers:
            if "hidden" in q:
                out[f"hidden.l{layer}"][:, j] = parts[layer]["h"]
            if "cell" in q:
                out[f"cell.l{layer}"][:, j] = parts[layer]["c"]
            if "gates" in q:
                for g in plan.gate_names:
                    out[f"gate.{g}.l{layer}"][:, j] = gates[layer][g]
        if "probs" in q:
            out["probs"][:, j] = logits.softmax(-1)
    return out, logits_last


def _transformer_chunk(model, xb, lb, plan: Plan) -> tuple[dict, torch.Tensor]:
    q, steps = plan.quantities, torch.as_tensor(plan.steps, device=xb.device)
    streams, weights = model.encode(xb, need_weights="attention" in q)
    top = streams[-1]  # (B, T, D)
    out = {}
    for layer in plan.layers:
        if "residual" in q:
            out[f"residual.l{layer}"] = streams[layer + 1][:, steps]
        if "attention" in q:
            out[f"attention.l{layer}"] = weights[layer][:, :, steps]  # (B, N, T', T)
    if "probs" in q:
        out["probs"] = model.stream_readout(top[:, steps]).softmax(-1)
    logits_last = model.stream_readout(top[torch.arange(xb.shape[0], device=xb.device), lb - 1])
    return out, logits_last


def _finish(out: dict, logits_last, xb, lb, idx, labels, plan: Plan) -> dict[str, np.ndarray]:
    """Add inputs/labels/predictions/lengths/index, NaN past each end, convert to numpy in plan.dtype."""
    steps = torch.as_tensor(plan.steps, device=xb.device)
    if "inputs" in plan.quantities:
        out["inputs"] = xb[:, steps]
    invalid = steps[None, :] >= lb[:, None]  # (B, T')
    padded = bool(invalid.any())
    dtype = _TORCH_DTYPES[plan.dtype]
    arrays = {}
    for name in plan.array_names():
        if name in out:
            v = out[name]  # a tensor of our own (allocated or gathered above), so it may be filled in place
            if padded:
                v.masked_fill_(
                    invalid[:, None, :, None] if name.startswith("attention.") else invalid[:, :, None],
                    float("nan"),
                )
            arrays[name] = v.to(dtype).cpu().numpy()
    if "labels" in plan.quantities:
        arrays["labels"] = np.asarray(labels[idx], dtype=np.int64)
    if "predictions" in plan.quantities:
        arrays["predictions"] = logits_last.argmax(-1).cpu().numpy().astype(np.int64)
    arrays["lengths"] = lb.cpu().numpy().astype(np.int64)
    arrays["index"] = np.asarray(idx, dtype=np.int64)
    return {name: arrays[name] for name in plan.array_names()}


def record(model, x, lengths=None, labels=None, spec: RecordSpec | None = None) -> dict[str, np.ndarray]:
    """Record into memory: {array name: (S, ...) numpy array}. See the module docstring for names."""
    chunks = list(record_chunks(model, x, lengths, labels, spec))
    if len(chunks) == 1:
        return chunks[0]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def record_to_disk(
    model,
    x,
    path: str | Path,
    lengths=None,
    labels=None,
    spec: RecordSpec | None = None,
    meta: dict | None = None,
    overwrite: bool = False,
) -> Recording:
    """Record to a directory (docs/recording.md), one chunk at a time; never holds the whole recording.

    The directory is built under a temporary name next to `path` and renamed into place when complete,
    so `path` holds either nothing (or the previous recording) or a complete new one.
    meta: JSON-serialisable description stored in the manifest (e.g. which run and split).
    """
    spec = RecordSpec() if spec is None else spec
    plan = plan_for(model, x, lengths, labels, spec)  # validate before creating anything
    info = {
        "kind": model_kind(model),
        "layers": model.num_layers,
        "hidden": getattr(model, "hidden_size", None) or max(model.layer_sizes),
        "n_classes": model.n_classes,
        "gates": list(plan.gate_names),
    }
    if hasattr(model, "heads"):
        info["heads"] = model.heads
    with RecordingWriter(path, overwrite=overwrite) as writer:
        for chunk in record_chunks(model, x, lengths, labels, spec):
            writer.write(chunk)
        return writer.commit(
            {
                "model": info,
                "layers": list(plan.layers),
                "quantities": list(plan.quantities),
                "seq_len": int(x.shape[1]),
                "steps": plan.steps.tolist(),
                "dtype": plan.dtype,
                "chunk_size": plan.chunk_size,
                "source": dict(meta or {}),
            }
        )
