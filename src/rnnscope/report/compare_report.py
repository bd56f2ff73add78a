"""The report of a comparison directory: `rnnscope compare` (results.csv, sweep.json), `rnnscope context`
(context.csv, context.json) and `rnnscope bench` (cost.csv), whichever the directory holds.

Sections: what was compared; accuracy vs length or distance (with the effective context per model);
training curves and gradient profiles overlaid; cost curves with their fitted log-log slopes; streaming
cost (the state a stream carries: fixed for recurrent models, a growing KV cache for the Transformer).
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.html import Section, definition_list, esc, missing, note, table
from rnnscope.report.sources import Table, optional_json, read_table

ACCURACY = Slot(
    "accuracy",
    "",
    ("accuracy_vs", "accuracy"),
    "Test accuracy against sequence length or dependency distance, one line per architecture with the "
    "seed spread: look for where the plain RNN falls away while the gated cells hold.",
)
CONTEXT = Slot(
    "context",
    "",
    ("context",),
    "Chance-corrected recall accuracy against the dependency distance: the effective context of each "
    "model is the last distance that keeps 90 % of its short-distance accuracy.",
)
CURVES = Slot(
    "training_overlay",
    "",
    ("training_curves", "curves"),
    "Validation accuracy per epoch for every architecture: look for which models learn at all, and how fast.",
)
GRADIENTS = Slot(
    "gradient_overlay",
    "",
    ("gradient_profiles", "gradient"),
    "The top layer's ‖∂L/∂h_t‖ against the step, one line per architecture: look for the slope of "
    "the fall — the plain RNN's gradient vanishes fastest.",
)
TIME = Slot(
    "cost_time",
    "",
    ("time", "seconds"),
    "Time per training step and per full-sequence inference against T, log-log with fitted slopes: look "
    "for slope ~1 (O(T), recurrent) against ~2 (O(T²), attention) and where the curves cross.",
    exclude=("memory", "stream", "state"),
)
MEMORY = Slot(
    "cost_memory",
    "",
    ("memory", "bytes"),
    "Peak memory against T, log-log with fitted slopes: look for which model's memory grows faster "
    "than its input.",
    exclude=("stream", "state"),
)
STREAM = Slot(
    "streaming",
    "",
    ("stream", "state", "kv"),
    "What a stream carries between steps against the context length: a constant state for recurrent "
    "models, a KV cache that grows with every step for the Transformer.",
)
COST_METRICS = (
    "train_step_seconds",
    "inference_seconds",
    "train_peak_bytes",
    "inference_peak_bytes",
    "state_bytes",
)


def _mean(values) -> float | None:
    vals = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _pivot(t: Table, axis: str, value: str) -> tuple[list[str], list[list]]:
    """Mean of `value` per model (rows) and axis value (columns), over seeds."""
    models = list(dict.fromkeys(t.col("model")))
    xs = sorted({x for x in t.col(axis) if isinstance(x, (int, float))})
    cells: dict = {}
    for row in t.dicts():
        cells.setdefault((row["model"], row[axis]), []).append(row.get(value))
    return ["model", *[f"{axis} {x}" for x in xs]], [
        [m, *[_mean(cells.get((m, x), [])) for x in xs]] for m in models
    ]


def _full_table(t: Table, finder: FigureFinder, title: str, table_id: str) -> list[str]:
    numeric = {
        i
        for i, c in enumerate(t.columns)
        if all(isinstance(v, (int, float)) or v in ("", "nan") for v in t.col(c))
    }
    return [
        f"<h3>{title}</h3>",
        table(t.columns, t.rows, sortable=True, table_id=table_id, numeric=numeric).replace(
            'class="table-wrap"', 'class="table-wrap tall"', 1
        ),
        f"<p>{finder.download(t.path, f'{t.path.name} (CSV)').html()}</p>",
    ]


def _figure(finder: FigureFinder, s: Section, slot: Slot, numbers) -> bool:
    fig = finder.html(slot, numbers)
    if fig:
        s.add(fig)
    return fig is not None


def _fit_rows(cost: Table, bench: dict | None) -> tuple[list[str], list[list]]:
    """Fitted log-log slope of each cost metric per model: from `rnnscope bench`'s summary.json when it has
    them (fitted on the longest lengths), else fitted here on every successful point."""
    fits = (bench or {}).get("fits")
    if isinstance(fits, dict) and fits:
        metrics = [m for m in COST_METRICS if isinstance(fits.get(m), dict)]
        models = list(dict.fromkeys(m for metric in metrics for m in fits[metric]))
        rows = [[model, *[(fits[m].get(model) or {}).get("slope") for m in metrics]] for model in models]
        return ["model", *[f"slope of {m}" for m in metrics]], rows
    from rnnscope.costs.fit import loglog_fit

    rows = []
    ok = [r for r in cost.dicts() if str(r.get("status", "ok")) in ("ok", "done", "measured")]
    metrics = [m for m in COST_METRICS if m in cost.columns]
    for model in dict.fromkeys(r["model"] for r in ok):
        pts = [r for r in ok if r["model"] == model]
        row = [model]
        for m in metrics:
            xy = [(r["length"], r[m]) for r in pts if isinstance(r.get(m), (int, float)) and r[m] > 0]
            try:
                row.append(loglog_fit([x for x, _ in xy], [y for _, y in xy]).slope if len(xy) >= 2 else None)
            except ValueError:
                row.append(None)
        rows.append(row)
    return ["model", *[f"slope of {m}" for m in metrics]], rows


def comparison_sections(root: Path) -> list[Section]:
    finder = FigureFinder(root, root)
    results = read_table(root / "results.csv", "comparison results", ("model", "seed"))
    context = read_table(root / "context.csv", "context results", ("model", "seed", "distance"))
    cost = read_table(root / "cost.csv", "cost table", ("model", "length"))
    sweep = optional_json(root / "sweep.json", "sweep file")
    ctx_summary = optional_json(root / "context.json", "context summary")
    compare_cmd = f"rnnscope compare --task TASK --models rnn,lstm,gru,transformer --out {root}"
    context_cmd = f"rnnscope context --models rnn,lstm,gru --distances 5,10,20,50,100,200 --out {root}"
    bench_cmd = (
        f"rnnscope bench --models rnn,lstm,gru,transformer --lengths 64,256,1024,4096,16384 --out {root}"
    )

    what = Section("comparison", "What was compared")
    files = [
        (name, "present" if (root / name).exists() else "absent")
        for name in ("results.csv", "sweep.json", "context.csv", "context.json", "cost.csv")
    ]
    what.add(definition_list(files))
    if sweep is not None:
        cfg = sweep.get("config", {})
        what.add(
            definition_list(
                [
                    ("command", f"rnnscope {sweep.get('command')}"),
                    *[(k, v if not isinstance(v, (list, dict)) else str(v)) for k, v in cfg.items()],
                ]
            )
        )

    acc = Section("accuracy", "Accuracy vs length or distance")
    if results is not None:
        axis = next((a for a in ("length", "distance") if a in results.columns), None)
        numbers = [finder.download(results.path)]
        _figure(finder, acc, ACCURACY, numbers)
        if axis and "test_acc" in results.columns:
            header, rows = _pivot(results, axis, "test_acc")
            acc.add(
                table(
                    header, rows, numeric=set(range(1, len(header))), caption="Mean test accuracy over seeds."
                )
            )
        acc.add(*_full_table(results, finder, "Every run", "results-table"))
    if context is not None:
        _figure(finder, acc, CONTEXT, [finder.download(context.path)])
        if ctx_summary and isinstance(ctx_summary.get("models"), dict):
            rows = [
                [
                    m,
                    v.get("effective_context"),
                    "yes" if v.get("censored") else "no",
                    v.get("median_seed_context"),
                    v.get("short_chance_corrected"),
                ]
                for m, v in ctx_summary["models"].items()
            ]
            acc.add(
                table(
                    [
                        "model",
                        "effective context (steps)",
                        "at least (censored)",
                        "median over seeds",
                        "chance-corrected accuracy at the shortest distance",
                    ],
                    rows,
                    numeric={1, 3, 4},
                    caption="Behavioural effective context, definition (b) (docs/context.md).",
                )
            )
        acc.add(*_full_table(context, finder, "Every context run", "context-table"))
    if results is None and context is None:
        acc.available = False
        acc.add(
            missing(
                "accuracy of the architectures (results.csv or context.csv)",
                f"{compare_cmd} (or {context_cmd})",
            )
        )

    over = Section("overlays", "Training curves and gradient profiles")
    numbers = [finder.download(results.path)] if results is not None else []
    found = [_figure(finder, over, CURVES, numbers), _figure(finder, over, GRADIENTS, numbers)]
    if not any(found):
        over.available = False
        over.add(missing("overlaid training curves and gradient profiles", compare_cmd))

    costs = Section("cost", "Cost curves")
    stream = Section("streaming", "Streaming cost")
    if cost is not None:
        numbers = [finder.download(cost.path)]
        _figure(finder, costs, TIME, numbers)
        _figure(finder, costs, MEMORY, numbers)
        bench = optional_json(root / "summary.json", "bench summary")
        header, rows = _fit_rows(cost, bench)
        costs.add(
            table(
                header,
                rows,
                numeric=set(range(1, len(header))),
                caption="Fitted log-log slopes: 1 means cost grows like T, 2 like T².",
            )
        )
        lines = [str(x) for x in (bench or {}).get("lines", [])]
        stopped = [
            f"{x.get('model')} stopped at T = {x.get('length')}: {x.get('status')} {x.get('note') or ''}"
            for x in (bench or {}).get("stopped", [])
            if isinstance(x, dict)
        ]
        if lines or stopped:
            costs.add("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines + stopped) + "</ul>")
        costs.add(*_full_table(cost, finder, "Every measurement", "cost-table"))
        _figure(finder, stream, STREAM, numbers)
        if "state_bytes" in cost.columns:
            header, rows = _pivot(cost, "length", "state_bytes")
            stream.add(
                table(
                    header,
                    rows,
                    numeric=set(range(1, len(header))),
                    caption="Bytes a stream carries between steps (hidden state, or KV cache) per length.",
                )
            )
        stream.add(
            note(
                "Per-step latency and many-stream throughput: benchmarks/streaming.py (docs/performance.md)."
            )
        )
    else:
        for s, what_ in ((costs, "measured cost curves (cost.csv)"), (stream, "streaming cost (cost.csv)")):
            s.available = False
            s.add(missing(what_, bench_cmd))
    sections = [what, acc, over, costs, stream]
    other = Section("other-figures", "Other figures")
    for path in finder.leftovers(""):
        other.add(finder.leftover_html(path, f"{path.stem.replace('_', ' ')}."))
    if other.body:
        sections.append(other)
    return sections
