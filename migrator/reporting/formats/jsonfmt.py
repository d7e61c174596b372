"""JSON: ``Report.to_dict()``, keys sorted, on one line (schema ``migrator.report``, documented
in docs/report.md). No indentation: json's C encoder only runs without it, and a Django-sized report
is megabytes; pipe it through ``python -m json.tool`` or ``jq`` to read it."""

from __future__ import annotations

import json

from migrator.reporting.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False) + "\n"
