"""The gradient sections of a run's report, from RUN_DIR/gradients/ (written by `rnnscope gradients`;
layout in rnnscope.rundir.GradientPaths).

    profile.csv, profile_init.csv   step, layer, quantity, mean, std (trained; at initialisation)
    summary.json                    GradientSummary: per-layer decay factor, half-life, context (a);
                                    behavioural: definition (b) when a context sweep was given
    through_training.safetensors    the profile at snapshots during training (GradientSnapshots)
    profile, learning_by_step, highways, through_training (.png/.svg)

A figure whose file is missing is redrawn from these files by the very function the gradients stage
used (rnnscope.plots.gradient_panels.gradient_figures), so it is the same figure.
"""

from __future__ import annotations

from rnnscope.plots.gradient_panels import gradient_figures
from rnnscope.report.companion_part import companion_html
from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.html import Download, Section, commands, csv_bytes, missing, note, table
from rnnscope.rundir import (
    QUANTITY,
    GradientSummary,
    Table,
    profile_by_step,
    read_gradient_summary,
    read_profile,
    read_snapshots,
)
from rnnscope.rundir.gradient_text import MIN_R2, is_decay

FLOW = Slot(
    "gradient_flow",
    "‖∂L/∂h_t‖ against the step t on a log scale, per layer, trained (solid) and at initialisation: look "
    "for how fast the gradient falls from the last step back to the first — a straight fall is a "
    "constant decay factor per step.",
)
EVOLUTION = Slot(
    "gradient_evolution",
    "The gradient profile at each snapshot during training (epochs down, steps across): look for "
    "whether early steps gain gradient as the network learns, or stay dark.",
)
LEARNING = Slot(
    "learning_by_step",
    "How much each step contributes to the weight update, ‖Σ_b δ_t x_tᵀ‖ for W_ih and W_hh: look for "
    "the early steps contributing orders of magnitude less — they learn more slowly.",
)
HIGHWAY = Slot(
    "highways",
    "The gate product along the sequence (LSTM Π f, GRU Π z) next to the normalised gradient and the "
    "Jacobian product: look for products that stay near 1 where the gradient survives — the highway.",
)

RNN_HIGHWAY = Slot(
    "highways",
    "A tanh RNN has no gates: the normalised gradient and the norm of the Jacobian product ∂h_n/∂h_t "
    "along the sequence, per layer: look for how far back each stays near 1.",
)


def _drawer(kind: str, what: str, profile: Table | None, init: Table | None, paths):
    """A function drawing figure `what` (flow, learning, highways, evolution) from the saved files, or None
    when its data are missing; it imports the plotting code only when called (a figure file is missing)."""
    if what == "evolution" and not paths.snapshots_meta.exists():
        return None
    if what != "evolution" and (
        profile is None or kind == "transformer" and what in ("learning", "highways")
    ):
        return None

    def draw():
        if what == "evolution":
            through = read_snapshots(paths)
            if through is None:
                return None
            return gradient_figures(kind, {}, {}, through.epochs, through.mean, only=("evolution",)).get(what)
        figs = gradient_figures(kind, profile_by_step(profile), profile_by_step(init), only=(what,))
        return figs.get(what)

    return draw


def _subset(
    name: str, profile: Table | None, init: Table | None, quantities: tuple[str, ...]
) -> list[Download]:
    """The rows of profile.csv and profile_init.csv a figure draws, as one CSV (model = trained | init)."""
    rows = []
    for label, t in (("trained", profile), ("init", init)):
        if t is not None:
            rows += [[label, *r] for r in t.rows if str(r[t.columns.index("quantity")]) in quantities]
    if not rows:
        return []
    header = ["model", *(profile or init).columns]
    return [Download(f"{name}.csv", data=csv_bytes(header, rows))]


def _snapshots_csv(paths, kind: str) -> list[Download]:
    """What the over-training figure draws: the mean gradient per epoch and step, one row per
    (layer, epoch), from through_training.safetensors."""
    through = read_snapshots(paths)
    if through is None:
        return []
    prefix = "grad_stream/" if kind == "transformer" else "grad_h/"
    rows = []
    for name, mean in through.mean.items():  # (E, T)
        if name.startswith(prefix):
            for e, row in zip(through.epochs.tolist(), mean, strict=True):
                rows.append([name, e, *[float(f"{v:.5g}") for v in row]])
    steps = [f"t{t}" for t in range(through.mean[next(iter(through.mean))].shape[1])] if through.mean else []
    return [Download("gradient_through_training.csv", data=csv_bytes(["gradient", "epoch", *steps], rows))]


NO_DECAY = "no exponential decay"


def _fitted(row, value):
    """A fitted number of `row` for the decay table, or NO_DECAY where its fit is not an exponential decay
    (R² < gradient_text.MIN_R2: the factor and half-life of such a fit are not results); None: no row."""
    if row is None:
        return None
    return value if is_decay(row) else NO_DECAY


def no_decay_sentence(per_layer) -> str:
    """The decay table's caption sentence naming the fits below MIN_R2 ("" when there are none)."""
    flat = [
        f"layer {r.layer} {QUANTITY.get(r.quantity, r.quantity)} (R² {r.r2:.2f})"
        for r in per_layer
        if not is_decay(r)
    ]
    if not flat:
        return ""
    return (
        f" A fit explaining less than half the variance (R² < {MIN_R2}) is no exponential decay and no "
        f"factor or half-life is quoted for it: {', '.join(flat)}; the figure above shows the profile."
    )


def _decay_table(summary: GradientSummary | None) -> str:
    rows = []
    for r, i in summary.pairs() if summary is not None else []:
        rows.append(
            [
                f"layer {r.layer}",
                QUANTITY.get(r.quantity, r.quantity),
                _fitted(r, r.decay_factor),
                _fitted(i, i.decay_factor if i is not None else None),
                _fitted(r, r.half_life),
                r.r2,
            ]
        )
    if not rows:
        return ""
    return table(
        [
            "layer",
            "gradient",
            "decay factor per step",
            "at initialisation",
            "half-life (steps)",
            "R² of the fit",
        ],
        rows,
        numeric={2, 3, 4, 5},
        caption="Per-step decay factor fitted to log‖∂L/∂h‖ against the distance from the last step "
        "(docs/gradients.md); the half-life is ln 2 / −ln(decay factor)."
        + no_decay_sentence(summary.per_layer),
    )


def _context_part(summary: GradientSummary | None) -> str:
    if summary is None:
        return ""
    rows = [
        [
            f"layer {r.layer}",
            QUANTITY.get(r.quantity, r.quantity),
            r.effective_context,
            "yes" if r.context_censored else "no",
        ]
        for r in summary.per_layer
    ]
    eps = summary.epsilon
    parts = (
        [
            table(
                ["layer", "gradient", "effective context (a), steps", "at least (never fell below ε)"],
                rows,
                numeric={2},
                caption=f"(a) Gradient-based: the largest distance k at which the normalised "
                f"gradient stays ≥ ε = {eps} at every distance up to k.",
            )
        ]
        if rows
        else []
    )
    b = summary.behavioural
    if b is not None:
        parts.append(
            table(
                ["definition", "effective context (steps)", "censored", "from"],
                [
                    [
                        "(b) behavioural",
                        b.get("effective_context"),
                        "yes" if b.get("censored") else "no",
                        b.get("source"),
                    ]
                ],
                numeric={1},
                caption="(b) Behavioural: the longest recall distance still solved "
                "(90 % of the short-distance chance-corrected accuracy).",
            )
        )
    return "".join(parts)


def sections(r, finder: FigureFinder) -> list[Section]:
    """Gradient flow by step, over training, learning by step, effective context, gate highways."""
    gdir = r.paths.gradients
    profile = read_profile(gdir.profile_csv)
    init = read_profile(gdir.profile_init_csv)
    summary = read_gradient_summary(gdir.summary)
    kind = r.config["model"].get("kind")
    command, why = r.command("gradients"), r.stage_note("gradients")
    files = [finder.download(t.path, f"{t.path.name} (CSV)") for t in (profile, init) if t is not None]
    if summary is not None:
        files.append(
            Download(f"gradient_{gdir.summary.name}", data=gdir.summary.read_bytes(), label=gdir.summary.name)
        )

    def unavailable(s: Section, what: str, cmd: str = command) -> Section:
        s.available = False
        return s.add(missing(what, cmd) + (note(why) if why else ""))

    def figure(slot: Slot, what: str, numbers) -> str | None:
        return finder.html(slot, gdir.figure(what), numbers, _drawer(kind, what, profile, init, gdir))

    flow = Section("gradient-flow", "Gradient flow by step")
    fig = figure(FLOW, "flow", _subset("gradient_flow", profile, init, tuple(QUANTITY)))
    if fig is None:
        unavailable(flow, "the per-step gradient profile (RUN_DIR/gradients/)")
    else:
        flow.add(
            fig,
            _decay_table(summary),
            f'<p class="note">All the gradient numbers: {" · ".join(d.html() for d in files)}</p>',
        )

    evo = Section("gradient-evolution", "Gradient flow over training")
    fig = figure(EVOLUTION, "evolution", _snapshots_csv(gdir, kind) if gdir.snapshots.exists() else [])
    if fig is not None:
        evo.add(fig)
    elif profile is not None:  # the gradients were measured, but training took no snapshots
        unavailable(
            evo,
            "snapshots of the gradient profile during training (the run was trained without the "
            "GradientSnapshots callback)",
            "rnnscope run --out DIR (with this run's options)",
        )
    else:
        unavailable(evo, "snapshots of the gradient profile during training")

    learning = Section("learning", "Learning by step")
    fig = figure(
        LEARNING, "learning", _subset("learning_by_step", profile, init, ("learn_w_ih", "learn_w_hh"))
    )
    if fig is not None:
        learning.add(fig)
    elif kind == "transformer" and profile is not None:
        learning.add(
            note(
                "Learning by step is measured for the recurrent weights W_ih and W_hh; the Transformer "
                "has none (its input saliency ‖∂L/∂x_t‖ is in the gradient-flow figure)."
            )
        )
    else:
        unavailable(learning, "the per-step weight-update contributions")

    context = Section("context", "Effective context")
    part = _context_part(summary)
    if part:
        context.add(part)
        if summary.behavioural is None:
            context.add(
                note("The behavioural definition (b) needs a sweep over dependency distances, then:"),
                commands(
                    "rnnscope context --models rnn,lstm,gru --distances 5,10,20,50,100,200 --out DIR",
                    f"rnnscope gradients {r.root} --context DIR",
                ),
            )
    else:
        unavailable(context, "the effective context window (RUN_DIR/gradients/summary.json)")

    highways = Section("highways", "Gate highways")
    if kind == "transformer":
        highways.add(
            note(
                "A Transformer has no recurrence and no gates: attention reaches every earlier step "
                "directly, so there is no highway to show."
            )
        )
    else:
        mate = companion_html(r.paths, finder, summary, kind)
        if kind == "rnn":
            highways.add(
                note(
                    "A tanh RNN has no gates, so there is no gate highway: the figure shows the norm of "
                    "the Jacobian product ∂h_n/∂h_t, the only path its gradient has"
                    + (
                        " — the gated companion below has a second one, the gate product (LSTM Π f)."
                        if mate
                        else " — `rnnscope run` trains a gated companion to compare (--companion)."
                    )
                )
            )
        fig = figure(
            HIGHWAY if kind != "rnn" else RNN_HIGHWAY,
            "highways",
            _subset("highways", profile, init, ("highway", "jacobian_product", "grad_h", "grad_c")),
        )
        if fig is not None:
            highways.add(fig)
        elif kind != "rnn" or profile is None:
            unavailable(
                highways,
                "the gate products along the sequence"
                if kind != "rnn"
                else "the Jacobian product along the sequence",
            )
        if mate:
            highways.add(mate)
    return [flow, evo, learning, context, highways]
