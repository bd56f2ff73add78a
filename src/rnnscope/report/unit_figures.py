"""The numbers behind the unit-analysis figures, and the figures themselves when their files are missing.

Both come from what `rnnscope analyze` saved (RUN_DIR/analysis/arrays.safetensors, units.csv,
summary.json; layout in rnnscope.unitreport.ARRAYS); nothing is recomputed. A missing figure is redrawn
by the very function `analyze` used (rnnscope.plots.units.unit_figures), so it is the same figure. A
numbers file whose arrays an older or newer analysis lacks falls back to units.csv. Key: E = example
sequences, T = steps, U = units, K = classes, F = frequency bins.
"""

from __future__ import annotations

import numpy as np

from rnnscope.io import RunFileError
from rnnscope.plots.units import unit_figures
from rnnscope.report.figures import fig_to_png
from rnnscope.report.html import csv_bytes
from rnnscope.rundir import AnalysisPaths, AnalysisSummary, Table, read_arrays


class UnitData:
    """analysis/arrays.safetensors + units.csv + summary.json of one run (arrays loaded on first use)."""

    def __init__(self, paths: AnalysisPaths, units: Table, summary: AnalysisSummary):
        self.directory = paths.dir
        self.path = paths.arrays
        self.units, self.summary = units, summary
        self._arrays: dict | None = None
        self._drawn: dict[str, bytes] | None = None

    @property
    def available(self) -> bool:
        return self.path.exists()

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = read_arrays(self.path, "analysis arrays")
        return self._arrays

    @property
    def layers(self) -> list[str]:
        return list(self.summary.layers)

    def _has(self, names: list[str]) -> bool:
        return all(n in self.arrays for n in names)

    def _roles(self) -> dict[tuple[str, int], str]:
        return {(str(r["layer"]), int(r["unit"])): str(r["role"]) for r in self.units.dicts()}

    def class_names(self) -> list[str]:
        names = self.summary.class_names or []
        return [names[int(c)] if int(c) < len(names) else str(int(c)) for c in self.arrays["class_ids"]]

    # ---- numbers (CSV); None when the arrays lack what they need ---------------------------------
    def csv(self, key: str) -> bytes | None:
        per_layer = {
            "heatmap": ("activity", "order"),
            "pca": ("pca.class_means",),
            "psd": ("psd", "psd_units"),
        }
        shared = {"heatmap": ["steps"], "pca": ["steps", "class_ids"], "psd": ["psd.freqs"]}
        if key not in per_layer:
            return None
        if not self._has(shared[key] + [f"{p}.l{layer}" for p in per_layer[key] for layer in self.layers]):
            return None
        return {"heatmap": self._heatmap_csv, "pca": self._pca_csv, "psd": self._psd_csv}[key]()

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
            self._check_arrays()
            roles, taus = self._per_layer()
            self._drawn = {
                k: fig_to_png(f) for k, f in unit_figures(self.summary, self.arrays, roles, taus).items()
            }
        return self._drawn.get(key)

    def _check_arrays(self) -> None:
        need = ["steps", "class_ids", "psd.freqs"] + [
            f"{p}.l{layer}"
            for layer in self.layers
            for p in ("activity", "order", "pca.class_means", "pca.evr", "pca.proj", "psd", "psd_units")
        ]
        lacking = [n for n in need if n not in self.arrays]
        if lacking:
            raise RunFileError(
                f"analysis files in {self.directory} do not match each other (no array {lacking[0]} "
                "in arrays.safetensors); run `rnnscope analyze` again"
            )

    def _per_layer(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per layer key of the summary: the role (U,) and tau (U,) of every unit from units.csv."""
        rows = self.units.dicts()
        roles, taus = {}, {}
        for layer in self.layers:
            mine = [r for r in rows if str(r["layer"]) == layer]
            roles[layer] = np.array([str(r["role"]) for r in mine])
            taus[layer] = np.array([_tau(r) for r in mine])
        return roles, taus


def _tau(row: dict) -> float:
    """tau for the histogram: inf where censored above (longer than measurable), 0 where below."""
    flag = str(row.get("tau_censored", "") or "")
    if flag == "above":
        return np.inf
    if flag == "below":
        return 0.0
    return float(row["tau"]) if isinstance(row.get("tau"), (int, float)) else np.nan


def _r(v) -> float | str:
    v = float(v)
    return "" if not np.isfinite(v) else round(v, 4)
