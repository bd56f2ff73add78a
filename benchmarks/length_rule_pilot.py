"""The length rule and the update budget chosen on validation carves of the TRAINING sets only
(docs/training.md, "How it was chosen"): candidate rules for shortening long real series and candidate
update budgets, each scored by a GRU's accuracy on a seeded, stratified 30 % validation carve of the
training split. No test accuracy is read or printed.

    nice -n 19 python benchmarks/length_rule_pilot.py run OUT.jsonl VARIANT:DATASET:SEED[:MODEL] ...
    python benchmarks/length_rule_pilot.py table [--seeds 3,4,5] OUT.jsonl [OUT2.jsonl ...]

Variants: `every100` (every k-th step, at most 100 steps: the rule before), `mean100` (the mean of each
block of k steps, at most 100: the rule after), `every50`, `mean50` (at most 50 steps), `every100_lr5`,
`mean100_lr5` (peak learning rate 0.005 instead of 0.002), `mean100_u1200`, `mean100_u2400` (block means
with an update budget of 1,200 or 2,400 optimizer updates; the upper epoch clamp is scaled by the same
factor, 300 -> 600 or 1,200 epochs, so that a small set really gets its updates), `mean100_u1200_chrono`
(`mean100_u1200` with chrono initialisation, T = the series' used length), and the regularised
variants of `mean100_u1200` (same budget and length rule): `mean100_u1200_wd` (Adam L2 weight decay 1e-4),
`mean100_u1200_wd3` (weight decay 1e-3),
`mean100_u1200_drop` (dropout 0.2 between the two recurrent layers), `mean100_u1200_h128` (hidden size
128 instead of 64), `mean100_u1200_rmean` (the mean readout over the valid steps instead of the last
step), `mean200_u1200` (`mean100_u1200` with block means to at most 200 steps instead of 100: the longer
length limit) and `frames100_u1200` (each block of k steps fed whole as one step of k values, frame
stacking, instead of its mean: `downsample_by` "frames"), `frames100_u1200_aug` (`frames100_u1200` with
each training batch augmented, `augment="jitter+scale"`, training.augment), and its pooled readouts
`frames100_u1200_aug_ratt` (attention over the valid steps) and `frames100_u1200_aug_rmax` (max), each
paired against `frames100_u1200_aug`; against it too, `frames50_u1200_aug` (frames to at most 50 steps)
and `frames100_u1200_aug_ls` (the training loss with label smoothing 0.1); against `frames50_u1200_aug`,
`frames50_u1200_aug_carve10` (the recipe's 10 % validation carve also taken out of the fitted series:
what the carve costs), `frames50_u1200_aug_h32` (hidden size 32 instead of 64),
`frames50_u1200_aug_strong` (jitter sd 0.1 and scale sd 0.2 instead of 0.03 and 0.1) and
`frames50_u1200_aug_mw` (magnitude warping added: augment "jitter+scale+magwarp"), and against it
`frames50_u1200_aug_mw4` (magnitude-warp knots N(1, 0.4^2) instead of 0.2^2) and `frames50_u1200_aug_mw_mix`
(mixup added: "jitter+scale+magwarp+mixup"; its runs were made with the same draws in a pilot-only copy
before mixup was an augmentation of the training loop), `frames50_u1200_aug_mw_u2400` (2,400 updates) and
`frames50_u1200_aug_mw_f100` (frames to at most 100 steps), `frames50_u1200_aug_mw_slice` (window
slicing first: each series' valid part cropped to a random 90 % window and resampled back to its length)
and `frames50_u1200_aug_mw_wwarp` (window warping first: a random window of 10 % of the valid length
stretched by 0.5 or 2, the series resampled back to its length; both on the raw time axis, frames unframed
and re-framed, pilot-only: `time_augment`); a variant that names no
augmentation trains without any, whatever the recipe's default is now. Every other variant
trains 600 updates within 30-300 epochs, the recipe's budget when the length rule was chosen (the recipe
has trained 1,200 since this pilot), so earlier runs reproduce. Everything else is the real-data recipe of
rnnscope.training.recipe (batch size and warm-up; the carve is asked for, so batch and epochs follow the
70 % that is fitted). `run` appends one JSON line per run (with the epochs and optimizer updates it
trained); `table` prints the mean validation accuracy per data set and variant with the seeds it averages,
and the mean final training accuracy, then the paired comparisons against `mean100` (the two 100-step
rules; each update budget), of each chrono variant against its constant-bias twin and of each regularised
variant and of `mean200_u1200` against `mean100_u1200`, on the seeds both ran (with the mean difference
over data sets and the sets that lost). `--seeds 3,4,5` reads only the runs of those seeds, so every
table (and every paired line) is computed on them alone (a confirmation on fresh carves).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import types

import torch
import torch.nn.functional as F

import rnnscope.data.prepare as prepare
import rnnscope.training.augment as augment
import rnnscope.training.loop as loop
import rnnscope.training.recipe as recipe
from rnnscope.config import DataConfig, ModelConfig, TrainConfig
from rnnscope.data import list_datasets
from rnnscope.training.api import run_training

VAL_FRACTION = 0.3
VARIANTS = {  # name: (downsample_by, at most this many steps, peak learning rate, update budget)
    "every100": ("every", 100, 2e-3, 600),
    "mean100": ("mean", 100, 2e-3, 600),
    "every50": ("every", 50, 2e-3, 600),
    "mean50": ("mean", 50, 2e-3, 600),
    "every100_lr5": ("every", 100, 5e-3, 600),
    "mean100_lr5": ("mean", 100, 5e-3, 600),
    "mean100_u1200": ("mean", 100, 2e-3, 1200),
    "mean100_u2400": ("mean", 100, 2e-3, 2400),
    "mean200_u1200": ("mean", 200, 2e-3, 1200),
    "frames100_u1200": ("frames", 100, 2e-3, 1200),
    "frames50_u1200": ("frames", 50, 2e-3, 1200),
}
LONGER = {  # a longer length limit, or frames instead of block means, against the 100-step block means
    "mean200_u1200": "mean100_u1200",
    "frames100_u1200": "mean100_u1200",
    "frames50_u1200_aug": "frames100_u1200_aug",
}
CHRONO = {"mean100_u1200_chrono": "mean100_u1200"}  # chrono initialisation, T = the series' used length
REGULARISED = {  # name: (its unregularised twin, ModelConfig / TrainConfig fields it changes)
    "mean100_u1200_wd": ("mean100_u1200", {"weight_decay": 1e-4}),
    "mean100_u1200_wd3": ("mean100_u1200", {"weight_decay": 1e-3}),
    "mean100_u1200_drop": ("mean100_u1200", {"dropout": 0.2}),
    "mean100_u1200_h128": ("mean100_u1200", {"hidden": 128}),
    "mean100_u1200_rmean": ("mean100_u1200", {"readout": "mean"}),
    "frames100_u1200_aug": ("frames100_u1200", {"augment": "jitter+scale"}),
    "frames100_u1200_aug_ratt": ("frames100_u1200_aug", {"readout": "attention"}),
    "frames100_u1200_aug_rmax": ("frames100_u1200_aug", {"readout": "max"}),
    "frames50_u1200_aug": ("frames50_u1200", {"augment": "jitter+scale"}),
    "frames100_u1200_aug_ls": ("frames100_u1200_aug", {"label_smoothing": 0.1}),
    "frames50_u1200_aug_carve10": ("frames50_u1200_aug", {"fit_carve": 0.1}),
    "frames50_u1200_aug_h32": ("frames50_u1200_aug", {"hidden": 32}),
    "frames50_u1200_aug_strong": ("frames50_u1200_aug", {"jitter_sd": 0.1, "scale_sd": 0.2}),
    "frames50_u1200_aug_mw": ("frames50_u1200_aug", {"augment": "jitter+scale+magwarp"}),
    "frames50_u1200_aug_mw4": ("frames50_u1200_aug_mw", {"magwarp_sd": 0.4}),
    "frames50_u1200_aug_mw_mix": ("frames50_u1200_aug_mw", {"augment": "jitter+scale+magwarp+mixup"}),
    "frames50_u1200_aug_mw_u2400": ("frames50_u1200_aug_mw", {"updates": 2400}),
    "frames50_u1200_aug_mw_f100": ("frames50_u1200_aug_mw", {"max_steps": 100}),
    "frames50_u1200_aug_mw_slice": ("frames50_u1200_aug_mw", {"time_aug": "slice"}),
    "frames50_u1200_aug_mw_wwarp": ("frames50_u1200_aug_mw", {"time_aug": "wwarp"}),
}
MODEL_FIELDS, TRAIN_FIELDS = {"dropout", "hidden", "readout"}, {"weight_decay", "augment"}
BASE_UPDATES, BASE_EPOCH_RANGE = 600, (30, 300)  # the recipe these variants were measured against
RECIPE_EPOCHS = recipe.recipe_epochs
SPLIT_VALIDATION = loop.split_validation
AUGMENT_BATCH = augment.augment_batch


def resample(seg: torch.Tensor, n: int) -> torch.Tensor:
    """(m, C) -> (n, C), linear interpolation over evenly spaced positions."""
    m = seg.shape[0]
    if m == 1:
        return seg.expand(n, -1).clone()
    pos = torch.linspace(0, m - 1, n)
    i0 = pos.floor().long().clamp(max=m - 2)
    w = (pos - i0)[:, None].to(seg.dtype)
    return seg[i0] * (1 - w) + seg[i0 + 1] * w


def time_augment(x, how, k, generator, lengths=None):
    """x (B, T, k*C) frames -> a copy with each series' valid raw part window-sliced or window-warped."""
    B, T, F_ = x.shape
    assert F_ % k == 0, (F_, k)
    C = F_ // k
    raw = x.reshape(B, T * k, C).clone()
    for i in range(B):
        L = int(lengths[i]) * k if lengths is not None else T * k
        r = raw[i, :L]
        if how == "slice":
            w = math.ceil(0.9 * L)
            start = int(torch.randint(0, L - w + 1, (1,), generator=generator))
            new = resample(r[start : start + w], L)
        else:
            win = max(1, math.ceil(0.1 * L))
            start = int(torch.randint(0, L - win + 1, (1,), generator=generator))
            scale = 0.5 if float(torch.rand(1, generator=generator)) < 0.5 else 2.0
            mid = resample(r[start : start + win], max(1, round(win * scale)))
            new = resample(torch.cat([r[:start], mid, r[start + win :]]), L)
        raw[i, :L] = new
    return raw.reshape(B, T, F_)


def resolve(variant: str) -> tuple[str, dict]:
    """A variant -> (its base in VARIANTS, the fields it changes), following twins of twins."""
    if variant not in REGULARISED:
        return CHRONO.get(variant, variant), {}
    twin, changes = REGULARISED[variant]
    base, inherited = resolve(twin)
    return base, {**inherited, **changes}


def run_one(variant: str, dataset: str, seed: int, model: str = "gru") -> dict:
    """Train one candidate on the training split with a 30 % carve -> its validation figures."""
    twin, changes = resolve(variant)
    by, max_steps, lr, updates = VARIANTS[twin]
    updates, max_steps = changes.pop("updates", updates), changes.pop("max_steps", max_steps)
    # label smoothing of the training loss (no config field: the training loop's cross-entropy is wrapped;
    # the evaluation loss, reduction="sum", is left as it is)
    smoothing = changes.pop("label_smoothing", 0.0)
    loop.F = types.SimpleNamespace(
        cross_entropy=lambda logits, y, reduction="mean": F.cross_entropy(
            logits, y, reduction=reduction, label_smoothing=smoothing if reduction == "mean" else 0.0
        )
    )
    # the recipe's own validation carve taken out of the fitted series too (what the carve costs): a
    # second stratified carve, seeded apart from the scoring carve, whose series are dropped
    fit_carve = changes.pop("fit_carve", 0.0)
    # augmentation strength (module constants read when each batch is augmented)
    augment.JITTER_SD = changes.pop("jitter_sd", 0.03)
    augment.SCALE_SD = changes.pop("scale_sd", 0.1)
    augment.MAGWARP_SD = changes.pop("magwarp_sd", 0.2)
    # time-domain augmentation first (pilot 9), on the raw time axis of the frames
    time_aug = changes.pop("time_aug", None)
    k_frames = 1
    if time_aug:
        longest = next(r["length_max"] for r in list_datasets() if r["name"] == dataset)
        k_frames = math.ceil(longest / max_steps) if longest > max_steps else 1

    def augment_batch(x, how, generator, lengths=None):
        if time_aug:
            x = time_augment(x, time_aug, k_frames, generator, lengths)
        return AUGMENT_BATCH(x, how, generator, lengths)

    loop.augment_batch = augment_batch

    def split(train, fraction, seed):
        fit, val = SPLIT_VALIDATION(train, fraction, seed)
        return (SPLIT_VALIDATION(fit, fit_carve, seed + 1000)[0] if fit_carve else fit), val

    loop.split_validation = split
    model_changes = {k: v for k, v in changes.items() if k in MODEL_FIELDS}
    # a variant that names no augmentation trains without any, as it did when it was run (the recipe's
    # default has changed since: none, then jitter+scale, then jitter+scale+magwarp)
    train_changes = {"augment": "none", **{k: v for k, v in changes.items() if k in TRAIN_FIELDS}}
    # the auto length rule at another step limit (prepare() looks the function up when it runs)
    prepare.auto_downsample = lambda longest, by, limit=None: (lambda k: k if k > 1 else None)(
        math.ceil(longest / max_steps)
    )
    # the update budget, with the upper epoch clamp scaled alike (resolve_train looks both up when it runs)
    lo, hi = BASE_EPOCH_RANGE
    recipe.EPOCH_RANGE = (lo, hi * updates // BASE_UPDATES)
    recipe.recipe_epochs = lambda n_fit, batch_size: RECIPE_EPOCHS(n_fit, batch_size, updates)
    t0 = time.perf_counter()
    run = run_training(
        DataConfig(task=None, dataset=dataset, downsample_by=by),
        ModelConfig(
            kind=model,
            chrono_tmax=used_length(dataset, max_steps) if variant in CHRONO else None,
            **model_changes,
        ),
        TrainConfig(seed=seed, device="cpu", val_fraction=VAL_FRACTION, lr=lr, **train_changes),
        None,
    )
    last = run.history[-1]
    t = run.train_cfg
    n_fit = len(run.data.train) - int(round(t.val_fraction * len(run.data.train)))
    return {
        "variant": variant,
        "dataset": dataset,
        "seed": seed,
        "model": model,
        "val_acc": last["val_acc"],
        "train_acc": last["train_acc"],
        "steps": int(run.data.train.x.shape[1]),
        "epochs": len(run.history) - 1,
        "batch_size": t.batch_size,
        "updates": (len(run.history) - 1) * -(-n_fit // t.batch_size),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def used_length(dataset: str, max_steps: int) -> int:
    """The longest series' length after the auto length rule at `max_steps` (the chrono variants' T)."""
    longest = next(r["length_max"] for r in list_datasets() if r["name"] == dataset)
    return math.ceil(longest / math.ceil(longest / max_steps)) if longest > max_steps else longest


def table(paths: list[str], seeds: set[int] | None = None) -> str:
    """The tables of the runs in `paths` (only those of `seeds` where given) -> markdown lines."""
    rows: dict = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if seeds is not None and r["seed"] not in seeds:
                    continue
                rows.setdefault((r["dataset"], r["model"], r["variant"]), []).append(r)
    out = [
        "| data set | model | rule | seeds | validation accuracy (mean) | per seed | training acc. | steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, model, variant), rs in sorted(rows.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        per_seed = " ".join(f"{r['val_acc']:.2f}" for r in rs)
        out.append(
            f"| {dataset} | {model} | {variant} | {','.join(str(r['seed']) for r in rs)} | "
            f"{statistics.mean(r['val_acc'] for r in rs):.3f} | "
            f"{per_seed} | "
            f"{statistics.mean(r['train_acc'] for r in rs):.2f} | {rs[0]['steps']} |"
        )
    if any(k[2] == "every100" for k in rows):
        out += [
            "",
            "| data set | seeds both ran | every100 | mean100 | mean100 − every100 |",
            "|---|---|---|---|---|",
        ]
    for dataset in sorted({d for d, _, _ in rows}):
        by_seed = {
            v: {r["seed"]: r["val_acc"] for r in rows.get((dataset, "gru", v), [])}
            for v in ("every100", "mean100")
        }
        seeds = sorted(set(by_seed["every100"]) & set(by_seed["mean100"]))
        if seeds:
            a, b = (statistics.mean(by_seed[v][s] for s in seeds) for v in ("every100", "mean100"))
            out.append(f"| {dataset} | {','.join(map(str, seeds))} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    return "\n".join(
        out + budget_table(rows) + chrono_table(rows) + regularisation_table(rows) + length_table(rows)
    )


def paired(rows: dict, dataset: str, base_variant: str, variant: str) -> tuple[list[int], dict, dict]:
    """The GRU runs of two variants on one data set: (the seeds both ran, {seed: run} of each)."""
    base = {r["seed"]: r for r in rows.get((dataset, "gru", base_variant), [])}
    new = {r["seed"]: r for r in rows.get((dataset, "gru", variant), [])}
    return sorted(set(base) & set(new)), base, new


def budget_table(rows: dict) -> list[str]:
    """Each update budget against `mean100` (600 updates) on the seeds both ran: mean validation and
    training accuracy, the updates and seconds of one run, and the mean paired difference over data sets."""
    budgets = [v for v in VARIANTS if v.startswith("mean100_u") and any(k[2] == v for k in rows)]
    if not budgets:
        return []
    out = [
        "",
        "| data set | budget | seeds both ran | validation 600 | validation budget | difference | "
        "training acc. 600 → budget | updates | epochs | seconds per run 600 → budget |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    overall = {}
    for variant in budgets:
        for dataset in sorted({d for d, _, _ in rows}):
            seeds, base, new = paired(rows, dataset, "mean100", variant)
            if not seeds:
                continue

            def mean(runs, key, seeds=seeds):
                return statistics.mean(runs[s][key] for s in seeds)

            diff = mean(new, "val_acc") - mean(base, "val_acc")
            overall.setdefault(variant, []).append(diff)
            out.append(
                f"| {dataset} | {VARIANTS[variant][3]} | {','.join(map(str, seeds))} | "
                f"{mean(base, 'val_acc'):.3f} | {mean(new, 'val_acc'):.3f} | {diff:+.3f} | "
                f"{mean(base, 'train_acc'):.2f} → {mean(new, 'train_acc'):.2f} | "
                f"{new[seeds[0]].get('updates', '?')} | {new[seeds[0]]['epochs']} | "
                f"{mean(base, 'seconds'):.0f} → {mean(new, 'seconds'):.0f} |"
            )
    if not overall:  # no run of the 600-update twin: nothing to pair
        return []
    out.append("")
    for variant, diffs in overall.items():
        out.append(
            f"{variant}: mean paired validation difference over {len(diffs)} data sets "
            f"{statistics.mean(diffs):+.3f}"
        )
    return out


def chrono_table(rows: dict) -> list[str]:
    """Each chrono variant against its constant-bias twin on the seeds both ran: validation and training
    accuracy, the paired difference, and its mean over data sets and the sets that lost."""
    return [
        line for variant, twin in CHRONO.items() for line in twin_table(rows, variant, twin, "T (steps)")[0]
    ]


def regularisation_table(rows: dict) -> list[str]:
    """Each regularised variant against `mean100_u1200` on the seeds both ran, as the chrono table, with
    the mean seconds of one run; then the variant with the largest mean paired difference."""
    out, best = [], {}
    for variant, (twin, _) in REGULARISED.items():
        lines, mean_diff = twin_table(rows, variant, twin, "seconds per run")
        if lines:
            best[variant] = mean_diff
        out += lines
    if best:
        top = max(best, key=best.get)
        out += ["", f"largest mean paired validation difference: {top} ({best[top]:+.3f})"]
    return out


def length_table(rows: dict) -> list[str]:
    """Each longer length limit against its 100-step twin on the seeds both ran, as the chrono table, with
    the steps and the mean seconds of one run twin -> variant."""
    return [
        line
        for variant, twin in LONGER.items()
        for line in twin_table(rows, variant, twin, "steps; seconds per run")[0]
    ]


def twin_table(rows: dict, variant: str, twin: str, last: str) -> tuple[list[str], float]:
    """One variant against its twin per data set on the seeds both ran (validation and training accuracy,
    the paired difference, and `last`: "T (steps)" of the variant, "seconds per run" twin → variant, or
    "steps; seconds per run": the steps and the seconds twin → variant),
    then the mean difference over data sets and the sets that lost -> (lines, mean difference); ([], nan)
    where they share no seed."""
    diffs, lines = {}, []
    for dataset in sorted({d for d, _, _ in rows}):
        seeds, base, new = paired(rows, dataset, twin, variant)
        if not seeds:
            continue
        va, vb = (statistics.mean(runs[s]["val_acc"] for s in seeds) for runs in (base, new))
        ta, tb = (statistics.mean(runs[s]["train_acc"] for s in seeds) for runs in (base, new))
        sa, sb = (statistics.mean(runs[s]["seconds"] for s in seeds) for runs in (base, new))
        diffs[dataset] = vb - va
        steps = f"{base[seeds[0]]['steps']} → {new[seeds[0]]['steps']}"
        tail = {
            "T (steps)": new[seeds[0]]["steps"],
            "steps; seconds per run": f"{steps}; {sa:.0f} → {sb:.0f}",
        }.get(last, f"{sa:.0f} → {sb:.0f}")
        lines.append(
            f"| {dataset} | {','.join(map(str, seeds))} | {va:.3f} | {vb:.3f} | {vb - va:+.3f} | "
            f"{ta:.2f} → {tb:.2f} | {tail} |"
        )
    if not lines:
        return [], math.nan
    lost = [d for d, v in diffs.items() if v < 0]
    mean_diff = statistics.mean(diffs.values())
    return [
        "",
        f"| data set | seeds both ran | validation {twin} | validation {variant} | difference | "
        f"training acc. | {last} |",
        "|---|---|---|---|---|---|---|",
        *lines,
        "",
        f"{variant}: mean paired validation difference over {len(diffs)} data sets "
        f"{mean_diff:+.3f}; lower on {len(lost)} ({', '.join(lost) or 'none'})",
    ], mean_diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("jobs", nargs="+", help="VARIANT:DATASET:SEED[:MODEL]")
    t = sub.add_parser("table")
    t.add_argument("paths", nargs="+")
    t.add_argument("--seeds", help="comma-separated seeds: read only their runs (e.g. 3,4,5)")
    args = ap.parse_args()
    if args.cmd == "table":
        seeds = {int(s) for s in args.seeds.split(",")} if args.seeds else None
        print(table(args.paths, seeds))
        return
    torch.set_num_threads(1)
    for job in args.jobs:
        variant, dataset, seed, *model = job.split(":")
        rec = run_one(variant, dataset, int(seed), *model)
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
