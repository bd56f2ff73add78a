"""Models: recurrent classifiers with a single step, a causal Transformer, and parameter matching."""

from __future__ import annotations

import dataclasses

from torch import nn

from rnnscope.config import MODEL_KINDS
from rnnscope.errors import BadArgument
from rnnscope.models.pooled import PooledClassifier
from rnnscope.models.recurrent import RecurrentClassifier, mask_state
from rnnscope.models.transformer import CausalTransformerClassifier

__all__ = [
    "MODEL_KINDS",
    "CausalTransformerClassifier",
    "PooledClassifier",
    "RecurrentClassifier",
    "build_model",
    "count_params",
    "hidden_for_params",
    "mask_state",
]


def build_model(cfg, input_size: int, n_classes: int) -> nn.Module:
    """A model from a `ModelConfig`."""
    if cfg.kind == "transformer":
        return CausalTransformerClassifier(
            input_size,
            cfg.hidden,
            cfg.layers,
            n_classes,
            heads=cfg.heads,
            ff_mult=cfg.ff_mult,
            dropout=cfg.dropout,
        )
    core = RecurrentClassifier(
        cfg.kind,
        input_size,
        cfg.hidden,
        cfg.layers,
        n_classes,
        dropout=cfg.dropout,
        forget_bias=getattr(cfg, "forget_bias", 1.0),
        chrono_tmax=getattr(cfg, "chrono_tmax", None),
    )
    readout = getattr(cfg, "readout", "last")
    return core if readout == "last" else PooledClassifier(core, readout)


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _analytic_params(cfg, input_size: int, n_classes: int) -> int:
    h, layers = cfg.hidden, cfg.layers
    if cfg.kind == "transformer":
        block = (
            2 * 2 * h
            + (3 * h * h + 3 * h)
            + (h * h + h)
            + (cfg.ff_mult * h * h + cfg.ff_mult * h) * 2
            - (cfg.ff_mult * h - h)
        )
        return input_size * h + h + layers * block + 2 * h + h * n_classes + n_classes
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[cfg.kind]
    first = gates * (h * input_size + h * h + 2 * h)
    rest = (layers - 1) * gates * (2 * h * h + 2 * h)
    return first + rest + h * n_classes + n_classes


def hidden_for_params(cfg, input_size: int, n_classes: int, target: int, tolerance: float = 0.10):
    """The ModelConfig (hidden size changed) whose parameter count is closest to `target`.

    Raises ValueError if no width brings the count within ±tolerance of target.
    """

    if target < 1:
        raise BadArgument(f"the parameter budget must be positive, got {target}")
    # The transformer's width moves in steps of heads; where that is too coarse, other MLP widths
    # (then head counts) are tried too, nearest first.
    variants = [cfg]
    if cfg.kind == "transformer":
        variants += [dataclasses.replace(cfg, ff_mult=f) for f in (1, 2, 3, 4) if f != cfg.ff_mult]
        variants += [dataclasses.replace(v, heads=n) for n in (2, 1) if n < cfg.heads for v in list(variants)]
    best, best_err = None, float("inf")
    for variant in variants:
        step = variant.heads if cfg.kind == "transformer" else 1
        for h in range(step, 4097, step):
            cand = dataclasses.replace(variant, hidden=h)
            n = _analytic_params(cand, input_size, n_classes)
            err = abs(n - target) / target
            if err < best_err:
                best, best_err = cand, err
            if n > target * (1 + tolerance):
                break
        if best_err <= 0.02:
            break
    if best is None or best_err > tolerance:
        raise BadArgument(
            f"no {cfg.kind} width reaches {target} parameters within ±{tolerance:.0%} "
            f"(closest: {_analytic_params(best, input_size, n_classes) if best else 'none'})"
        )
    return best
