"""The unit sections of a run's report: the hidden-state explorer, the units × time heatmap, the role
table with counts per layer, and PCA trajectories by class (from RUN_DIR/recording/ and RUN_DIR/analysis/,
written by `rnnscope record` and `rnnscope analyze`)."""

from __future__ import annotations

from rnnscope.report.explorer import ROLE_ORDER, explorer_data
from rnnscope.report.figures import FigureFinder, Slot
from rnnscope.report.html import Bound, Download, Section, json_script, missing, note, table
from rnnscope.report.sources import Table, layer_index
from rnnscope.report.unit_captions import examples_caption, heatmap_caption, psd_absent, psd_caption
from rnnscope.rundir.runfacts import input_names

HEATMAP = Slot(
    "heatmap",
    "Every unit's activity over time for one sequence, rows sorted by role and timescale: look for "
    "ramps (integrators), stripes (oscillatory units) and brief flashes after inputs (transients).",
)
PCA = Slot(
    "pca",
    "Class-mean trajectories in the first principal components of the hidden state: look for the "
    "classes pulling apart as evidence arrives — the decision forming in the state.",
)
EXAMPLES = Slot(
    "examples",
    "Example units of each role over time: look for the signature of each role (a ramp, a rhythm, "
    "a flash after an input, a flat line).",
)
PSD = Slot(
    "psd",
    "Power spectra of the oscillatory units: look for a peak at the rhythm frequency of the task.",
)
TAU = Slot(
    "tau",
    "Distribution of unit timescales τ (autocorrelation decay, steps): look for a long tail of slow "
    "units next to a bulk of fast ones.",
)


def explorer_section(r) -> Section:
    """r: the run's RunReader (run_report.py)."""
    s = Section("explorer", "Hidden-state explorer")
    if r.recording is None:
        s.available = False
        return s.add(r.missing("a recording of the hidden states (RUN_DIR/recording/)", "record"))
    n_inputs = r.recording.shape("inputs")[-1] if "inputs" in r.recording else 0
    data = explorer_data(r.recording, r.units, input_names=input_names(r.config, n_inputs))
    if data is None:
        s.available = False
        return s.add(missing("per-unit states and inputs in the recording", r.command("record")))
    s.add(
        note(
            f"Pick a sequence: the input is drawn on top, the network's running belief below it, then every "
            f"unit's trajectory, grouped by layer and role. {len(data['seqs'])} of the "
            f"{r.recording.n_sequences} recorded {data['split']} sequences are embedded, classes in turn."
        )
    )
    if r.units is None:
        s.add(r.missing("unit roles (every unit is shown as unclassified)", "analyze"))
    return s.add('<div id="explorer" class="explorer"></div>', json_script("explorer-data", data))


def _units_missing(r, s: Section, what: str) -> Section:
    s.available = False
    return s.add(r.missing(what, "analyze"))


def _unit_figure(r, finder: FigureFinder, slot: Slot) -> str | None:
    """A unit-analysis figure with its numbers (CSV cut from arrays.safetensors, else units.csv)."""
    data = r.unit_data
    downloads = [finder.download(r.units.path)] if r.units is not None else []
    usable = data is not None and data.available
    numbers = data.csv(slot.key) if usable else None
    if numbers is not None:
        downloads = [Download(f"{slot.key}.csv", data=numbers)]
    fig = r.paths.analysis.figure(slot.key)
    return finder.html(slot, fig, downloads, (lambda: data.draw(slot.key)) if usable else None)


def _counts(r) -> dict[str, int]:
    """{role: units} over all layers, from units.csv."""
    out: dict[str, int] = {}
    for role in r.units.col("role") if r.units is not None and "role" in r.units.columns else []:
        out[str(role)] = out.get(str(role), 0) + 1
    return out


def heatmap_section(r, finder: FigureFinder) -> Section:
    s = Section("heatmap", "Units × time")
    slot = Slot(HEATMAP.key, heatmap_caption(_counts(r))) if r.units is not None else HEATMAP
    fig = _unit_figure(r, finder, slot)
    return s.add(fig) if fig else _units_missing(r, s, "the units × time heatmap (RUN_DIR/analysis/)")


def role_counts(units: Table) -> tuple[list[str], list[list]]:
    """(header, rows) of units per role and layer, roles in ROLE_ORDER then any others."""
    counts: dict = {}
    for row in units.dicts():
        layer = layer_index(row["layer"])
        per_layer = counts.setdefault(layer if layer is not None else str(row["layer"]), {})
        per_layer[str(row["role"])] = per_layer.get(str(row["role"]), 0) + 1
    present = {role for c in counts.values() for role in c}
    roles = [x for x in ROLE_ORDER if x in present] + sorted(present - set(ROLE_ORDER))
    rows = [[f"layer {k}", *[c.get(role, 0) for role in roles], sum(c.values())] for k, c in counts.items()]
    return ["layer", *roles, "total"], rows


def roles_section(r, finder: FigureFinder) -> Section:
    s = Section("roles", "Unit roles")
    if r.units is None:
        return _units_missing(r, s, "the unit table (RUN_DIR/analysis/units.csv)")
    header, rows = role_counts(r.units)
    s.add(
        "<h3>Units per role and layer</h3>",
        table(header, rows, numeric=set(range(1, len(header))), table_id="role-counts"),
    )
    numeric = {
        i
        for i, col in enumerate(r.units.columns)
        if all(isinstance(v, (int, float)) or v in ("", "nan", "NaN") for v in r.units.col(col))
    }
    s.add(
        "<h3>Every unit</h3>",
        note(
            "Click a column header to sort by it (again to reverse). Definitions of the "
            "columns and the role rule: docs/analysis.md."
        ),
        table(
            r.units.columns, _bounded(r.units), sortable=True, table_id="role-table", numeric=numeric
        ).replace('class="table-wrap"', 'class="table-wrap tall"', 1),
        f"<p>{finder.download(r.units.path, 'the unit table (CSV)').html()}</p>",
    )
    counts = _counts(r)
    psd = psd_caption(counts)
    probed = r.analysis is not None and bool(getattr(r.analysis, "dynamics", None))
    slots = [Slot(EXAMPLES.key, examples_caption(counts)), Slot(PSD.key, psd) if psd else None, TAU]
    for slot in slots:
        fig = _unit_figure(r, finder, slot) if slot is not None else None
        if fig:
            s.add(fig)
        elif slot is None:
            s.add(note(psd_absent(probed)))
    return s


CENSORED = {"tau": "tau_censored", "memory": "memory_censored", "free_tau": "free_tau_censored"}


def _bounded(units: Table) -> list[list]:
    """The rows of units.csv with censored numbers written as bounds ("> 30", "< 1"), never as values."""
    cols = units.columns
    pairs = [(cols.index(v), cols.index(f)) for v, f in CENSORED.items() if v in cols and f in cols]
    rows = []
    for row in units.rows:
        row = list(row)
        for i, j in pairs:
            flag = str(row[j] or "")
            if flag == "above":
                row[i] = Bound(float(row[i]), f"> {row[i]:g}") if isinstance(row[i], (int, float)) else row[i]
            elif flag == "below":
                row[i] = Bound(float(row[i]), f"< {row[i]:g}") if isinstance(row[i], (int, float)) else row[i]
        rows.append(row)
    return rows


def pca_section(r, finder: FigureFinder) -> Section:
    s = Section("pca", "PCA trajectories by class")
    fig = _unit_figure(r, finder, PCA)
    if fig is None:
        return _units_missing(r, s, "PCA of the hidden states (RUN_DIR/analysis/)")
    s.add(fig)
    if r.analysis is not None:
        pr, evr = r.analysis.participation_ratio, r.analysis.pca_explained_variance_ratio
        rows = []
        for layer, value in pr.items():
            ev = [float(v) for v in (evr.get(layer) or [])]
            rows.append(
                [
                    f"layer {layer}",
                    value,
                    *[(ev[i] if i < len(ev) else None) for i in range(3)],
                    sum(ev[:3]) if ev else None,
                ]
            )
        s.add(
            table(
                ["layer", "participation ratio", "PC1 variance", "PC2", "PC3", "PC1-3"],
                rows,
                numeric={1, 2, 3, 4, 5},
                caption="Share of the hidden-state variance per principal component; "
                "the participation ratio counts the dimensions in use.",
            )
        )
    return s
