"""Turn the bytes of one file into ``ModuleFacts`` (runs in worker processes).

Every way a file can be bad (NUL bytes, an undecodable encoding, a syntax error, Python 2,
recursion too deep for the parser) becomes a diagnostic with file and line in the facts, never an
exception: one broken file must not stop the analysis of the others.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Any

from migrator.analysis.facts import ModuleFacts, WorkItem
from migrator.analysis.vocabulary import vocabulary
from migrator.graph import Diagnostic

__all__ = ["WorkItem", "analyse_many", "analyse_source", "decode", "warm_up"]

_PY2_HINTS = (
    (re.compile(r"^\s*print\s+[^\s(=]", re.M), "a print statement"),
    (re.compile(r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:", re.M), "'except X, e:'"),
    (re.compile(r"^\s*exec\s+[\"'\w]", re.M), "an exec statement"),
    (re.compile(r"\b\d+L\b"), "a long integer literal"),
    (re.compile(r"^\s*raise\s+\w+\s*,", re.M), "'raise E, msg'"),
    (re.compile(r"\bur[\"']"), "a ur'' literal"),
)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, file: str) -> tuple[str | None, Diagnostic | None]:
    """Source bytes -> text, honouring a BOM and a PEP 263 coding line."""
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, Diagnostic(
            file,
            _line_of(data, nul),
            "nul-byte",
            "file contains NUL bytes; not Python source",
            "error",
        )
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return None, Diagnostic(
            file,
            getattr(exc, "lineno", None) or 1,
            "decode-error",
            str(exc).split(" (")[0],
            "error",
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        return None, Diagnostic(
            file,
            _line_of(data, exc.start),
            "decode-error",
            f"cannot decode byte 0x{data[exc.start]:02x} as {encoding}",
            "error",
        )
    except LookupError:
        return None, Diagnostic(file, 1, "decode-error", f"unknown encoding {encoding!r}", "error")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def _syntax_message(text: str, message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "invalid syntax"
    first = re.sub(r"^parser error: error at \d+:\d+: ", "", first)
    head, sep, options = first.partition("expected one of ")
    if sep and options.count(",") > 5:
        items = options.split(", ")
        first = f"{head}expected one of {', '.join(items[:5])}, ... ({len(items) - 5} more)"
    for pattern, what in _PY2_HINTS:
        if pattern.search(text):
            return f"{first} (looks like Python 2: {what})"
    return first


def analyse_source(item: WorkItem) -> ModuleFacts:
    """Parse one file and collect its facts; problems become diagnostics."""
    import libcst as cst

    from migrator.analysis import frameworks
    from migrator.analysis.collect import collect

    file, data = item.file, item.data
    facts = ModuleFacts(
        module=item.module, file=file, is_package=item.is_package, lines=0, sha=item.sha
    )
    text, problem = decode(data, file)
    if problem is not None:
        facts.diagnostics.append(problem)
        return facts
    assert text is not None
    # a line ends in \n, \r\n or a lone \r (old Mac files), as for Python's tokenizer
    facts.lines = (
        text.count("\n")
        + text.count("\r")
        - text.count("\r\n")
        + (0 if not text or text.endswith(("\n", "\r")) else 1)
    )
    facts.words = vocabulary(text)
    if not text.strip():
        if not file.endswith("__init__.py"):
            facts.diagnostics.append(Diagnostic(file, 1, "empty-file", "file is empty", "info"))
        return facts
    try:
        tree = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        facts.diagnostics.append(
            Diagnostic(
                file,
                max(1, exc.raw_line),
                "syntax-error",
                _syntax_message(text, exc.message),
                "error",
            )
        )
        return facts
    except RecursionError:
        facts.diagnostics.append(
            Diagnostic(file, 1, "parse-error", "nesting too deep for the parser", "error")
        )
        return facts
    except Exception as exc:  # the native parser can raise on exotic input
        facts.diagnostics.append(
            Diagnostic(file, 1, "parse-error", f"{type(exc).__name__}: {exc}", "error")
        )
        return facts
    try:
        walked = collect(tree, facts)
    except RecursionError:
        facts.diagnostics.append(
            Diagnostic(file, 1, "parse-error", "nesting too deep to analyse", "error")
        )
        return facts
    if item.plugins:
        frameworks.collect_all(walked, text, facts)
    return facts


def analyse_many(items: list[WorkItem]) -> list[ModuleFacts]:
    """A chunk of files for one worker task (chunks amortise the inter-process overhead)."""
    return [analyse_source(item) for item in items]


def warm_up() -> Any:
    """Import the parser before forking so that every worker starts with it loaded."""
    import libcst  # noqa: F401

    from migrator.analysis import collect, frameworks

    frameworks.plugins()
    return collect
