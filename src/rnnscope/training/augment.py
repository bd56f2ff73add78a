"""Training-batch augmentation for real data: random scaling, magnitude warping, jitter and mixup.

`augment` in TrainConfig names what is applied, "none" or a "+"-joined subset of
`rnnscope.config.AUGMENTATIONS` ("jitter", "scale", "magwarp", "mixup", e.g. "jitter+scale+magwarp+mixup";
`config.parse_augment` spells it), applied in this order:

- scale: x * (1 + SCALE_SD * N(0, 1)), one factor per series and channel;
- magwarp (magnitude warping): x * c(t), one smooth random curve c per series, the same for every
  channel (`magwarp_curve`: knot values N(1, MAGWARP_SD^2) at MAGWARP_KNOTS + 2 evenly spaced steps of the
  batch's padded length T, first and last included, cosine-interpolated between them; training batches are
  padded to the training split's longest series, so a shorter series gets the start of its curve). With
  `downsample_by` "frames" a step's k values are one step, so they share its factor;
- jitter: x + JITTER_SD * N(0, 1), independently per value;
- mixup (Zhang et al. 2018, "mixup: beyond empirical risk minimization"), last, by the training loop:
  `mixup_batch` mixes the (augmented) batch with a random permutation of itself,
  x' = lam x + (1 - lam) x[perm], one lam ~ Beta(MIXUP_ALPHA, MIXUP_ALPHA) per batch, and the loop mixes the
  loss alike, lam CE(y) + (1 - lam) CE(y[perm]). Each series keeps its own length: where its partner is
  shorter, the partner's padding (0) is mixed in.

The parameters are the usual ones of Iwana & Uchida 2021 ("An empirical survey of data augmentation for
time series classification with neural networks") for z-normalised series (their magnitude warp draws
a cubic spline through the knots, per channel; the cosine keeps the curve smooth without SciPy, and one
curve for all channels is what frames allow: docs/training.md, "Magnitude warping"). Only training batches are
augmented (never evaluation). The noise comes from a generator seeded by (seed, epoch, batch), so a run
resumed from a checkpoint inside an epoch draws exactly the noise it would have drawn.

Key: B = batch, T = padded steps, C = input channels.
"""

from __future__ import annotations

import numpy as np
import torch

JITTER_SD = 0.03
SCALE_SD = 0.1
MAGWARP_SD = 0.2
MIXUP_ALPHA = 0.2
MAGWARP_KNOTS = 4  # interior knots; with both ends, MAGWARP_KNOTS + 2 knot values per curve


def magwarp_curve(batch: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    """The magnitude-warping curves of one batch -> (batch, steps), one per series: knot values
    N(1, MAGWARP_SD^2) at MAGWARP_KNOTS + 2 evenly spaced steps (the first and the last included),
    cosine-interpolated between neighbouring knots (smooth, with a flat slope at each knot)."""
    n = MAGWARP_KNOTS + 2
    knots = 1.0 + MAGWARP_SD * torch.randn(batch, n, generator=generator)
    pos = torch.linspace(0, n - 1, steps) if steps > 1 else torch.zeros(1)
    left = pos.floor().long().clamp(max=n - 2)
    w = (1 - torch.cos(torch.pi * (pos - left))) / 2
    return knots[:, left] * (1 - w) + knots[:, left + 1] * w


def batch_generator(seed: int, epoch: int, batch: int) -> torch.Generator:
    """The CPU generator of one training batch's noise (a function of seed, epoch and batch only)."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + epoch) * 1_000_033 + batch) % 2**63)


def augment_batch(x: torch.Tensor, how: str, generator: torch.Generator, lengths=None) -> torch.Tensor:
    """x (B, T, C) -> an augmented copy (B, T, C), per `how` (see the module docstring); "none": x itself.

    lengths (B,) or None: where given, padded steps (t >= lengths[i]) stay as they were."""
    if how == "none":
        return x
    names = how.split("+")
    out = x
    if "scale" in names:
        factor = 1.0 + SCALE_SD * torch.randn(x.shape[0], 1, x.shape[2], generator=generator)
        out = out * factor.to(device=x.device, dtype=x.dtype)
    if "magwarp" in names:
        curve = magwarp_curve(x.shape[0], x.shape[1], generator)
        out = out * curve[:, :, None].to(device=x.device, dtype=x.dtype)
    if "jitter" in names:
        noise = JITTER_SD * torch.randn(x.shape, generator=generator)
        out = out + noise.to(device=x.device, dtype=x.dtype)
    if lengths is not None:
        valid = torch.arange(x.shape[1])[None, :] < torch.as_tensor(lengths)[:, None]
        out = torch.where(valid[:, :, None].to(x.device), out, x)
    return out


def mixup_batch(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, float, torch.Tensor]:
    """x (B, T, C) -> (lam x + (1 - lam) x[perm] (B, T, C), lam, perm (B,) on the CPU): one
    lam ~ Beta(MIXUP_ALPHA, MIXUP_ALPHA) and one permutation per batch, drawn from `generator` (after the
    batch's other augmentations have drawn theirs)."""
    rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
    lam, perm = float(rng.beta(MIXUP_ALPHA, MIXUP_ALPHA)), torch.as_tensor(rng.permutation(x.shape[0]))
    return lam * x + (1 - lam) * x[perm.to(x.device)], lam, perm
