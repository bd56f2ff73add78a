"""The files of compare / context / bench directories: sweep.json, context.json, the bench summary.json.

sweep.json     {"format_version", "command", "config"}: what the sweep was asked to do; repeating the
               command with another configuration into the directory is refused (check_sweep_dir)
context.json   ContextSummary: definition (b) of the effective context per model
summary.json   BenchSummary: fitted log-log slopes, crossings and stopped series of `rnnscope bench`
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rnnscope.errors import BadArgument
from rnnscope.io import make_output_dir, read_json, write_json
from rnnscope.rundir.layout import SweepPaths
from rnnscope.rundir.validate import NUMBER, Fields

OPT_INT = (int, type(None))


# ---- sweep.json -----------------------------------------------------------------------------------
def _normal(obj):
    return json.loads(json.dumps(obj))


def _differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [
        f"{k} {json.dumps(old.get(k))} -> {json.dumps(new.get(k))}" for k in keys if old.get(k) != new.get(k)
    ]


def check_sweep_dir(out: str | Path, command: str, config: dict) -> bool:
    """May `command` with `config` write into `out`? True when `out` already holds this same sweep
    (a repeat: finished runs will be skipped), False when it is new or empty. Raises BadArgument with
    one line when `out` holds another sweep, other files, or is not a writable directory."""
    paths = SweepPaths(out)
    out = paths.root
    if out.exists() and not out.is_dir():
        raise BadArgument(f"output path {out} exists and is not a directory")
    saved = read_sweep_file(out)
    if saved is not None:
        if saved.command != command:
            raise BadArgument(
                f"{out} holds a `rnnscope {saved.command}` sweep, not `{command}`; choose another --out"
            )
        diff = _differences(_normal(saved.config), _normal(config))
        if diff:
            raise BadArgument(
                f"{out} holds a sweep with another configuration ({'; '.join(diff)}); repeat the "
                "same command to resume it, or choose another --out"
            )
        return True
    if out.is_dir() and any(out.iterdir()):
        raise BadArgument(
            f"{out} is not empty and holds no sweep ({paths.sweep_file.name} missing); choose an "
            "empty or new directory"
        )
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadArgument(f"output path {out} is not writable")
    return False


@dataclass
class SweepFile:
    """SWEEP_DIR/sweep.json: the command (compare | context | ...) and its validated configuration."""

    command: str
    config: dict

    def to_json(self) -> dict:
        return {"command": self.command, "config": self.config}

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> SweepFile:
        f = Fields(obj, "sweep file", path)
        return cls(f.get("command", str), f.get("config", dict, {}))


def write_sweep_file(out: str | Path, command: str, config: dict) -> None:
    paths = SweepPaths(out)
    make_output_dir(paths.root, "--out")
    write_json(paths.sweep_file, SweepFile(command, config).to_json())


def read_sweep_file(out: str | Path) -> SweepFile | None:
    """sweep.json, or None when there is none."""
    path = SweepPaths(out).sweep_file
    return SweepFile.from_json(read_json(path, "sweep file"), path) if path.exists() else None


# ---- context.json ---------------------------------------------------------------------------------
@dataclass
class ModelContext:
    """Definition (b) of one architecture: on the seed-mean curve, and per seed."""

    effective_context: int | None
    censored: bool
    short_distance: int
    short_chance_corrected: float
    threshold_chance_corrected: float
    per_seed: dict[str, int | None]
    median_seed_context: int | None
    median_seed_censored: bool
    mean_test_acc: dict[str, float]
    mean_chance_corrected: dict[str, float]

    @classmethod
    def from_fields(cls, f: Fields) -> ModelContext:
        return cls(
            f.get("effective_context", OPT_INT),
            f.get("censored", bool),
            f.get("short_distance", int),
            f.get("short_chance_corrected", NUMBER),
            f.get("threshold_chance_corrected", NUMBER),
            f.mapping("per_seed", OPT_INT),
            f.get("median_seed_context", OPT_INT),
            f.get("median_seed_censored", bool),
            f.mapping("mean_test_acc", NUMBER),
            f.mapping("mean_chance_corrected", NUMBER),
        )


def context_text(eff: int | None, censored: bool) -> str:
    if eff is None:
        return "-"
    return f">= {eff}" if censored else str(eff)


@dataclass
class ContextSummary:
    """SWEEP_DIR/context.json (`rnnscope context`)."""

    task: str
    definition: str
    threshold: float
    chance: float
    distances: list[int]
    models: dict[str, ModelContext]

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "definition": self.definition,
            "threshold": self.threshold,
            "chance": self.chance,
            "distances": self.distances,
            "models": {k: asdict(v) for k, v in self.models.items()},
        }

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> ContextSummary:
        f = Fields(obj, "context summary", path)
        models = f.get("models", dict)
        return cls(
            f.get("task", str),
            f.get("definition", str),
            f.get("threshold", NUMBER),
            f.get("chance", NUMBER),
            f.numbers("distances"),
            {
                k: ModelContext.from_fields(Fields(v, f"context summary ({k})", path))
                for k, v in models.items()
            },
        )

    def cli_lines(self) -> list[str]:
        """What `rnnscope context` prints after the accuracy table."""
        lines = [
            (
                f"effective context (b): chance-corrected accuracy within {self.threshold:.0%} of distance "
                f"{self.distances[0]}'s, at every distance up to it"
            ),
            f"  {'model':<12}{'seed-mean curve':<18}{'median over seeds':<20}per seed",
        ]
        for model, info in self.models.items():
            lines.append(
                f"  {model:<12}{context_text(info.effective_context, info.censored):<18}"
                f"{context_text(info.median_seed_context, info.median_seed_censored):<20}"
                f"{', '.join('-' if c is None else str(c) for c in info.per_seed.values())}"
            )
        lines.append(
            "  (>= d: every tested distance passed, the context is at least d; -: not above chance at the "
            "shortest)"
        )
        return lines


def write_context_summary(out: str | Path, summary: ContextSummary) -> None:
    write_json(SweepPaths(out).context_json, summary.to_json())


def read_context_summary(out: str | Path) -> ContextSummary | None:
    path = SweepPaths(out).context_json
    return ContextSummary.from_json(read_json(path, "context summary"), path) if path.exists() else None


# ---- the bench summary.json -----------------------------------------------------------------------
@dataclass
class BenchSummary:
    """SWEEP_DIR/summary.json (`rnnscope bench`): fits {metric: {model: fit dict with "slope"}}, crossings,
    one sentence per crossing (`lines`), the series that stopped early and the BenchSpec."""

    spec: dict
    stopped: list[dict]
    fits: dict[str, dict[str, dict]]
    crossings: list[dict]
    lines: list[str]

    def to_json(self) -> dict:
        return {
            "spec": self.spec,
            "stopped": self.stopped,
            "fits": self.fits,
            "crossings": self.crossings,
            "lines": self.lines,
        }

    @classmethod
    def from_json(cls, obj: dict, path: Path | str | None = None) -> BenchSummary:
        f = Fields(obj, "bench summary", path)
        fits = f.get("fits", dict, {})
        for metric, per_model in fits.items():
            g = Fields(per_model, f"bench summary (fits of {metric})", path)
            for model in per_model:
                Fields(g.get(model, dict), f"bench summary (fit of {model})", path).get("slope", NUMBER)
        stopped = [s.obj for s in f.rows("stopped", [])]
        lines = f.get("lines", list, [])
        return cls(
            f.get("spec", dict, {}),
            stopped,
            fits,
            [c.obj for c in f.rows("crossings", [])],
            [str(x) for x in lines],
        )

    def slopes(self, metrics: list[str]) -> tuple[list[str], list[list]]:
        """(header, rows): the fitted log-log slope of each metric with fits, per model."""
        metrics = [m for m in metrics if self.fits.get(m)]
        models = list(dict.fromkeys(m for metric in metrics for m in self.fits[metric]))
        rows = [[model, *[(self.fits[m].get(model) or {}).get("slope") for m in metrics]] for model in models]
        return ["model", *[f"slope of {m}" for m in metrics]], rows

    def slope_lines(self) -> list[str]:
        """What `rnnscope bench` prints: the slopes of time and memory, then one sentence per crossing."""
        out = [
            f"slope of {metric}: " + ", ".join(f"{m} {f['slope']:.2f}" for m, f in fits.items())
            for metric, fits in self.fits.items()
            if fits and metric != "state_bytes"
        ]
        return out + list(self.lines)

    def stopped_lines(self) -> list[str]:
        return [
            f"{x.get('model')} stopped at T = {x.get('length')}: {x.get('status')} {x.get('note') or ''}"
            for x in self.stopped
        ]


def write_bench_summary(out: str | Path, summary: BenchSummary) -> None:
    write_json(SweepPaths(out).bench_summary, summary.to_json())


def read_bench_summary(out: str | Path) -> BenchSummary | None:
    path = SweepPaths(out).bench_summary
    return BenchSummary.from_json(read_json(path, "bench summary"), path) if path.exists() else None


def flagged_at_chance(rows: list[dict]) -> list[dict]:
    """The rows of a results / context table whose `at_chance` column is true (a bool, or "True" as read
    back from the CSV)."""
    return [r for r in rows if r.get("at_chance") in (True, "True", "true")]


def chance_lines(rows: list[dict]) -> list[str]:
    """The sentence that flags runs that learned nothing ([] when every run learned something)."""
    flagged = flagged_at_chance(rows)
    if not flagged:
        return []
    names = ", ".join(str(r.get("run", "")).rsplit("/", 1)[-1] or str(r.get("model")) for r in flagged)
    return [
        f"{len(flagged)} of {len(rows)} runs learned nothing: their training accuracy stayed at chance "
        f"(within 3 standard errors of 1 / classes): {names}. Their accuracies are not a comparison of "
        "the architectures; train longer (--epochs), with more data (--n-train) or another --lr."
    ]
