"""One step of each recurrent cell, written out from PyTorch's fused weights.

These are the equations of `torch.nn.RNN`, `torch.nn.LSTM` and `torch.nn.GRU` (gate order as in
PyTorch: LSTM i, f, g, o; GRU r, z, n), evaluated for one time step and one layer. The fused
modules own the weights; these functions read them, so the stepped and fused paths can never drift.

Key: B = batch, C = layer input size, H = hidden size.
"""

from __future__ import annotations

import torch
from torch import Tensor

GATES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor):
    """tanh Elman step. x (B, C), h (B, H) -> h' (B, H), gates {}."""
    return torch.tanh(torch.addmm(b_ih, x, w_ih.t()) + torch.addmm(b_hh, h, w_hh.t())), {}


def lstm_cell(x: Tensor, hc: tuple[Tensor, Tensor], w_ih, w_hh, b_ih, b_hh):
    """LSTM step. x (B, C), (h, c) each (B, H) -> ((h', c'), gates {i, f, g, o: (B, H)})."""
    h, c = hc
    z = torch.addmm(b_ih, x, w_ih.t()) + torch.addmm(b_hh, h, w_hh.t())
    zi, zf, zg, zo = z.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
    c_new = f * c + i * g
    return (o * torch.tanh(c_new), c_new), {"i": i, "f": f, "g": g, "o": o}


def gru_cell(x: Tensor, h: Tensor, w_ih, w_hh, b_ih, b_hh):
    """GRU step. x (B, C), h (B, H) -> (h', gates {r, z, n: (B, H)}); h' = (1 - z) * n + z * h."""
    gi = torch.addmm(b_ih, x, w_ih.t())
    gh = torch.addmm(b_hh, h, w_hh.t())
    ir, iz, in_ = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    return (1.0 - z) * n + z * h, {"r": r, "z": z, "n": n}


CELLS = {"rnn": rnn_cell, "lstm": lstm_cell, "gru": gru_cell}


def rnn_relu_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor):
    """ReLU Elman step (`nn.RNN(nonlinearity="relu")`). x (B, C), h (B, H) -> h' (B, H), gates {}."""
    return torch.relu(torch.addmm(b_ih, x, w_ih.t()) + torch.addmm(b_hh, h, w_hh.t())), {}
