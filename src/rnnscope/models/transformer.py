"""A small causal Transformer classifier that reads out at each sequence's last step.

Pre-LayerNorm blocks, sinusoidal positions, causal self-attention. `step(x_t, state) -> state` runs one
position with a key/value cache, so the Transformer streams through the same API as the recurrent
models (its state grows with the context; theirs does not).

Key: B = batch, T = time, C = input channels, D = model width, N = heads, K = classes.
State (KV cache): {"k": [(B, N, t, D/N)] per layer, "v": same, "t": positions seen, "h": (B, D) the top
residual stream at the last position}.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnscope.errors import BadArgument


def sinusoidal_positions(t0: int, t1: int, d: int, device=None, dtype=None) -> Tensor:
    """Positions t0..t1-1 as (t1 - t0, d) sinusoids (Vaswani et al. 2017)."""
    pos = torch.arange(t0, t1, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(t1 - t0, d, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe.to(dtype or torch.float32)


class Block(nn.Module):
    """Pre-LN block: x + attn(ln(x)); x + mlp(ln(x))."""

    def __init__(self, d: int, heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Linear(ff_mult * d, d))
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        return tuple(z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))

    def _finish(self, x: Tensor, y: Tensor) -> Tensor:
        b, _, t, _ = y.shape
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, -1)))
        return x + self.drop(self.mlp(self.ln2(x)))

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """x (B, T, D) -> (x', attention weights (B, N, T, T) or None)."""
        q, k, v = self._split(x)
        if need_weights:
            t = x.shape[1]
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            w = scores.masked_fill(~causal, float("-inf")).softmax(-1)
            return self._finish(x, w @ v), w
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self._finish(x, y), None

    def step(self, x: Tensor, k_cache: Tensor, v_cache: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One position: x (B, 1, D), caches (B, N, t, D/N) -> (x', caches with t + 1)."""
        q, k, v = self._split(x)
        k_cache = torch.cat([k_cache, k], dim=2)
        v_cache = torch.cat([v_cache, v], dim=2)
        y = F.scaled_dot_product_attention(q, k_cache, v_cache)  # the last position sees everything
        return self._finish(x, y), k_cache, v_cache


class CausalTransformerClassifier(nn.Module):
    """forward(x (B, T, C), lengths (B,) | None) -> logits (B, K), read at position lengths - 1."""

    kind = "transformer"
    gate_names: tuple[str, ...] = ()

    def __init__(
        self,
        input_size: int,
        d_model: int,
        num_layers: int,
        n_classes: int,
        heads: int = 4,
        ff_mult: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("d_model", d_model),
            ("num_layers", num_layers),
            ("n_classes", n_classes),
            ("heads", heads),
            ("ff_mult", ff_mult),
        ):
            if value < 1:
                raise BadArgument(f"{name} must be greater than zero, got {value}")
        if d_model % heads:
            raise BadArgument(f"d_model ({d_model}) must be a multiple of heads ({heads})")
        self.input_size = input_size
        self.hidden_size = d_model
        self.num_layers = num_layers
        self.n_classes = n_classes
        self.heads = heads
        self.embed = nn.Linear(input_size, d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads, ff_mult, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def encode(self, x: Tensor, need_weights: bool = False) -> tuple[list[Tensor], list[Tensor]]:
        """Residual streams after the embedding and after each block: list of (B, T, D), plus
        attention weights per block (B, N, T, T) when need_weights."""
        z = self.embed(x) + sinusoidal_positions(0, x.shape[1], self.hidden_size, x.device, x.dtype)
        streams, weights = [z], []
        for block in self.blocks:
            z, w = block(z, need_weights)
            streams.append(z)
            if w is not None:
                weights.append(w)
        return streams, weights

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        top = self.encode(x)[0][-1]
        if lengths is None:
            last = top[:, -1]
        else:
            last = top[torch.arange(x.shape[0], device=x.device), lengths.to(x.device) - 1]
        return self.stream_readout(last)

    def init_state(self, batch: int, device=None, dtype=None) -> dict:
        p = self.head.weight
        device, dtype = device or p.device, dtype or p.dtype
        empty = torch.zeros(batch, self.heads, 0, self.hidden_size // self.heads, device=device, dtype=dtype)
        return {
            "k": [empty] * self.num_layers,
            "v": [empty] * self.num_layers,
            "t": 0,
            "h": torch.zeros(batch, self.hidden_size, device=device, dtype=dtype),
        }

    def step(self, x_t: Tensor, state: dict) -> dict:
        """One position with the KV cache: x_t (B, C), state -> new state (the old one is not changed)."""
        return self.step_with_streams(x_t, state)[0]

    def step_with_streams(self, x_t: Tensor, state: dict) -> tuple[dict, list[Tensor]]:
        """One position, also returning the residual stream after each block: list over blocks of (B, D)."""
        t = state["t"]
        z = (self.embed(x_t) + sinusoidal_positions(t, t + 1, self.hidden_size, x_t.device, x_t.dtype))[
            :, None
        ]
        ks, vs, outs = [], [], []
        for block, k, v in zip(self.blocks, state["k"], state["v"]):
            z, k, v = block.step(z, k, v)
            ks.append(k)
            vs.append(v)
            outs.append(z[:, 0])
        return {"k": ks, "v": vs, "t": t + 1, "h": z[:, 0]}, outs

    def readout(self, state: dict) -> Tensor:
        return self.stream_readout(state["h"])

    def stream_readout(self, z: Tensor) -> Tensor:
        """Class logits (..., K) from top residual streams z (..., D)."""
        return self.head(self.norm(z))

    def top_hidden(self, state: dict) -> Tensor:
        return state["h"]

    def cache_bytes(self, length: int, itemsize: int = 4) -> int:
        """Bytes of the state after `length` positions: keys and values of every layer at every position
        (L * 2 * T * D) plus the top residual stream (D)."""
        return (self.num_layers * 2 * length * self.hidden_size + self.hidden_size) * itemsize
