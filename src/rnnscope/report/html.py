"""HTML building blocks of the report: escaped text, figures as data URLs, CSV links, tables, sections.

Every function returns a string of HTML. Nothing here reads files or knows about runs; `page` wraps the
sections with the inlined stylesheet and scripts into one self-contained document.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import dataclass, field

from rnnscope.report.assets import CSS, SCRIPT
from rnnscope.rundir import png_size


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def csv_bytes(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


@dataclass
class Download:
    """Numbers behind a figure: embedded (`data`) or a file next to the report (`href`, relative)."""

    name: str  # file name offered to the reader
    data: bytes | None = None
    href: str | None = None
    label: str = "numbers (CSV)"

    def html(self) -> str:
        if self.data is not None:
            mime = "text/csv" if self.name.endswith(".csv") else "application/json"
            return (
                f'<a class="download" download="{esc(self.name)}" '
                f'href="{data_url(self.data, mime)}">{esc(self.label)}</a>'
            )
        return (
            f'<a class="download" download="{esc(self.name)}" href="{esc(self.href)}">{esc(self.label)}</a>'
        )


def downloads_html(downloads) -> str:
    links = [d.html() for d in downloads]
    return f' <span class="downloads">{" · ".join(links)}</span>' if links else ""


def figure(png: bytes, caption: str, alt: str, downloads=(), source: str | None = None) -> str:
    """A PNG figure as a data URL with its one-sentence caption and download links."""
    w, h = png_size(png)
    src = f' <span class="source">({esc(source)})</span>' if source else ""
    return (
        f'<figure class="fig"><img src="{data_url(png, "image/png")}" alt="{esc(alt)}" width="{w}" '
        f'height="{h}" loading="eager"><figcaption>{esc(caption)}{src}{downloads_html(downloads)}'
        "</figcaption></figure>"
    )


def missing(what: str, command: str | None) -> str:
    """The note a section shows when its data are missing, naming the command that produces them."""
    how = f" Produce it with <code>{esc(command)}</code>." if command else ""
    return f'<p class="missing"><strong>Not available:</strong> {esc(what)}.{how}</p>'


def commands(*lines: str) -> str:
    """Shell commands as a block the reader can copy (never wrapped inside a command)."""
    return f'<pre class="cmd"><code>{esc(chr(10).join(lines))}</code></pre>'


def note(text: str, kind: str = "note") -> str:
    return f'<p class="{esc(kind)}">{esc(text)}</p>'


def fmt(value) -> str:
    """A table cell: floats to 4 significant digits, None as an en dash."""
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.4g}"
    return str(value)


@dataclass(frozen=True)
class Bound:
    """A censored number in a table: shown as its bound ("> 30"), sorted by the bound's value."""

    value: float
    text: str


def table(
    header: list[str],
    rows,
    *,
    sortable: bool = False,
    caption: str | None = None,
    table_id: str | None = None,
    numeric: set[int] | None = None,
) -> str:
    """An HTML table; sortable tables sort by a header click (script in assets.SCRIPT)."""
    numeric = numeric or set()
    attrs = ' class="sortable"' if sortable else ""
    attrs += f' id="{esc(table_id)}"' if table_id else ""
    head = []
    for i, h in enumerate(header):
        kind = ' class="num" data-type="num"' if i in numeric else ""
        focus = ' tabindex="0"' if sortable else ""
        head.append(f'<th scope="col"{kind}{focus}>{esc(h)}</th>')
    head = "".join(head)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            key = ' class="num"' if i in numeric else ""
            if isinstance(v, Bound):
                key += f' data-key="{v.value!r}"' if i in numeric else ""
                cells.append(f"<td{key}>{esc(v.text)}</td>")
                continue
            if i in numeric and isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                key += f' data-key="{v!r}"'
            cells.append(f"<td{key}>{esc(fmt(v))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table{attrs}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def definition_list(items) -> str:
    return (
        '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(fmt(v))}</dd>" for k, v in items) + "</dl>"
    )


@dataclass
class Section:
    """One section: id (anchor), title, body HTML; `available` False when its data are missing."""

    id: str
    title: str
    body: list[str] = field(default_factory=list)
    available: bool = True

    def add(self, *parts: str) -> Section:
        self.body.extend(parts)
        return self

    def html(self) -> str:
        cls = "report-section" + ("" if self.available else " unavailable")
        return (
            f'<section id="{esc(self.id)}" class="{cls}" data-section="{esc(self.id)}">'
            f"<h2>{esc(self.title)}</h2>{''.join(self.body)}</section>"
        )


def json_script(element_id: str, obj) -> str:
    """Data for the scripts, as JSON inside <script type="application/json"> (never executed)."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def page(title: str, subtitle: str, sections: list[Section], footer: str = "") -> str:
    """The whole self-contained document: inlined CSS and scripts, a table of contents, the sections."""
    unavailable = ' class="unavailable"'
    toc = "".join(
        f'<li{"" if s.available else unavailable}><a href="#{esc(s.id)}">{esc(s.title)}</a></li>'
        for s in sections
    )
    body = "".join(s.html() for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing may be fetched: no network, only inline data.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'none'\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><h1>{esc(title)}</h1><p class="subtitle">{esc(subtitle)}</p>'
        f'<nav aria-label="sections"><ol>{toc}</ol></nav></header><main>{body}</main>'
        f"<footer>{footer}</footer><script>{SCRIPT}</script></body></html>\n"
    )
