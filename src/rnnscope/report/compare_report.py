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
from rnnscope.rundir import (
    BenchSummary,
    Figure,
    SweepPaths,
    Table,
    chance_lines,
    read_bench_summary,
    read_context_summary,
    read_sweep_file,
    read_table,
)

ACCURACY = Slot(
    "accuracy",
    "Test accuracy against sequence length or dependency distance, one line per architecture with the "
    "seed spread: look for where the plain RNN falls away while the gated cells hold.",
)
CONTEXT = Slot(
    "context",
    "Chance-corrected recall accuracy against the dependency distance: the effective context of each "
    "model is the last distance that keeps 90 % of its short-distance accuracy.",
)
CURVES = Slot(
    "training_overlay",
    "Validation accuracy per epoch for every architecture: look for which models learn at all, and how fast.",
)
GRADIENTS = Slot(
    "gradient_overlay",
    "The top layer's ‖∂L/∂h_t‖ against the step, one line per architecture: look for the slope of "
    "the fall — the plain RNN's gradient vanishes fastest.",
)
TIME = Slot(
    "cost_time",
    "Time per training step and per full-sequence inference against T, log-log with fitted slopes: look "
    "for slope ~1 (O(T), recurrent) against ~2 (O(T²), attention) and where the curves cross.",
)
MEMORY = Slot(
    "cost_memory",
    "Peak memory against T, log-log with fitted slopes: look for which model's memory grows faster "
    "than its input.",
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


def _figure(finder: FigureFinder, s: Section, slot: Slot, fig: Figure | None, numbers) -> bool:
    html = finder.html(slot, fig, numbers)
    if html:
        s.add(html)
    return html is not None


def _fit_rows(bench: BenchSummary | None) -> tuple[list[str], list[list]] | None:
    """Fitted log-log slope of each cost metric per model, from `rnnscope bench`'s summary.json (fitted by
    the bench stage on the longest lengths); None when there is no summary."""
    return bench.slopes(list(COST_METRICS)) if bench is not None else None


def comparison_sections(root: Path) -> list[Section]:
    finder = FigureFinder(root, root)
    paths = SweepPaths(root)
    results = read_table(paths.results_csv, "comparison results", ("model", "seed"))
    context = read_table(paths.context_csv, "context results", ("model", "seed", "distance"))
    cost = read_table(paths.cost_csv, "cost table", ("model", "length"))
    sweep = read_sweep_file(root)
    ctx_summary = read_context_summary(root)
    compare_cmd = f"rnnscope compare --task TASK --models rnn,lstm,gru,transformer --out {root}"
    context_cmd = f"rnnscope context --models rnn,lstm,gru --distances 5,10,20,50,100,200 --out {root}"
    bench_cmd = (
        f"rnnscope bench --models rnn,lstm,gru,transformer --lengths 64,256,1024,4096,16384 --out {root}"
    )

    what = Section("comparison", "What was compared")
    files = [(name, "present" if present else "absent") for name, present in paths.present()]
    what.add(definition_list(files))
    if sweep is not None:
        command, cfg = sweep.command, sweep.config
        what.add(
            definition_list(
                [
                    ("command", f"rnnscope {command}"),
                    *[(k, v if not isinstance(v, (list, dict)) else str(v)) for k, v in cfg.items()],
                ]
            )
        )

    acc = Section("accuracy", "Accuracy vs length or distance")
    if results is not None:
        axis = next((a for a in ("length", "distance") if a in results.columns), None)
        numbers = [finder.download(results.path)]
        _figure(finder, acc, ACCURACY, paths.accuracy_figure(axis) if axis else None, numbers)
        if axis and "test_acc" in results.columns:
            header, rows = _pivot(results, axis, "test_acc")
            acc.add(
                table(
                    header, rows, numeric=set(range(1, len(header))), caption="Mean test accuracy over seeds."
                )
            )
        acc.add(*[note(line) for line in chance_lines(results.dicts())])
        acc.add(*_full_table(results, finder, "Every run", "results-table"))
    if context is not None:
        _figure(finder, acc, CONTEXT, paths.context_figure, [finder.download(context.path)])
        if ctx_summary is not None:
            rows = [
                [
                    m,
                    v.effective_context,
                    "yes" if v.censored else "no",
                    v.median_seed_context,
                    v.short_chance_corrected,
                ]
                for m, v in ctx_summary.models.items()
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
        acc.add(*[note(line) for line in chance_lines(context.dicts())])
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
    found = [
        _figure(finder, over, CURVES, paths.training_overlay, numbers),
        _figure(finder, over, GRADIENTS, paths.gradient_overlay, numbers),
    ]
    if not any(found):
        over.available = False
        over.add(missing("overlaid training curves and gradient profiles", compare_cmd))

    costs = Section("cost", "Cost curves")
    stream = Section("streaming", "Streaming cost")
    if cost is not None:
        numbers = [finder.download(cost.path)]
        _figure(finder, costs, TIME, paths.cost_time, numbers)
        _figure(finder, costs, MEMORY, paths.cost_memory, numbers)
        bench = read_bench_summary(root)
        fits = _fit_rows(bench)
        if fits is not None:
            header, rows = fits
            costs.add(
                table(
                    header,
                    rows,
                    numeric=set(range(1, len(header))),
                    caption="Fitted log-log slopes: 1 means cost grows like T, 2 like T².",
                )
            )
        else:
            costs.add(
                note(
                    f"No fitted slopes: {paths.bench_summary.name} (written by `rnnscope bench`) is missing."
                )
            )
        lines = bench.lines if bench is not None else []
        stopped = bench.stopped_lines() if bench is not None else []
        if lines or stopped:
            costs.add("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines + stopped) + "</ul>")
        costs.add(*_full_table(cost, finder, "Every measurement", "cost-table"))
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
    for path in finder.leftovers(root):
        other.add(finder.leftover_html(path, f"{path.stem.replace('_', ' ')}."))
    if other.body:
        sections.append(other)
    return sections
