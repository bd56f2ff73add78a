"""From the rows of cost.csv to fitted slopes and crossing points (the bench stage writes the files).

Key: T = sequence length. A row is a dict with the columns of `runner.COLUMNS`.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from rnnscope.costs.fit import PowerFit, describe_crossing, loglog_fit
from rnnscope.costs.runner import COLUMNS, METRICS

TAIL = 3  # slopes are fitted on the three longest measured lengths (the asymptotic regime)
LABELS = {
    "train_step_seconds": "training step time",
    "inference_seconds": "inference time",
    "train_peak_bytes": "training peak memory",
    "inference_peak_bytes": "inference peak memory",
    "state_bytes": "state / KV-cache bytes",
}


def _series(rows: list[dict], model: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, values) of one model, lengths ascending, NaN where not measured."""
    pts = sorted((r["length"], _num(r.get(metric))) for r in rows if r["model"] == model)
    return np.array([p[0] for p in pts], dtype=float), np.array([p[1] for p in pts], dtype=float)


def _num(v) -> float:
    try:
        return float(v) if v not in (None, "") else math.nan
    except (TypeError, ValueError):
        return math.nan


def models_of(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in rows))


def fit_metric(rows: list[dict], metric: str, tail: int | None = TAIL) -> dict[str, PowerFit]:
    """Per model, the log-log fit of `metric` vs T (models with fewer than two valid points are left out)."""
    fits = {}
    for model in models_of(rows):
        t, y = _series(rows, model, metric)
        try:
            fits[model] = loglog_fit(t, y, tail=tail)
        except ValueError:
            continue
    return fits


def summarize(rows: list[dict], tail: int | None = TAIL) -> dict:
    """{"fits": {metric: {model: fit dict + "line_t"/"line_y" (the fitted line over its range)}},
    "crossings": [describe_crossing dicts], "lines": [one sentence per crossing]}.

    Crossings pair every recurrent model with the Transformer (or every pair when there is none).
    """
    models = models_of(rows)
    if "transformer" in models:
        pairs = [(m, "transformer") for m in models if m != "transformer"]
    else:
        pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
    out = {"fits": {}, "crossings": [], "lines": []}
    for metric in METRICS:
        fits = fit_metric(rows, metric, tail)
        out["fits"][metric] = {}
        for model, fit in fits.items():
            lo, hi = min(fit.lengths), max(fit.lengths)
            out["fits"][metric][model] = {
                **fit.to_dict(),
                "line_t": [lo, hi],
                "line_y": fit.predict([lo, hi]).tolist(),
            }
        for a, b in pairs:
            ta, ya = _series(rows, a, metric)
            tb, yb = _series(rows, b, metric)
            common = sorted(set(ta.tolist()) & set(tb.tolist()))
            ya_c = [ya[ta.tolist().index(t)] for t in common]
            yb_c = [yb[tb.tolist().index(t)] for t in common]
            c = describe_crossing(LABELS[metric], a, b, common, ya_c, yb_c, fits.get(a), fits.get(b))
            c["metric"] = metric
            out["crossings"].append(c)
            out["lines"].append(c["text"])
    return out


def stopped_points(rows: list[dict]) -> list[dict]:
    """Per model, the first row whose status is not "ok" (where and why its series stopped)."""
    seen, out = set(), []
    for r in rows:
        if r["status"] != "ok" and r["model"] not in seen:
            seen.add(r["model"])
            out.append({"model": r["model"], "length": r["length"], "status": r["status"], "note": r["note"]})
    return out


def cost_csv_text(rows: list[dict]) -> str:
    """cost.csv: one row per model and length, COLUMNS in order, empty cells where not measured."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(
            [
                ""
                if (v is None or (isinstance(v, float) and math.isnan(v)))
                else (f"{v:.6g}" if isinstance(v, float) else v)
                for v in (r.get(c) for c in COLUMNS)
            ]
        )
    return buf.getvalue()


def read_cost_csv(path: str | Path) -> list[dict]:
    """Rows of a cost.csv (numbers as float/int, empty cells as NaN)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    ints = {"length", "hidden", "params", "batch", "threads"}
    for r in rows:
        for k in ints:
            r[k] = int(r[k]) if r.get(k) not in (None, "") else None
        for k in METRICS:
            r[k] = _num(r.get(k))
    return rows
