"""A sweep's directory: sweep.json (the command's configuration), tidy CSV tables, seed aggregates.

    DIR/sweep.json     {"format_version", "command", "config"}: what the sweep was asked to do;
                       repeating the command with another configuration into DIR is refused
    DIR/runs/NAME/     one run directory per job (see rnnscope.training.rundir)
    DIR/*.csv          tidy tables, one row per job
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from rnnscope.errors import BadArgument
from rnnscope.io import atomic_write_bytes, make_output_dir, read_json, write_json

SWEEP_FILE = "sweep.json"


def _normal(obj):
    return json.loads(json.dumps(obj))


def _differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k} {json.dumps(old.get(k))} -> {json.dumps(new.get(k))}" for k in keys if old.get(k) != new.get(k)]


def check_sweep_dir(out: str | Path, command: str, config: dict) -> bool:
    """May `command` with `config` write into `out`? True when `out` already holds this same sweep
    (a repeat: finished runs will be skipped), False when it is new or empty. Raises BadArgument with
    one line when `out` holds another sweep, other files, or is not a writable directory."""
    import os

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadArgument(f"output path {out} exists and is not a directory")
    if (out / SWEEP_FILE).exists():
        saved = read_json(out / SWEEP_FILE, "sweep file")
        if saved.get("command") != command:
            raise BadArgument(f"{out} holds a `rnnscope {saved.get('command')}` sweep, not `{command}`; "
                              "choose another --out")
        diff = _differences(_normal(saved.get("config", {})), _normal(config))
        if diff:
            raise BadArgument(f"{out} holds a sweep with another configuration ({'; '.join(diff)}); repeat "
                              "the same command to resume it, or choose another --out")
        return True
    if out.is_dir() and any(out.iterdir()):
        raise BadArgument(f"{out} is not empty and holds no sweep ({SWEEP_FILE} missing); choose an empty or "
                          "new directory")
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadArgument(f"output path {out} is not writable")
    return False


def write_sweep_file(out: str | Path, command: str, config: dict) -> None:
    out = make_output_dir(out)
    write_json(out / SWEEP_FILE, {"command": command, "config": config})


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


def write_csv(path: str | Path, rows: list[dict], columns: list[str]) -> None:
    """A tidy CSV (header = columns; missing values empty), written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in columns])
    atomic_write_bytes(path, buf.getvalue().encode())


def read_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV as dicts of strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def aggregate(rows: list[dict], x: str, key: str, group: str = "model") -> list[dict]:
    """Mean and spread of `key` over seeds, per (group, x): rows with finite values only.

    Returns [{group, x, "mean", "std", "min", "max", "n"}], sorted by group order of first
    appearance, then x.
    """
    cells: dict[tuple, list[float]] = {}
    for r in rows:
        v = r.get(key)
        if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        cells.setdefault((r[group], r[x]), []).append(float(v))
    order = list(dict.fromkeys(r[group] for r in rows))
    out = []
    for (g, xv), vals in sorted(cells.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        n = len(vals)
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
        out.append({group: g, x: xv, "mean": mean, "std": std, "min": min(vals), "max": max(vals), "n": n})
    return out
