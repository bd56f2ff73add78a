"""Figures for the report: reuse the PNG a command already wrote; draw one only when it is missing.

A `Slot` names a figure of the report (its key) and its caption (one sentence: what to look for); the
file it shows is the one rnnscope.rundir names for it (a `rundir.Figure`). `FigureFinder` remembers
which PNGs it showed, so the figures no slot shows can still be shown at the end ("other figures").
The numbers behind a figure: what the section cuts from its data files for it, else a CSV (or
safetensors) file of the same stem next to it; files up to EMBED_LIMIT bytes are embedded as data
URLs, larger ones are linked by a
path relative to the report (the report lives in the same directory tree).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from rnnscope.report.html import Download, csv_bytes, figure
from rnnscope.rundir import Figure, read_arrays, read_png

EMBED_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Slot:
    key: str  # stable id of the figure in the report (data-figure attribute)
    caption: str  # one sentence: what to look for


def compact_png(data: bytes) -> bytes:
    """The PNG re-encoded with a 256-colour palette for embedding (matplotlib's antialiased RGBA output
    shrinks ~3x and looks the same); the original when it has transparency or would not shrink."""

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode == "RGBA":
                if im.getchannel("A").getextrema()[0] < 255:
                    return data
                im = im.convert("RGB")
            elif im.mode != "RGB":
                return data
            buf = io.BytesIO()
            im.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG")
    except (OSError, ValueError):
        return data
    return buf.getvalue() if buf.tell() < len(data) else data


def fig_to_png(fig, dpi: int = 120) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def safetensors_csv(path: Path) -> bytes:
    """Every array of a safetensors file in long form: array, i0, i1, ..., value."""

    arrays = read_arrays(path, "data file")
    ndim = max((a.ndim for a in arrays.values()), default=1)
    rows = []
    for name, a in arrays.items():
        a = np.asarray(a)
        for idx in np.ndindex(*a.shape) if a.ndim else [()]:
            v = a[idx].item()
            rows.append([name, *idx, *[""] * (ndim - len(idx)), round(v, 6) if isinstance(v, float) else v])
    return csv_bytes(["array", *[f"i{k}" for k in range(ndim)], "value"], rows)


class FigureFinder:
    """Finds figure files under `root`, each claimed once; renders the HTML of a found figure."""

    def __init__(self, root: Path, report_dir: Path):
        self.root, self.report_dir = root, report_dir
        self.taken: set[Path] = set()
        self.rendered: list[str] = []  # keys of figures drawn by the report (no file existed)

    def find(self, fig: Figure | None) -> Path | None:
        """The PNG of `fig` when it was written and not shown yet (it is then taken)."""
        if fig is None or not fig.png.exists() or fig.png in self.taken:
            return None
        self.taken.add(fig.png)
        return fig.png

    def numbers(self, png: Path) -> list[Download]:
        """Downloads of the numbers behind the figure at `png`: a CSV or safetensors file of the same stem."""
        for ext in (".csv", ".safetensors"):
            data_file = png.with_suffix(ext)
            if data_file.exists():
                return [self.download(data_file)]
        return []

    def download(self, path: Path, label: str = "numbers (CSV)") -> Download:
        """Embed `path` (CSV; safetensors converted to CSV) when small, else link it relative to the report"""
        size = path.stat().st_size
        if path.suffix == ".safetensors":
            if size <= EMBED_LIMIT:  # the CSV of it is several times larger: check that too
                data = safetensors_csv(path)
                if len(data) <= EMBED_LIMIT:
                    return Download(path.stem + ".csv", data=data, label=label)
            return Download(path.name, href=self.relative(path), label="numbers (safetensors)")
        if size <= EMBED_LIMIT:
            return Download(path.name, data=path.read_bytes(), label=label)
        return Download(path.name, href=self.relative(path), label=label)

    def relative(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.report_dir)).as_posix()

    def html(
        self,
        slot: Slot,
        fig: Figure | None,
        numbers: list[Download] = (),
        draw: Callable[[], object] | None = None,
    ) -> str | None:
        """The figure of `slot` from `fig` (where rundir keeps it): its PNG file, else `draw()` (a Figure
        from a plot function, PNG bytes, or None).

        numbers: the downloads behind it; none given: the same-stem data file next to the PNG, if any."""
        path = self.find(fig)
        if path is not None:
            return self._html(
                read_png(path),
                slot,
                list(numbers) or self.numbers(path),
                path.relative_to(self.root).as_posix(),
            )
        drawn = draw() if draw is not None else None
        if drawn is None:
            return None
        self.rendered.append(slot.key)
        png = drawn if isinstance(drawn, bytes) else fig_to_png(drawn)
        return self._html(png, slot, list(numbers), "drawn for this report from the saved data")

    def _html(self, png: bytes, slot: Slot, downloads, source: str) -> str:
        text = figure(compact_png(png), slot.caption, alt=slot.caption, downloads=downloads, source=source)
        return text.replace('<figure class="fig">', f'<figure class="fig" data-figure="{slot.key}">', 1)

    def leftovers(self, directory: Path) -> list[Path]:
        """PNG files in `directory` that no slot showed."""
        return (
            [p for p in sorted(directory.glob("*.png")) if p not in self.taken] if directory.is_dir() else []
        )

    def leftover_html(self, path: Path, caption: str) -> str:
        self.taken.add(path)
        key = path.stem.replace(" ", "_")
        slot = Slot(key, caption)
        return self._html(read_png(path), slot, self.numbers(path), path.relative_to(self.root).as_posix())
