"""The coupling baseline: a small, sorted file committed to the repository, and the ratchet.

The file holds only identities that survive unrelated edits: cross-component edges as
``[source, target, kind]`` (node ids, never line numbers; a service's uses of the shared
kernel are left out), import cycles as canonical rotations plus the module sets of the strongly
connected components (``cycle_groups``), and the instability of each component rounded to 4
places. ``compare`` tells what is new (fails CI with ``--fail-on``) and
what improved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from migrator.plan import SHARED, UniqueKeyLoader
from migrator.reporting.model import BaselineDiff, Report
from migrator.util.fs import FileError, read_text

BASELINE_SCHEMA = "migrator.baseline"
BASELINE_VERSION = 1
FAIL_ON = ("new-edges", "new-cycles", "instability-increase")


class BaselineError(ValueError):
    """A baseline file that cannot be used (message names the file)."""


def make_baseline(report: Report) -> dict[str, Any]:
    """The baseline document for a report (deterministic: everything sorted)."""
    # using the shared kernel is what it is for: not coupling between services
    edges = sorted(
        {
            (e.source, e.target, e.kind)
            for e in report.cross_edges
            if not (e.target_component == SHARED and e.source_component != SHARED)
        }
    )
    return {
        "schema": BASELINE_SCHEMA,
        "version": BASELINE_VERSION,
        "level": report.level,
        "components": {
            c.name: {"instability": round(c.instability, 4)}
            for c in sorted(report.components, key=lambda c: c.name)
        },
        "edges": [list(e) for e in edges],
        "cycles": sorted(list(c.modules) for c in report.cycles),
        "cycle_groups": sorted(sorted(g) for g in report.cycle_groups),
    }


def dump_baseline(data: dict[str, Any]) -> str:
    """JSON with one edge, cycle or component per line: small, stable diffs in review."""

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def block(items: list[str]) -> str:
        return "[\n" + ",\n".join(f"    {i}" for i in items) + "\n  ]" if items else "[]"

    components = [f"{dumps(k)}: {dumps(v)}" for k, v in sorted(data["components"].items())]
    comp_text = "{\n" + ",\n".join(f"    {c}" for c in components) + "\n  }" if components else "{}"
    parts = [
        f'  "schema": {dumps(data["schema"])}',
        f'  "version": {dumps(data["version"])}',
        f'  "level": {dumps(data["level"])}',
        f'  "components": {comp_text}',
        f'  "edges": {block([dumps(e) for e in data["edges"]])}',
        f'  "cycles": {block([dumps(c) for c in data["cycles"]])}',
        f'  "cycle_groups": {block([dumps(g) for g in data["cycle_groups"]])}',
    ]
    return "{\n" + ",\n".join(parts) + "\n}\n"


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read and fully validate a baseline file: every value ``compare`` uses has its type, so a
    malformed or hostile file is a ``BaselineError`` naming the file, never a crash later."""
    path = Path(path)
    try:
        text = read_text(path)
    except FileError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.why}") from None
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except _DuplicateKey as exc:
        raise BaselineError(
            f"{path}:{_line_of_duplicate(text)}: duplicate key {exc.key!r}"
        ) from None
    except RecursionError:
        raise BaselineError(f"{path}: nested too deeply") from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise BaselineError(
            f"{path}: not a migrator baseline (expected schema "
            f"{BASELINE_SCHEMA!r}; write one with `migrator baseline`)"
        )
    if data.get("version") != BASELINE_VERSION:
        raise BaselineError(
            f"{path}: baseline version {data.get('version')!r} is not "
            f"supported (expected {BASELINE_VERSION})"
        )
    problem = _shape_problem(data)
    if problem:
        raise BaselineError(f"{path}: {problem}")
    return data


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with the structure of a baseline document, or None."""

    def strings(value: Any, size: int | None = None) -> bool:
        return (
            isinstance(value, list)
            and all(isinstance(v, str) for v in value)
            and (size is None or len(value) == size)
        )

    if not isinstance(data.get("level"), str):
        return "'level' must be a string"
    components = data.get("components")
    if not isinstance(components, dict):
        return "'components' must be a dict"
    for name, stats in components.items():
        value = stats.get("instability") if isinstance(stats, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return f'components.{name}: must be {{"instability": number}}'
    for key, size in (("edges", 3), ("cycles", None), ("cycle_groups", None)):
        value = data.get(key, [] if key == "cycle_groups" else None)
        if not isinstance(value, list):
            return f"'{key}' must be a list"
        for i, item in enumerate(value):
            if not strings(item, size):
                return f"{key}[{i}]: must be a list of {size or 'some'} strings"
    return None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` keeps the last of two equal keys; a baseline must not say two things."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _line_of_duplicate(text: str) -> int:
    """The line of the first repeated key (JSON is YAML: the strict loader has the mark)."""
    try:
        yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        if exc.problem_mark is not None:
            return exc.problem_mark.line + 1
    except (yaml.YAMLError, RecursionError):
        pass
    return 1


def compare(
    report: Report,
    baseline: dict[str, Any],
    fail_on: tuple[str, ...] = FAIL_ON,
    source: str = "baseline",
) -> BaselineDiff:
    """What the report adds to and removes from the baseline."""
    if baseline.get("level") != report.level:
        raise BaselineError(
            f"{source}: baseline was written at level {baseline.get('level')!r} but the report "
            f"is at level {report.level!r} (pass the same --plan/--level as `migrator baseline`)"
        )
    now = make_baseline(report)
    old_edges = {tuple(e) for e in baseline["edges"]}
    new_edges = {tuple(e) for e in now["edges"]}
    old_cycles = {tuple(c) for c in baseline["cycles"]}
    new_cycles = {tuple(c) for c in now["cycles"]}
    old_groups = [set(g) for g in baseline.get("cycle_groups", [])]
    new_groups = [set(g) for g in now["cycle_groups"]]

    def within(cycle: tuple[str, ...], groups: list[set[str]]) -> bool:
        return any(set(cycle) <= g for g in groups)

    diff = BaselineDiff(
        new_edges=[list(e) for e in sorted(new_edges - old_edges)],
        removed_edges=[list(e) for e in sorted(old_edges - new_edges)],
        # a listed cycle is new only if its modules were not already tangled together: a
        # different shortest path through an old tangle is not new coupling
        new_cycles=[list(c) for c in sorted(new_cycles - old_cycles) if not within(c, old_groups)],
        removed_cycles=[
            list(c) for c in sorted(old_cycles - new_cycles) if not within(c, new_groups)
        ],
    )
    for name, stats in now["components"].items():
        before = baseline["components"].get(name, {}).get("instability")
        after = stats["instability"]
        if before is None:
            continue
        entry = {"component": name, "before": before, "after": after}
        if after > before:
            diff.instability_increase.append(entry)
        elif after < before:
            diff.instability_decrease.append(entry)
    checks = {
        "new-edges": diff.new_edges,
        "new-cycles": diff.new_cycles,
        "instability-increase": diff.instability_increase,
    }
    diff.failing = [name for name in fail_on if checks.get(name)]
    return diff
