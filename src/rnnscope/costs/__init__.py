"""Measured cost curves of the architectures: time, peak memory and state size vs sequence length.

`BenchSpec` + `run_bench` measure (one fresh process per point, within memory and time budgets);
`summarize` fits log-log slopes and finds where curves cross (the bench stage, rnnscope.stages.bench,
writes cost.csv, summary.json and the figures). The fitting functions in `fit` are pure.
"""

from __future__ import annotations

from rnnscope.costs.fit import (
    PowerFit,
    describe_crossing,
    fitted_crossing,
    loglog_fit,
    measured_crossing,
    measured_crossings,
)
from rnnscope.costs.measure import measure_point, state_bytes
from rnnscope.costs.runner import COLUMNS, METRICS, BenchSpec, plan, run_bench
from rnnscope.costs.summary import cost_csv_text, read_cost_csv, stopped_points, summarize

__all__ = [
    "COLUMNS",
    "METRICS",
    "BenchSpec",
    "PowerFit",
    "cost_csv_text",
    "describe_crossing",
    "fitted_crossing",
    "loglog_fit",
    "measure_point",
    "measured_crossing",
    "measured_crossings",
    "plan",
    "read_cost_csv",
    "run_bench",
    "state_bytes",
    "stopped_points",
    "summarize",
]
