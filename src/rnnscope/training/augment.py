"""Training-batch augmentation for real data: random jitter and scaling of each training batch.

`augment` in TrainConfig names what is applied, "none" or a "+"-joined subset of
`rnnscope.config.AUGMENTATIONS` ("jitter", "scale", "jitter+scale"; `config.parse_augment` spells it):

- jitter: x + JITTER_SD * N(0, 1), independently per value;
- scale: x * (1 + SCALE_SD * N(0, 1)), one factor per series and channel.

The parameters are the usual ones of Iwana & Uchida 2021 ("An empirical survey of data augmentation for
time series classification with neural networks") for z-normalised series. Only training batches are
augmented (never evaluation). The noise comes from a generator seeded by (seed, epoch, batch), so a run
resumed from a checkpoint inside an epoch draws exactly the noise it would have drawn.

Key: B = batch, T = padded steps, C = input channels.
"""

from __future__ import annotations

import torch

JITTER_SD = 0.03
SCALE_SD = 0.1


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
    if "jitter" in names:
        noise = JITTER_SD * torch.randn(x.shape, generator=generator)
        out = out + noise.to(device=x.device, dtype=x.dtype)
    if lengths is not None:
        valid = torch.arange(x.shape[1])[None, :] < torch.as_tensor(lengths)[:, None]
        out = torch.where(valid[:, :, None].to(x.device), out, x)
    return out
