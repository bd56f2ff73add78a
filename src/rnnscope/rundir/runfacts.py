"""Sentences about a run's data and its reference result, computed from its config.json (and metrics):
the sizes and lengths the run used, how real data was prepared, and the reference band, which belongs
to the built-in demo only (the default task, its default parameters and model).

Shared by the report and the CLI so both say the same thing. `config` is the parsed config.json.
"""

from __future__ import annotations

from rnnscope.config import UNRECORDED_AUTO_MAX_STEPS

DEMO_TASK = "mixture"  # rnnscope.config.DEFAULT_TASK; the task the reference band was measured on
DEMO_MODEL = {"kind": "rnn", "hidden": 64, "layers": 2}
REFERENCE = {"train_acc": 0.95, "test_acc": 0.93, "epochs": (30, 50)}  # the demo's reference result


def is_demo(config: dict) -> bool:
    """True for the built-in demo: the default task with its default parameters and the default model."""
    d, m = config.get("data", {}), config.get("model", {})
    return (
        d.get("task") == DEMO_TASK
        and not d.get("task_params")
        and all(m.get(k) == v for k, v in DEMO_MODEL.items())
    )


def data_sizes(config: dict) -> str:
    """'50 training / 150 test sequences of 75 steps' as used; the task's draw for a built-in task."""
    d, src = config.get("data", {}), config.get("data_source") or {}
    sizes = config.get("data_sizes")
    if sizes:
        n_train, n_test = sizes["train"], sizes["test"]
    elif d.get("task"):
        n_train, n_test = d.get("n_train"), d.get("n_test")
    else:
        n_train = n_test = None
    lengths = (sizes or {}).get("lengths") or src.get("lengths")
    if lengths:
        lo = min(v[0] for v in lengths.values())
        hi = max(v[1] for v in lengths.values())
        steps = f"{lo} steps" if lo == hi else f"{lo}-{hi} steps"
    elif d.get("task"):
        steps = f"{(src.get('params') or {}).get('seq_len', '?')} steps"
    else:
        steps = "lengths not recorded"
    if n_train is None:
        return f"sequence sizes not recorded in this run's config.json; {steps}"
    val = (config.get("train") or {}).get("val_fraction")
    held = f" ({val:.0%} of them held out for validation)" if val else ""
    return f"{n_train} training{held} / {n_test} test sequences of {steps}"


def preprocessing(config: dict, shortening_phrase: bool = True) -> str | None:
    """How real data was prepared ('z-normalised per channel; every 2nd step kept; ...'), None for a task.
    shortening_phrase False leaves the downsampling out (for a caller that says it in its own words)."""
    d, src = config.get("data", {}), config.get("data_source") or {}
    if d.get("task"):
        return None
    norm = src.get("normalize", d.get("normalize"))
    parts = [
        {
            "channel": "z-normalised per channel (training-set mean and std)",
            "series": "each series z-normalised on its own",
            "none": "not normalised",
        }.get(str(norm), f"normalisation {norm}")
    ]
    k = src.get("downsample", d.get("downsample"))
    if k and k > 1 and shortening_phrase:
        parts.append(
            f"{shortening(k, src.get('downsample_by', d.get('downsample_by')))} (downsampled by {k})"
        )
    n = src.get("truncate", d.get("truncate"))
    if n:
        parts.append(f"truncated to the first {n} steps")
    filled = src.get("missing_filled")
    if isinstance(filled, dict):  # {"train": n, "test": n}: missing values filled per split
        filled = sum(v for v in filled.values() if isinstance(v, int))
    if filled:
        parts.append(f"{filled} missing value{'' if filled == 1 else 's'} filled ({src.get('missing')})")
    return "; ".join(parts)


def auto_limit(source: dict) -> int:
    """The step limit `downsample="auto"` shortened a run's series to, from its config.json's data_source
    (a run written before the limit was recorded: config.UNRECORDED_AUTO_MAX_STEPS, the only limit then)."""
    return source.get("downsample_max_steps") or UNRECORDED_AUTO_MAX_STEPS


def shortening(k: int, by: str | None) -> str:
    """What downsampling by k did, by `downsample_by` ("mean" | "frames" | "every"; None, from a run
    written before block means: every k-th step) -> a phrase."""
    if by == "mean":
        return f"each block of {k} steps averaged"
    if by == "frames":
        return f"each block of {k} steps fed whole, as a frame of {k} values per channel"
    return f"every {ordinal(k)} step kept"


def frame_size(config: dict) -> int | None:
    """k where a run fed each block of k steps whole as one step (downsample_by "frames", k > 1);
    else None."""
    src = config.get("data_source") or {}
    k = src.get("downsample")
    return k if src.get("downsample_by") == "frames" and isinstance(k, int) and k > 1 else None


def input_names(config: dict, n_inputs: int) -> list[str]:
    """Names of the n_inputs values the network reads at each step: "channel c", or, for frames of k steps
    (data.prepare.reduce_steps: feature j * C + c is channel c of the frame's step j), "value j of k"
    (one channel) or "channel c, value j of k"."""
    k = frame_size(config)
    if k is None or n_inputs % k:
        return [f"channel {c}" for c in range(n_inputs)]
    channels = n_inputs // k
    if channels == 1:
        return [f"value {j + 1} of {k}" for j in range(k)]
    return [f"channel {c}, value {j + 1} of {k}" for j in range(k) for c in range(channels)]


def input_description(config: dict) -> str:
    """The network's input width in words: "6 input channels", or, with frames of k steps, "6 input
    values per step (1 channel x frames of 6 steps)"."""
    n, k = config.get("input_size"), frame_size(config)
    if k is None or not isinstance(n, int) or n % k:
        return f"{n} input channels"
    channels = n // k
    plural = "" if channels == 1 else "s"
    return f"{n} input values per step ({channels} channel{plural} × frames of {k} steps)"


def ordinal(k: int) -> str:
    """2 -> "2nd", 3 -> "3rd", 11 -> "11th"."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def convergence_basis(metrics: dict) -> str:
    """What metrics.json's converged_epoch was judged on, in words ("" where it has none or does not say)."""
    on = metrics.get("converged_on")
    if on is None or metrics.get("converged_epoch") is None:
        return ""
    if on == "val_acc":
        return "on validation accuracy"
    return "on test accuracy (no or a small validation split)"  # docs/training.md: under 30 series


def reference_cells(config: dict) -> dict[str, str]:
    """The reference column: {"train_acc", "test_acc", "converged_epoch"} text for the demo, "" otherwise."""
    if not is_demo(config):
        return {"train_acc": "", "test_acc": "", "converged_epoch": ""}
    lo, hi = REFERENCE["epochs"]
    return {
        "train_acc": f"~{REFERENCE['train_acc']:.0%}",
        "test_acc": f"~{REFERENCE['test_acc']:.0%}",
        "converged_epoch": f"{lo}-{hi}",
    }


def training_caption(config: dict) -> str:
    """The caption of the training curves; the reference band only for the demo."""
    ceiling = " and the dotted task ceiling" if config.get("task_ceiling") is not None else ""
    if is_demo(config):
        lo, hi = REFERENCE["epochs"]
        band = f" against the demo's reference band of epochs {lo}-{hi}{ceiling}"
    else:
        band = ceiling and f" against{ceiling[4:]}"
    return (
        "Accuracy and loss per epoch: look for where test accuracy levels off (green line, the "
        f"convergence epoch){band}."
    )
