"""One self-contained HTML file: summary, metrics, the component graph as inline SVG, tables
of violations, components, modules, crossing edges, cycles and shared tables, and a search box.

No network: no external scripts, styles, fonts or images, and a Content-Security-Policy that
forbids loading any. The script (inline) only filters tables and highlights graph nodes.
"""

from __future__ import annotations

from html import escape

from migrator.reporting.formats.common import metric_rows, scope, summary
from migrator.reporting.formats.layout import CROSS, Picture, picture, stroke
from migrator.reporting.model import Report

MAX_ROWS = 1000

CSS = (
    """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5rem;
color:#222;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.defs{color:#555;font-size:.85rem;max-width:70rem}
table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}tr.error td:first-child{border-left:4px solid #d62728}
tr.warning td:first-child{border-left:4px solid #ff9f1c}code{font-size:.8rem}
#search{font-size:1rem;padding:.3rem .5rem;width:24rem;margin:.6rem 0}
#graph svg{border:1px solid #ddd;max-width:100%;height:auto;background:#fcfcfc}
.group-label{font-size:13px;font-weight:600}.node-label{font-size:9px;fill:#333}
.edge{fill:none;stroke:#9a9a9a;stroke-opacity:.55}
.edge.cross{stroke:"""
    + CROSS
    + """;stroke-opacity:.85}
.edge.allowed{stroke:#1f77b4;stroke-opacity:.6}
.node circle{stroke:#333;stroke-width:.6}.node.hit circle{stroke:#000;stroke-width:3}
svg.searching .node:not(.hit){opacity:.2}tr.hidden{display:none}
.legend span{display:inline-block;margin-right:1rem}
.ok{color:#2ca02c}.fail{color:#d62728}
"""
)

SCRIPT = """
(function(){
  var box=document.getElementById('search');
  var svg=document.getElementById('service-graph');
  function filter(){
    var q=box.value.trim().toLowerCase();
    document.querySelectorAll('tr[data-search]').forEach(function(tr){
      var show=!q||tr.getAttribute('data-search').indexOf(q)>=0;
      tr.classList.toggle('hidden',!show);
    });
    svg.classList.toggle('searching',!!q);
    svg.querySelectorAll('.node').forEach(function(n){
      var hit=!!q&&n.getAttribute('data-name').toLowerCase().indexOf(q)>=0;
      n.classList.toggle('hit',hit);
    });
    var shown=document.querySelectorAll('tr[data-search]:not(.hidden)').length;
    document.getElementById('search-count').textContent=q?shown+' matching rows':'';
  }
  box.addEventListener('input',filter);
  if(location.hash.indexOf('#q=')===0){box.value=decodeURIComponent(location.hash.slice(3));}
  filter();
})();
"""


def _svg(pic: Picture) -> str:
    e = escape
    pos = {n.id: n for n in pic.nodes}
    out = [
        f'<svg id="service-graph" xmlns="http://www.w3.org/2000/svg" '
        f'width="{pic.width}" height="{pic.height}" viewBox="0 0 {pic.width} {pic.height}" '
        f'role="img" aria-label="component graph" data-detail="{pic.detail}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'fill="#666"/></marker></defs>',
    ]
    for g in pic.groups:
        out.append(
            f'<g class="group" data-name="{e(g.name)}" data-kind="{e(g.kind)}">'
            f'<circle cx="{g.x}" cy="{g.y}" r="{g.r}" fill="{g.color}" '
            f'fill-opacity="{0.85 if pic.detail == "component" else 0.15}" '
            f'stroke="{g.color}" stroke-width="2"/>'
            f'<text class="group-label" x="{g.x}" y="{round(g.y - g.r - 6, 1)}" '
            f'text-anchor="middle">{e(g.name)}</text></g>'
        )
    out.append('<g class="edges">')
    for ed in pic.edges:
        a, b = pos.get(ed.source), pos.get(ed.target)
        if a is None or b is None:
            continue
        # a gentle curve so that a -> b and b -> a do not overlap
        mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
        dx, dy = b.x - a.x, b.y - a.y
        qx, qy = round(mx - dy * 0.12, 1), round(my + dx * 0.12, 1)
        # stop the arrow at the target's rim, along the curve's final direction
        ex, ey = b.x - qx, b.y - qy
        norm = max(1e-6, (ex * ex + ey * ey) ** 0.5)
        bx, by = round(b.x - ex / norm * (b.r + 2), 1), round(b.y - ey / norm * (b.r + 2), 1)
        cls = (
            "edge cross" if ed.cross and not ed.allowed else "edge allowed" if ed.cross else "edge"
        )
        out.append(
            f'<path class="{cls}" d="M{a.x},{a.y} Q{qx},{qy} {bx},{by}" '
            f'stroke-width="{stroke(ed.weight)}" marker-end="url(#arrow)" '
            f'data-source="{e(ed.source)}" data-target="{e(ed.target)}">'
            f"<title>{e(ed.source)} -&gt; {e(ed.target)}: {ed.count} references"
            f"</title></path>"
        )
    out.append("</g>")
    for n in pic.nodes:
        group = next(g for g in pic.groups if g.name == n.group)
        fill = "#ffffff" if pic.detail == "component" else group.color
        out.append(
            f'<g class="node" data-name="{e(n.id)}"><title>{e(n.id)}</title>'
            f'<circle cx="{n.x}" cy="{n.y}" r="{n.r}" fill="{fill}" '
            f'fill-opacity="{0.0 if pic.detail == "component" else 1}"/>'
        )
        if pic.detail == "module" and len(pic.nodes) <= 80:
            out.append(
                f'<text class="node-label" x="{n.x}" y="{round(n.y + n.r + 9, 1)}" '
                f'text-anchor="middle">{e(n.label)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _table(table_id: str, headers: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """rows: (css class, cells as already-escaped HTML)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for cls, cells in rows[:MAX_ROWS]:
        text = " ".join(cells)
        search = escape(_strip_tags(text).lower(), quote=True)
        body.append(
            f'<tr class="{cls}" data-search="{search}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    more = (
        f"<p>{len(rows) - MAX_ROWS} more rows in the JSON report.</p>"
        if len(rows) > MAX_ROWS
        else ""
    )
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(body)
        + "</tbody></table>"
        + more
    )


def _strip_tags(text: str) -> str:
    out, inside = [], False
    for ch in text:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
        elif not inside:
            out.append(ch)
    return "".join(out).replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")


def render(report: Report) -> str:
    e = escape
    pic = picture(report)
    active = report.active()
    failed = any(v.level == "error" for v in active) or (
        report.baseline is not None and report.baseline.failed
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>migrator report: {e(report.root)}</title><style>{CSS}</style></head><body>",
        f'<header><h1>migrator coupling report</h1><p id="summary" class="'
        f'{"fail" if failed else "ok"}">{e(summary(report))}</p>',
        f"<p>{e(report.root)}: {e(scope(report))}</p>",
        f'<p class="defs">{e(report.definitions)}</p></header>',
    ]
    rows = metric_rows(report.metrics)
    if rows:
        parts.append(
            '<section id="metrics"><h2>Metrics</h2>'
            + _table("metrics-table", ["metric", "value"], [("", [e(a), e(b)]) for a, b in rows])
            + "</section>"
        )
    if report.baseline is not None:
        from migrator.reporting.formats.common import baseline_lines

        parts.append(
            '<section id="baseline"><h2>Baseline</h2><ul>'
            + "".join(f"<li>{e(line.strip())}</li>" for line in baseline_lines(report))
            + "</ul></section>"
        )
    parts.append(
        '<input id="search" type="search" placeholder="Search modules, services, '
        'rules, tables…" aria-label="search"> <span id="search-count"></span>'
    )
    parts.append(
        f'<section id="graph"><h2>Component graph ({pic.detail} level)</h2>'
        + _svg(pic)
        + '<p class="legend"><span>circles: components (colour per component)</span>'
        f'<span style="color:{CROSS}">red: crossing edges outside an interface</span>'
        '<span style="color:#1f77b4">blue: through an interface or into the shared '
        "kernel</span><span>thickness: weight (sum of 1 + ln count)</span></p>"
        "</section>"
    )
    parts.append(
        f'<section id="violations"><h2>Violations ({len(active)})</h2>'
        + _table(
            "violations-table",
            ["location", "rule", "level", "message"],
            [
                (
                    v.level,
                    [f"<code>{e(v.file)}:{v.line}</code>", e(v.rule), e(v.level), e(v.message)],
                )
                for v in active
            ],
        )
        + "</section>"
    )
    parts.append(
        '<section id="components"><h2>Components</h2>'
        + _table(
            "components-table",
            [
                "component",
                "kind",
                "modules",
                "Ca",
                "Ce",
                "I",
                "refs out",
                "refs in",
                "depends on",
                "tables",
            ],
            [
                (
                    "",
                    [
                        e(c.name),
                        e(c.kind),
                        str(c.modules),
                        str(c.ca),
                        str(c.ce),
                        f"{c.instability:.2f}",
                        str(c.edges_out),
                        str(c.edges_in),
                        e(", ".join(c.depends_on)),
                        e(", ".join(c.tables)),
                    ],
                )
                for c in report.components
            ],
        )
        + "</section>"
    )
    parts.append(
        '<section id="modules"><h2>Modules</h2>'
        + _table(
            "modules-table",
            ["module", "component", "Ca", "Ce", "I", "crossing out", "crossing in"],
            [
                (
                    "",
                    [
                        f"<code>{e(m.module)}</code>",
                        e(m.component),
                        str(m.ca),
                        str(m.ce),
                        f"{m.instability:.2f}",
                        str(m.crossing_out),
                        str(m.crossing_in),
                    ],
                )
                for m in report.modules
            ],
        )
        + "</section>"
    )
    parts.append(
        f'<section id="edges"><h2>Crossing edges ({len(report.cross_edges)})</h2>'
        + _table(
            "edges-table",
            ["source", "target", "kind", "count", "components", "evidence"],
            [
                (
                    "" if x.allowed else "error",
                    [
                        f"<code>{e(x.source)}</code>",
                        f"<code>{e(x.target)}</code>",
                        e(x.kind),
                        str(x.count),
                        e(f"{x.source_component} → {x.target_component}"),
                        "<br>".join(f"<code>{e(str(loc))}</code>" for loc in x.evidence),
                    ],
                )
                for x in report.cross_edges
            ],
        )
        + "</section>"
    )
    parts.append(
        f'<section id="cycles"><h2>Import cycles ({len(report.cycles)})</h2>'
        + _table(
            "cycles-table",
            ["cycle", "at"],
            [
                (
                    "warning",
                    [
                        e(" → ".join([*c.modules, c.modules[0]])),
                        f"<code>{e(str(c.evidence[0]))}</code>",
                    ],
                )
                for c in report.cycles
            ],
        )
        + _table(
            "breakers-table",
            ["edge whose removal breaks most cycles", "breaks", "at"],
            [
                (
                    "",
                    [
                        e(f"{b.source} → {b.target}"),
                        str(b.breaks),
                        f"<code>{e(str(b.location or ''))}</code>",
                    ],
                )
                for b in report.cycle_breakers
            ],
        )
        + "</section>"
    )
    parts.append(
        f'<section id="tables"><h2>Shared tables ({len(report.shared_tables)})</h2>'
        + _table(
            "shared-tables-table",
            ["table", "components", "owner", "writers", "readers"],
            [
                (
                    "warning",
                    [
                        e(t.name),
                        e(", ".join(t.components)),
                        e(t.owner or ""),
                        e("; ".join(f"{c}: {', '.join(n)}" for c, n in t.writers.items())),
                        e("; ".join(f"{c}: {', '.join(n)}" for c, n in t.readers.items())),
                    ],
                )
                for t in report.shared_tables
            ],
        )
        + "</section>"
    )
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"
