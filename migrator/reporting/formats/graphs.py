"""Graphviz DOT and mermaid: components as clusters/subgraphs, crossing edges in red and
thicker by weight. Big trees (see ``layout.MAX_MODULES``) are drawn at component level."""

from __future__ import annotations

from migrator.reporting.formats.layout import CROSS, picture, stroke
from migrator.reporting.model import Report


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def render_dot(report: Report) -> str:
    pic = picture(report)
    out = [
        "digraph migrator {",
        "  rankdir=LR;",
        "  compound=true;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [color="#999999", arrowsize=0.6];',
    ]
    for i, g in enumerate(pic.groups):
        if pic.detail == "component":
            out.append(
                f'  {_q(g.name)} [fillcolor={_q(g.color)}, fontcolor="#ffffff", '
                f"label={_q(f'{g.name} ({len(g.members)} modules)')}];"
            )
            continue
        out.append(f"  subgraph cluster_{i} {{")
        out.append(
            f"    label={_q(f'{g.name} ({g.kind})')}; style=filled; "
            f"color={_q(g.color)}; fillcolor={_q(g.color + '22')};"
        )
        for m in g.members:
            out.append(f"    {_q(m)};")
        out.append("  }")
    for e in pic.edges:
        attrs = (
            [f"penwidth={stroke(e.weight)}", f"label={_q(str(e.count))}"]
            if pic.detail == "component"
            else [f"penwidth={stroke(e.weight)}"]
        )
        if e.cross and not e.allowed:
            attrs.append(f"color={_q(CROSS)}")
        out.append(f"  {_q(e.source)} -> {_q(e.target)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def render_mermaid(report: Report) -> str:
    pic = picture(report)
    ids = {n.id: f"n{i}" for i, n in enumerate(pic.nodes)}
    out = ["flowchart LR"]
    for i, g in enumerate(pic.groups):
        if pic.detail == "component":
            out.append(f"  {ids[g.name]}[{_label(f'{g.name} ({len(g.members)} modules)')}]")
            continue
        out.append(f"  subgraph c{i}[{_label(g.name)}]")
        for m in g.members:
            out.append(f"    {ids[m]}[{_label(m)}]")
        out.append("  end")
        out.append(f"  style c{i} fill:{g.color}22,stroke:{g.color}")
    styles = []
    for k, e in enumerate(pic.edges):
        arrow = "==>" if e.cross else "-->"
        label = f"|{e.count}|" if pic.detail == "component" else ""
        out.append(f"  {ids[e.source]} {arrow}{label} {ids[e.target]}")
        if e.cross and not e.allowed:
            styles.append(f"  linkStyle {k} stroke:{CROSS},stroke-width:{stroke(e.weight)}px")
    return "\n".join(out + styles) + "\n"
