"""JSON: ``Report.to_dict()``, keys sorted (schema ``migrator.report``, documented in README)."""

from __future__ import annotations

import json

from migrator.reporting.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
