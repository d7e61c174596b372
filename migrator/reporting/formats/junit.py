"""JUnit XML: one test case per rule that ran; a rule with violations has one failure listing
them (each line ``file:line: rule: message (level)``). Ignored violations are not counted.
The exit code, not this file, decides whether CI fails (see docs/check.md, "Exit codes").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from migrator.reporting.model import Report, Violation


def render(report: Report) -> str:
    by_rule: dict[str, list[Violation]] = {r.id: [] for r in report.rules}
    for v in report.active():
        by_rule.setdefault(v.rule, []).append(v)
    failures = sum(1 for r in report.rules if by_rule[r.id])
    suites = ET.Element(
        "testsuites",
        name="migrator",
        tests=str(len(report.rules)),
        failures=str(failures),
        errors="0",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="migrator.coupling",
        tests=str(len(report.rules)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time="0",
    )
    for rule in report.rules:
        case = ET.SubElement(suite, "testcase", classname="migrator", name=rule.id, time="0")
        found = by_rule[rule.id]
        if found:
            fail = ET.SubElement(
                case,
                "failure",
                type=rule.level,
                message=f"{len(found)} violation(s): {rule.description}",
            )
            fail.text = "\n".join(f"{v} ({v.level})" for v in found)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
