"""``# migrator: ignore[rule, ...]`` comments: accepted exceptions, and the ones no longer needed.

A comment silences the violations of the named rules (all rules when written without
brackets) reported on its own line, or on the next line when the comment stands alone on the
line above. Comments are found with ``tokenize``, so the marker inside a string is not one.
Only files that contain the text ``migrator:`` are tokenized. The analysed code is only read.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from migrator.reporting.model import Location, Violation
from migrator.util.fs import read_regular

MARKER = re.compile(r"#\s*migrator:\s*ignore(?:\[([A-Za-z0-9_,\s-]*)\])?")


@dataclass
class Ignore:
    location: Location  # where the comment is
    rules: frozenset[str]  # empty: every rule
    applies_to: int  # the line it silences
    used: bool = False


def scan(text: str, file: str) -> list[Ignore]:
    """Every ignore comment in one file's source text."""
    out: list[Ignore] = []
    lines = text.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return out
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        m = MARKER.search(tok.string)
        if not m:
            continue
        row = tok.start[0]
        rules = frozenset(r.strip() for r in (m.group(1) or "").split(",") if r.strip())
        alone = lines[row - 1][: tok.start[1]].strip() == "" if row - 1 < len(lines) else False
        out.append(Ignore(Location(file, row), rules, row + 1 if alone else row))
    return out


def apply(
    violations: list[Violation], files: dict[str, str], root: str | None = None
) -> list[Location]:
    """Mark ignored violations; return the locations of ignore comments that silenced nothing.

    ``files`` maps each display path (as in ``Violation.file``) to the file to read: a regular
    file under ``root`` (a graph file can name any path; a FIFO must not hang the report).
    """
    ignores: dict[str, list[Ignore]] = {}
    for shown, path in sorted(files.items()):
        try:
            raw = read_regular(path, root=root)
        except OSError:
            continue
        if b"migrator:" not in raw:
            continue
        text = raw.decode("utf-8", errors="replace")
        found = scan(text, shown)
        if found:
            ignores[shown] = found
    for v in violations:
        for ig in ignores.get(v.file, ()):
            if ig.applies_to == v.line and (not ig.rules or v.rule in ig.rules):
                v.ignored = True
                ig.used = True
    return [ig.location for found in ignores.values() for ig in found if not ig.used]
