"""SARIF 2.1.0: one result per violation, located at file and line, for code-scanning UIs.

URIs are relative (to the working directory, see ``Locator``) with ``uriBaseId`` ``%SRCROOT%``,
which GitHub code scanning resolves to the repository root. ``partialFingerprints`` carry the
line-independent identity so that moving code does not open a new alert.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from migrator.reporting.model import Report
from migrator.util import __version__

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def _rule_name(rule_id: str) -> str:
    return "".join(p.capitalize() for p in rule_id.split("-"))


def render(report: Report) -> str:
    rules = report.rules
    index = {r.id: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for v in report.violations:
        location: dict[str, Any] = {"artifactLocation": {"uri": v.file, "uriBaseId": "%SRCROOT%"}}
        if v.line > 0:
            location["region"] = {"startLine": v.line}
        result: dict[str, Any] = {
            "ruleId": v.rule,
            "ruleIndex": index[v.rule],
            "level": v.level,
            "message": {"text": v.message},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {
                "migratorIdentity/v1": hashlib.sha256(v.identity.encode()).hexdigest()[:32]
            },
        }
        if v.ignored:
            result["suppressions"] = [
                {"kind": "inSource", "justification": "# migrator: ignore comment"}
            ]
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "migrator",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/migrator/",
                        "rules": [
                            {
                                "id": r.id,
                                "name": _rule_name(r.id),
                                "shortDescription": {"text": r.description},
                                "defaultConfiguration": {"level": r.level},
                            }
                            for r in rules
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
