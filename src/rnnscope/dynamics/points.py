"""`FixedPoints`: the fixed and slow points of one model under one constant input, and their linearisation.

A container of named batch-first numpy arrays (one row per unique point; fixed points first, then slow
points, each in increasing q) plus JSON metadata, saved as one safetensors file (docs/fixedpoints.md).

Key: N = points, D = state size (every layer's h, then c for the LSTM, layer by layer), C = input
channels, M = modes whose loadings are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from rnnscope.dynamics.store import load_arrays, save_arrays
from rnnscope.io import RunFileError

KIND = "rnnscope.FixedPoints"


@dataclass
class FixedPoints:
    """Fixed points (q <= tol_q) and slow points (tol_q < q <= slow_tol) of x -> F(x, inputs)."""

    x: np.ndarray  # (N, D) float64, the points: the whole stacked state
    q: np.ndarray  # (N,) float64, 0.5 ||F(x) - x||²
    slow: np.ndarray  # (N,) bool, a slow point (q above tol_q), not a fixed point
    stable: np.ndarray  # (N,) bool, every eigenvalue of the Jacobian has |λ| <= 1
    n_unstable: np.ndarray  # (N,) int64, eigenvalues with |λ| > 1 (1 at a saddle with one unstable mode)
    eigenvalues: np.ndarray  # (N, D) complex128, of ∂F/∂x at each point, sorted by |λ| descending
    time_constants: np.ndarray  # (N, D) float64, -1/ln|λ| in steps per mode (inf at |λ| = 1)
    periods: np.ndarray  # (N, D) float64, 2π/|arg λ| in steps per mode (inf for real positive λ)
    loadings: np.ndarray  # (N, M, D) float64, |eigenvector| of the M leading modes, unit norm per mode
    count: np.ndarray  # (N,) int64, how many starts ended at this point (its basin's share of the starts)
    inputs: np.ndarray  # (C,) float64, the constant input held during the search
    meta: dict = field(default_factory=dict)  # tolerances, counts of dropped starts, timings (JSON)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def fixed(self) -> np.ndarray:
        """(N,) bool: true fixed points (not slow)."""
        return ~self.slow

    def counts(self) -> dict:
        """How many points of each kind."""
        fixed = self.fixed
        return {
            "fixed": int(fixed.sum()),
            "stable": int((fixed & self.stable).sum()),
            "unstable": int((fixed & ~self.stable).sum()),
            "slow": int(self.slow.sum()),
        }

    def summary(self, n_modes: int = 3) -> dict:
        """A JSON-ready summary: counts, per point its q, kind, unstable modes, slowest time constants and
        periods of its `n_modes` leading modes, and the metadata (inf stays a float: `io.write_json` writes
        it as "Infinity")."""
        rows = []
        for i in range(len(self)):
            rows.append(
                {
                    "q": float(self.q[i]),
                    "slow": bool(self.slow[i]),
                    "stable": bool(self.stable[i]),
                    "n_unstable": int(self.n_unstable[i]),
                    "count": int(self.count[i]),
                    "max_abs_eigenvalue": float(np.abs(self.eigenvalues[i, 0])) if self.x.shape[1] else 0.0,
                    "time_constants": [float(v) for v in self.time_constants[i, :n_modes]],
                    "periods": [float(v) for v in self.periods[i, :n_modes]],
                }
            )
        return {"counts": self.counts(), "points": rows, **self.meta}

    def save(self, path: str | Path) -> None:
        """Write to one safetensors file (arrays) with the metadata as JSON in its header."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "meta"}
        save_arrays(path, KIND, arrays, self.meta)

    @classmethod
    def load(cls, path: str | Path) -> FixedPoints:
        """Read what `save` wrote (RunFileError when the file is missing, corrupt or another container)."""
        arrays, meta = load_arrays(path, KIND)
        names = [f.name for f in fields(cls) if f.name != "meta"]
        missing = [n for n in names if n not in arrays]
        if missing:
            raise RunFileError(f"fixed points file {path} is corrupt (missing {', '.join(missing)})")
        return cls(**{n: arrays[n] for n in names}, meta=meta)
