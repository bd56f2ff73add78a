"""The numbers behind the unit-analysis figures, and the figures themselves when their files are missing.

Both come from what `rnnscope analyze` saved (RUN_DIR/analysis/arrays.safetensors, units.csv,
summary.json; layout in rnnscope.unitreport.ARRAYS); nothing is recomputed. A missing figure is redrawn
by the very function `analyze` used (rnnscope.plots.units.save_unit_figures, into a temporary
directory), so it is the same figure. A numbers file whose arrays an older or newer analysis lacks falls
back to units.csv. Key: E = example sequences, T = steps, U = units, K = classes, F = frequency bins.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from rnnscope.io import RunFileError
from rnnscope.report.html import csv_bytes
from rnnscope.report.sources import Table

STEMS = {
    "examples": "unit_traces",
    "heatmap": "unit_heatmap",
    "pca": "pca_trajectories",
    "psd": "oscillatory_psd",
    "tau": "tau_histogram",
}


class UnitData:
    """analysis/arrays.safetensors + units.csv + summary.json of one run (arrays loaded on first use)."""

    def __init__(self, directory: Path, units: Table, summary: dict):
        self.directory = directory
        self.path = directory / "arrays.safetensors"
        self.units, self.summary = units, summary
        self._arrays: dict | None = None
        self._drawn: dict[str, bytes] | None = None

    @property
    def available(self) -> bool:
        return self.path.exists() and isinstance(self.summary.get("layers"), dict)

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            from safetensors import SafetensorError
            from safetensors.numpy import load_file

            try:
                self._arrays = load_file(str(self.path))
            except (SafetensorError, OSError, ValueError) as err:
                raise RunFileError(
                    f"analysis arrays {self.path} are corrupt ({err.__class__.__name__})"
                ) from None
        return self._arrays

    @property
    def layers(self) -> list[str]:
        return list(self.summary["layers"])

    def _roles(self) -> dict[tuple[str, int], str]:
        return {(str(r["layer"]), int(r["unit"])): str(r["role"]) for r in self.units.dicts()}

    def class_names(self) -> list[str]:
        names = self.summary.get("class_names") or []
        return [names[int(c)] if int(c) < len(names) else str(int(c)) for c in self.arrays["class_ids"]]

    # ---- numbers (CSV); None when the arrays lack what they need ---------------------------------
    def csv(self, key: str) -> bytes | None:
        try:
            return {"heatmap": self._heatmap_csv, "pca": self._pca_csv, "psd": self._psd_csv}[key]()
        except KeyError:
            return None

    def _heatmap_csv(self) -> bytes:
        """Example sequence 0, every unit in the figure's order: layer, unit, role, one column per step."""
        a, roles, rows = self.arrays, self._roles(), []
        for layer in self.layers:
            act = a[f"activity.l{layer}"][0]  # (T, U)
            for u in a[f"order.l{layer}"]:
                rows.append([layer, int(u), roles.get((layer, int(u)), ""), *[_r(v) for v in act[:, int(u)]]])
        return csv_bytes(["layer", "unit", "role", *[f"t{int(s)}" for s in a["steps"]]], rows)

    def _pca_csv(self) -> bytes:
        """Class-mean trajectories on PC1-3: layer, class, step, pc1, pc2, pc3."""
        a, names, rows = self.arrays, self.class_names(), []
        for layer in self.layers:
            for k, z in enumerate(a[f"pca.class_means.l{layer}"]):  # (T, 3) per class
                name = names[k] if k < len(names) else k
                rows += [[layer, name, int(s), *[_r(v) for v in z[t, :3]]] for t, s in enumerate(a["steps"])]
        return csv_bytes(["layer", "class", "step", "pc1", "pc2", "pc3"], rows)

    def _psd_csv(self) -> bytes:
        """Power spectra of the oscillatory units drawn: layer, unit, frequency, power."""
        a, rows = self.arrays, []
        for layer in self.layers:
            psd, units = a[f"psd.l{layer}"], a[f"psd_units.l{layer}"]  # (F, n), (n,)
            for j, u in enumerate(units):
                rows += [
                    [layer, int(u), _r(f), float(f"{p:.6g}")]
                    for f, p in zip(a["psd.freqs"], psd[:, j], strict=True)
                ]
        return csv_bytes(["layer", "unit", "frequency", "power"], rows)

    # ---- figures (only when a file is missing) -------------------------------------------------
    def draw(self, key: str) -> bytes | None:
        """PNG of figure `key` (examples, heatmap, pca, psd, tau) as `analyze` draws it, or None."""
        if self._drawn is None:
            from rnnscope.analysis import UnitTable
            from rnnscope.plots.units import save_unit_figures

            table = UnitTable.from_csv(self.units.path)
            with tempfile.TemporaryDirectory(prefix="rnnscope-report-") as tmp:
                try:
                    save_unit_figures(table, self.summary, self.arrays, tmp)
                except (KeyError, IndexError, ValueError) as err:
                    raise RunFileError(
                        f"analysis files in {self.directory} do not match each other ({err}); "
                        "run `rnnscope analyze` again"
                    ) from None
                self._drawn = {
                    k: p.read_bytes() for k, stem in STEMS.items() if (p := Path(tmp, f"{stem}.png")).exists()
                }
        return self._drawn.get(key)


def _r(v) -> float | str:
    v = float(v)
    return "" if not np.isfinite(v) else round(v, 4)
