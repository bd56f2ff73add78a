"""Sentences about fitted gradient decays, from GradientSummary rows (rnnscope.rundir.summaries.DecayRow):
every layer named, a fit that does not describe the profile said to be no exponential decay, a context
that never fell below epsilon given as "at least".

MIN_R2: a fit of log ||dL/dh|| against the distance that explains less than half of its variance is not
an exponential decay: the decay factor and half-life of such a fit are not printed as results (a flat
profile gives a factor near 1 with R^2 near 0, a noisy one any factor).
"""

from __future__ import annotations

MIN_R2 = 0.5
HIDDEN = ("grad_h", "grad_stream")


def is_decay(row) -> bool:
    """True where the fit is an exponential decay worth quoting (R^2 >= MIN_R2, finite)."""
    r2 = row.r2
    return isinstance(r2, (int, float)) and r2 == r2 and r2 >= MIN_R2


def decay_phrase(row) -> str:
    """'decay factor 0.950 per step, effective context 15 steps' or 'no exponential decay (fit R² 0.001),
    effective context >= 59 steps'."""
    ctx = row.effective_context
    context = (
        "no effective context"
        if ctx is None
        else f"effective context {'>= ' if row.context_censored else ''}{ctx} steps"
    )
    if not is_decay(row):
        return f"no exponential decay (fit R² {row.r2:.3f} < {MIN_R2}), {context}"
    return f"decay factor {row.decay_factor:.3f} per step, {context}"


def layers_line(rows, quantities=HIDDEN) -> str | None:
    """Every layer's hidden-state gradient: 'layer 0: ...; layer 1: ...' (None: no such rows)."""
    mine = [r for r in rows if r.quantity in quantities]
    if not mine:
        return None
    return "; ".join(f"layer {r.layer}: {decay_phrase(r)}" for r in mine)


def vanished_layers(rows) -> list[int]:
    """Layers whose hidden-state gradient decays exponentially and fell below epsilon within the sequence."""
    return [
        r.layer
        for r in rows
        if r.quantity in HIDDEN
        and is_decay(r)
        and r.decay_factor < 1
        and r.effective_context is not None
        and not r.context_censored
    ]
