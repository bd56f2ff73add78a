"""The report's inlined stylesheet and script (vanilla JavaScript, no library, nothing fetched).

SCRIPT does two things: makes every `table.sortable` sort by a header click (or Enter), and draws the
hidden-state explorer from the JSON in `<script id="explorer-data">` (see explorer.py for its layout):
the input and the running belief above, then one small SVG panel per unit, grouped by layer and role.
Picking another sequence rewrites the `d` attribute of every path; nothing else is rebuilt.
"""

CSS = r"""
:root{--fg:#1b1f24;--muted:#5b6570;--line:#d8dde3;--bg:#fff;--soft:#f5f7f9;--accent:#1f5fa8;--warn:#8a5a00}
*{box-sizing:border-box}
html{font-size:16px}
body{margin:0;color:var(--fg);background:var(--bg);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top,main,footer{max-width:74rem;margin:0 auto;padding:0 1rem}
header.top{padding-top:1rem;border-bottom:1px solid var(--line)}
h1{font-size:1.6rem;margin:.2rem 0}
h2{font-size:1.3rem;margin:0 0 .6rem;padding-top:.4rem;border-top:2px solid var(--accent)}
h3{font-size:1.05rem;margin:1rem 0 .4rem}
h4{font-size:.95rem;margin:.7rem 0 .3rem;color:var(--muted)}
.subtitle{color:var(--muted);margin:.2rem 0 .6rem}
nav ol{display:flex;flex-wrap:wrap;gap:.2rem 1rem;padding:0;margin:.4rem 0 .8rem;list-style:none;
  font-size:.9rem}
nav li.unavailable a{color:var(--muted);text-decoration:line-through}
a{color:var(--accent)}
section.report-section{margin:1.6rem 0}
figure.fig{margin:.8rem 0;padding:0}
figure.fig img{display:block;max-width:100%;height:auto;border:1px solid var(--line);background:#fff}
figcaption{font-size:.9rem;color:var(--muted);margin-top:.3rem}
.source{font-size:.8rem}
a.download{white-space:nowrap}
.missing{background:#fff8e6;border-left:4px solid #e0a800;padding:.5rem .8rem;color:var(--warn)}
.note{color:var(--muted);font-size:.9rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;background:var(--soft);
  padding:0 .2em;border-radius:3px;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;max-width:100%;margin:.6rem 0}
pre.cmd{overflow-x:auto;background:var(--soft);padding:.4rem .6rem;border-radius:3px;margin:.3rem 0}
pre.cmd code{background:none;padding:0;overflow-wrap:normal}
.table-wrap.tall{max-height:32rem;overflow-y:auto}
table{border-collapse:collapse;font-size:.86rem;font-variant-numeric:tabular-nums}
caption{text-align:left;color:var(--muted);font-size:.85rem;padding:.2rem 0}
th,td{border-bottom:1px solid var(--line);padding:.2rem .55rem;text-align:left;white-space:nowrap}
th.num,td.num{text-align:right}
thead th{background:var(--soft);position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \2195";color:#aab}
table.sortable th[aria-sort=ascending]::after{content:" \2191";color:var(--fg)}
table.sortable th[aria-sort=descending]::after{content:" \2193";color:var(--fg)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.controls{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:.5rem 0;padding:.5rem;
  background:var(--soft);border:1px solid var(--line);border-radius:4px}
.controls select{max-width:100%;font:inherit}
.controls button{font:inherit}
.seq-info{font-size:.9rem;color:var(--muted);margin:.3rem 0}
.panel{width:100%;height:auto;display:block;border:1px solid var(--line);background:#fff}
.legend{display:flex;flex-wrap:wrap;gap:.2rem .9rem;font-size:.8rem;color:var(--muted);margin:.2rem 0 .5rem}
.legend i{display:inline-block;width:1.2em;height:.25em;vertical-align:middle;margin-right:.3em}
.units-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.35rem}
.unit{border:1px solid var(--line);background:#fff}
.unit svg{display:block;width:100%;height:auto}
.unit-label{font-size:.72rem;color:var(--muted);padding:0 .25rem;white-space:nowrap;overflow:hidden;
  text-overflow:ellipsis}
footer{color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);margin-top:2rem;padding:.8rem 1rem}
@media (max-width:40rem){
  body{font-size:14px} h1{font-size:1.3rem} h2{font-size:1.1rem}
  .units-grid{grid-template-columns:repeat(auto-fill,minmax(6.5rem,1fr))}
  dl.facts{grid-template-columns:1fr} dl.facts dd{margin-bottom:.3rem}
}
@media print{
  nav,.controls button,a.download{display:none}
  header.top,main,footer{max-width:none;padding:0}
  body{font-size:11pt}
  figure.fig,.unit,table,dl.facts{break-inside:avoid}
  h2,h3,h4{break-after:avoid}
  .table-wrap.tall{max-height:none;overflow:visible}
  thead th{position:static}
  .missing{border:1px solid #e0a800}
  pre.cmd{white-space:pre-wrap;overflow:visible}
}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
                "#7f7f7f", "#bcbd22"];

  // ---- sortable tables ---------------------------------------------------------------------
  function cellKey(cell, numeric) {
    if (!numeric) return cell.textContent;
    var v = parseFloat(cell.hasAttribute("data-key") ? cell.getAttribute("data-key") : cell.textContent);
    return isNaN(v) ? null : v;
  }
  function makeSortable(table) {
    var ths = table.tHead.rows[0].cells, body = table.tBodies[0];
    Array.prototype.forEach.call(body.rows, function (r, i) { r.setAttribute("data-order", i); });
    Array.prototype.forEach.call(ths, function (th, col) {
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.getAttribute("data-type") === "num";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellKey(a.cells[col], numeric), y = cellKey(b.cells[col], numeric), c;
          if (x === null && y === null) c = 0;
          else if (x === null) return 1;   // missing values last, whatever the direction
          else if (y === null) return -1;
          else c = numeric ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
          if (!asc) c = -c;
          return c || (a.getAttribute("data-order") - b.getAttribute("data-order"));
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);

  // ---- hidden-state explorer ---------------------------------------------------------------
  var holder = document.getElementById("explorer-data");
  var root = document.getElementById("explorer");
  if (!holder || !root) return;
  var D = JSON.parse(holder.textContent);

  function decode(a) {  // int16 little-endian, value = q / scale, -32768 = missing (past the length)
    var bin = atob(a.b64), bytes = new Uint8Array(bin.length), i;
    for (i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var dv = new DataView(bytes.buffer), n = bytes.length / 2, out = new Float32Array(n);
    for (i = 0; i < n; i++) { var q = dv.getInt16(2 * i, true); out[i] = q === -32768 ? NaN : q / a.scale; }
    return out;
  }
  function el(tag, attrs, parent) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(SVGNS, tag.slice(4))
                                      : document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function path(arr, shape, s, k, len, lo, hi, W, H) {
    // Trajectory of feature k of sequence s as an SVG path in a W x H box, y in [lo, hi].
    var T = shape[1], K = shape[2], base = s * T * K + k, d = "", pen = false;
    var sx = T > 1 ? W / (T - 1) : W, sy = hi > lo ? H / (hi - lo) : 0;
    for (var t = 0; t < Math.min(len, T); t++) {
      var v = arr[base + t * K];
      if (isNaN(v)) { pen = false; continue; }
      var y = H - (Math.max(lo, Math.min(hi, v)) - lo) * sy;
      d += (pen ? "L" : "M") + (t * sx).toFixed(1) + "," + y.toFixed(1);
      pen = true;
    }
    return d || "M0," + H;
  }
  function panel(parent, W, H, lo, hi, cls) {
    var svg = el("svg:svg", {viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", "class": cls,
                             role: "img"}, parent);
    if (lo < 0 && hi > 0) {
      var y0 = H - (0 - lo) / (hi - lo) * H;
      el("svg:line", {x1: 0, x2: W, y1: y0, y2: y0, stroke: "#ccd", "stroke-width": 1,
                      "vector-effect": "non-scaling-stroke"}, svg);
    }
    return svg;
  }
  function line(svg, color, width) {
    return el("svg:path", {fill: "none", stroke: color, "stroke-width": width || 1.4,
                           "vector-effect": "non-scaling-stroke", "stroke-linejoin": "round"}, svg);
  }
  function legend(parent, names) {
    var box = el("div", {"class": "legend"}, parent);
    names.forEach(function (n, i) {
      var s = el("span", {}, box), sw = el("i", {}, s);
      sw.style.background = COLORS[i % COLORS.length];
      s.appendChild(document.createTextNode(n));
    });
  }

  var S = D.seqs.length, series = [];  // series: {arr, shape, k, lo, hi, W, H, path}
  function addSeries(arr, shape, k, lo, hi, W, H, p, unit) {
    var r = {arr: arr, shape: shape, k: k, lo: lo, hi: hi, W: W, H: H, path: p, unit: !!unit};
    if (unit) {  // the unit's own range over every embedded sequence, for the "own scale" view
      var K = shape[2], a = Infinity, b = -Infinity;
      for (var i = k; i < arr.length; i += K) {
        if (!isNaN(arr[i])) { a = Math.min(a, arr[i]); b = Math.max(b, arr[i]); }
      }
      if (!(b > a)) { a = lo; b = hi; }
      var pad = 0.05 * (b - a);
      r.ownLo = a - pad; r.ownHi = b + pad;
    }
    series.push(r);
  }

  var controls = el("div", {"class": "controls"}, root);
  var label = el("label", {"for": "explorer-seq"}, controls);
  label.textContent = "sequence";
  var select = el("select", {id: "explorer-seq"}, controls);
  D.seqs.forEach(function (q, i) {
    var o = el("option", {value: i}, select);
    var verdict = q.pred === null ? "" : (q.pred === q.label ? " \u2713" : " \u2717 " + q.pred);
    o.textContent = "#" + q.index + " " + q.label + verdict;
  });
  var prev = el("button", {type: "button", id: "explorer-prev"}, controls);
  prev.textContent = "\u2190 previous";
  var next = el("button", {type: "button", id: "explorer-next"}, controls);
  next.textContent = "next \u2192";
  var fitBox = el("label", {}, controls), fit = el("input", {type: "checkbox", id: "explorer-fit"}, fitBox);
  fitBox.appendChild(document.createTextNode(" each unit on its own scale"));
  var dl = el("a", {"class": "download", id: "explorer-csv"}, controls);
  dl.textContent = "numbers of this sequence (CSV)";
  var info = el("p", {"class": "seq-info", id: "explorer-info"}, root);

  var inputs = decode(D.inputs), W = 600;
  el("h3", {}, root).textContent = "input";
  var inLo = D.inputs.lo, inHi = D.inputs.hi;
  var svgIn = panel(root, W, 90, inLo, inHi, "panel explorer-input");
  D.channels.forEach(function (c, k) {
    addSeries(inputs, D.inputs.shape, k, inLo, inHi, W, 90, line(svgIn, COLORS[k % COLORS.length]));
  });
  legend(root, D.channels);

  var probs = null;
  if (D.probs) {
    probs = decode(D.probs);
    el("h3", {}, root).textContent = "running belief (class probabilities after each step)";
    var svgP = panel(root, W, 70, 0, 1, "panel explorer-belief");
    D.classes.forEach(function (c, k) {
      addSeries(probs, D.probs.shape, k, 0, 1, W, 70, line(svgP, COLORS[k % COLORS.length]));
    });
    legend(root, D.classes);
  }

  var layers = D.layers.map(function (L) {
    var arr = decode(L);
    el("h3", {}, root).textContent = L.name + " \u2014 " + L.units.length + " units";
    var groups = {};
    L.units.forEach(function (u, k) { (groups[u.role] = groups[u.role] || []).push(k); });
    D.roles.forEach(function (role) {
      var ks = groups[role];
      if (!ks) return;
      el("h4", {}, root).textContent = role + " (" + ks.length + ")";
      var grid = el("div", {"class": "units-grid", "data-role": role}, root);
      ks.forEach(function (k) {
        var u = L.units[k], box = el("div", {"class": "unit"}, grid);
        var svg = panel(box, 120, 44, L.lo, L.hi, "unit-panel");
        var p = line(svg, "#1f5fa8", 1.2);
        p.setAttribute("data-unit", L.key + ":" + u.unit);
        addSeries(arr, L.shape, k, L.lo, L.hi, 120, 44, p, true);
        var lab = el("div", {"class": "unit-label"}, box);
        lab.textContent = "unit " + u.unit + (u.tau === null ? "" : " \u00b7 \u03c4 " + u.tau);
        lab.title = L.name + ", unit " + u.unit + ", " + role;
      });
    });
    return {arr: arr, meta: L};
  });

  function csvFor(s) {
    var q = D.seqs[s], T = D.inputs.shape[1], head = ["step"], rows = [], t, k;
    D.channels.forEach(function (c) { head.push("input " + c); });
    if (probs) D.classes.forEach(function (c) { head.push("p(" + c + ")"); });
    layers.forEach(function (L) {
      L.meta.units.forEach(function (u) { head.push(L.meta.key + " unit " + u.unit); });
    });
    function val(arr, shape, t, k) {
      var v = arr[(s * shape[1] + t) * shape[2] + k];
      return isNaN(v) ? "" : v;
    }
    for (t = 0; t < Math.min(q.length, T); t++) {
      var row = [D.steps[t]];
      for (k = 0; k < D.channels.length; k++) row.push(val(inputs, D.inputs.shape, t, k));
      if (probs) for (k = 0; k < D.classes.length; k++) row.push(val(probs, D.probs.shape, t, k));
      layers.forEach(function (L) {
        for (k = 0; k < L.meta.units.length; k++) row.push(val(L.arr, L.meta.shape, t, k));
      });
      rows.push(row.join(","));
    }
    var quoted = head.map(function (h) { return '"' + h.replace(/"/g, '""') + '"'; });
    return quoted.join(",") + "\n" + rows.join("\n") + "\n";
  }

  function show(s) {
    s = Math.max(0, Math.min(S - 1, s));
    select.value = String(s);
    var q = D.seqs[s];
    var own = fit.checked;
    series.forEach(function (r) {
      var lo = own && r.unit ? r.ownLo : r.lo, hi = own && r.unit ? r.ownHi : r.hi;
      r.path.setAttribute("d", path(r.arr, r.shape, s, r.k, q.length, lo, hi, r.W, r.H));
      var zero = r.unit ? r.path.parentNode.querySelector("line") : null;
      if (zero) {  // the zero line follows the scale
        var y0 = r.H - (0 - lo) / (hi - lo) * r.H;
        zero.setAttribute("y1", y0); zero.setAttribute("y2", y0);
        zero.style.display = lo < 0 && hi > 0 ? "" : "none";
      }
    });
    info.textContent = "sequence #" + q.index + " of the " + D.split + " split: class " + q.label +
      (q.pred === null ? "" : ", predicted " + q.pred + (q.pred === q.label ? " (correct)" : " (wrong)")) +
      ", " + q.length + " steps";
    dl.setAttribute("href", "data:text/csv;charset=utf-8," + encodeURIComponent(csvFor(s)));
    dl.setAttribute("download", "sequence_" + q.index + ".csv");
    root.setAttribute("data-shown", String(q.index));
  }
  select.addEventListener("change", function () { show(parseInt(select.value, 10)); });
  fit.addEventListener("change", function () { show(parseInt(select.value, 10)); });
  prev.addEventListener("click", function () { show(parseInt(select.value, 10) - 1); });
  next.addEventListener("click", function () { show(parseInt(select.value, 10) + 1); });
  show(0);
})();
"""
