"""Formatters: each turns a ``Report`` into the text of one output format.

Formatters only read the report; none computes coupling. Output is deterministic.
"""

from __future__ import annotations

import importlib

from migrator.reporting.model import Report

#: format name -> "module:function" (imported on use)
FORMATS = {
    "text": "migrator.reporting.formats.text:render",
    "markdown": "migrator.reporting.formats.markdown:render",
    "json": "migrator.reporting.formats.jsonfmt:render",
    "sarif": "migrator.reporting.formats.sarif:render",
    "junit": "migrator.reporting.formats.junit:render",
    "html": "migrator.reporting.formats.html:render",
    "dot": "migrator.reporting.formats.graphs:render_dot",
    "mermaid": "migrator.reporting.formats.graphs:render_mermaid",
}


def render(report: Report, fmt: str = "text") -> str:
    try:
        target = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})") from None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)(report)
