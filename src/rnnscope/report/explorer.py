"""The data of the hidden-state explorer: a few recorded sequences, every unit of every layer.

Layout of the JSON the script reads (arrays are int16, little-endian, base64: value = q / scale, with
q = -32768 marking a step past the sequence's end; scale = 1000 keeps 3 decimals whenever the largest
magnitude is below 32.7, which covers tanh-bounded states, probabilities and normalised inputs):

    {"split", "steps": [T'], "seqs": [{"index", "label", "pred", "length"}], "channels": [C], "classes": [K],
     "roles": [role order], "inputs": {b64, scale, shape: [S, T', C], lo, hi}, "probs": {...} | null,
     "layers": [{"name", "key", "b64", "scale", "shape": [S, T', U], "lo", "hi",
                 "units": [{"unit", "role", "tau"}]}]}
     (tau: a number, "> N" / "< 1" where censored, or null)

Key: S = sequences shown, T' = recorded steps, C = input channels, K = classes, U = units of a layer.
"""

from __future__ import annotations

import base64
import re

import numpy as np

from rnnscope.report.sources import Table, layer_index

ROLE_ORDER = (
    "integrator",
    "latching",
    "oscillatory",
    "transient",
    "input-driven",
    "selective",
    "mixed",
    "unclassified",
    "silent",
)
MAX_SEQUENCES = 24
MAX_VALUES = 700_000  # int16 values in all arrays together (~1.9 MB of base64); fewer sequences beyond it
MISSING = -32768


def quantize(a: np.ndarray) -> dict:
    """{b64, scale, shape, lo, hi} of a float array; 3 decimals unless |a| exceeds 32.7 (then coarser)."""
    a = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(a)
    peak = float(np.abs(a[finite]).max()) if finite.any() else 0.0
    scale = 1000.0 if peak <= 32.766 else 32766.0 / peak
    q = np.full(a.shape, MISSING, dtype="<i2")
    q[finite] = np.round(a[finite] * scale).astype("<i2")
    lo = float(a[finite].min()) if finite.any() else -1.0
    hi = float(a[finite].max()) if finite.any() else 1.0
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.05 * (hi - lo)
    return {
        "b64": base64.b64encode(q.tobytes()).decode("ascii"),
        "scale": scale,
        "shape": list(a.shape),
        "lo": round(lo - pad, 3),
        "hi": round(hi + pad, 3),
    }


def pick_sequences(labels: np.ndarray | None, n: int, limit: int) -> np.ndarray:
    """Up to `limit` of n sequences, taking the classes in turn (recording order within a class)."""
    if labels is None:
        return np.arange(min(n, limit))
    by_class = [list(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    out: list[int] = []
    while len(out) < min(n, limit):
        for members in by_class:
            if members and len(out) < limit:
                out.append(members.pop(0))
    return np.array(sorted(out), dtype=np.int64)


def _state_arrays(rec) -> list[tuple[int, str]]:
    """[(layer, array name)] of the per-unit states a recording holds: hidden.l*, else residual.l*."""
    for prefix in ("hidden", "residual"):
        found = []
        for name in rec.names:
            m = re.fullmatch(rf"{prefix}\.l(\d+)", name)
            if m:
                found.append((int(m.group(1)), name))
        if found:
            return sorted(found)
    return []


def _unit_roles(units: Table | None) -> dict[tuple[int, int], tuple[str, float | str | None]]:
    if units is None:
        return {}
    out = {}
    tau_col = "tau" in units.columns
    for row in units.dicts():
        layer, unit = layer_index(row["layer"]), row["unit"]
        if layer is None or not isinstance(unit, int):
            continue
        tau = row.get("tau") if tau_col else None
        tau = round(float(tau), 1) if isinstance(tau, (int, float)) and np.isfinite(tau) else None
        flag = str(row.get("tau_censored") or "")
        if tau is not None and flag in ("above", "below"):  # censored: a bound, never a value
            tau = f"> {tau:g}" if flag == "above" else f"< {tau:g}"
        out[(layer, unit)] = (str(row["role"]), tau)
    return out


def explorer_data(
    rec, units: Table | None, max_sequences: int = MAX_SEQUENCES, input_names: list[str] | None = None
) -> dict | None:
    """The explorer's JSON from a Recording and units.csv (roles; None: every unit "unclassified").
    input_names: the legend's name of each input value (runfacts.input_names; None: "channel c").

    Returns None when the recording holds no per-unit states or no inputs."""
    states = _state_arrays(rec)
    activity = rec.model.get("kind") == "activity"  # recorded activity: inputs optional, own scale
    if not states or ("inputs" not in rec and not activity):
        return None
    n = rec.n_sequences
    n_channels = rec.shape("inputs")[-1] if "inputs" in rec else 0
    width = sum(rec.shape(name)[-1] for _, name in states) + n_channels
    per_sequence = len(rec.steps) * width
    limit = max(2, min(max_sequences, MAX_VALUES // max(per_sequence, 1)))
    labels = rec.read("labels") if "labels" in rec else None
    idx = pick_sequences(labels, n, limit)
    classes = [str(c) for c in rec.source.get("class_names", [])]

    def name_of(c) -> str:
        c = int(c)
        return classes[c] if 0 <= c < len(classes) else f"class {c}"

    preds = rec.read("predictions", idx) if "predictions" in rec else None
    lengths = rec.read("lengths", idx)
    index = rec.read("index", idx)
    seqs = [
        {
            "index": int(index[i]),
            "label": name_of(labels[j]) if labels is not None else "?",
            "pred": name_of(preds[i]) if preds is not None else None,
            "length": int(min(lengths[i], len(rec.steps))),
        }
        for i, j in enumerate(idx)
    ]
    roles = _unit_roles(units)
    layers = []
    for layer, name in states:
        arr = rec.read(name, idx, dtype=np.float32)
        entry = quantize(arr)
        if name.startswith("hidden") and not activity:
            entry["lo"], entry["hi"] = -1.05, 1.05  # tanh-bounded: one scale for every unit
        entry.update(
            name=f"layer {layer}",
            key=name.replace(".", "_"),
            units=[
                {
                    "unit": u,
                    "role": roles.get((layer, u), ("unclassified", None))[0],
                    "tau": roles.get((layer, u), (None, None))[1],
                }
                for u in range(arr.shape[-1])
            ],
        )
        layers.append(entry)
    present = {u["role"] for L in layers for u in L["units"]}
    order = [r for r in ROLE_ORDER if r in present] + sorted(present - set(ROLE_ORDER))
    probs = None
    if "probs" in rec:
        probs = quantize(rec.read("probs", idx, dtype=np.float32))
        probs["lo"], probs["hi"] = 0.0, 1.0
    return {
        "split": str(rec.source.get("split", "recorded")),
        "steps": [int(s) for s in rec.steps],
        "seqs": seqs,
        "channels": input_names or [f"channel {c}" for c in range(n_channels)],
        "classes": classes or ([f"class {k}" for k in range(rec.shape("probs")[-1])] if probs else []),
        "roles": order,
        "inputs": quantize(
            rec.read("inputs", idx, dtype=np.float32)
            if "inputs" in rec
            else np.zeros((len(idx), len(rec.steps), 0), np.float32)
        ),
        "probs": probs,
        "layers": layers,
    }
