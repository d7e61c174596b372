"""Helpers for the hardening tests: hostile trees built at test time, never committed.

Every nasty input is generated into a temporary directory by the test that needs it, so the
repository holds no binary or booby-trapped files that other tools (linters, IDEs, the test
collector itself) could trip over.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.analysis import analyze

REPO = Path(__file__).resolve().parents[2]


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``; text is written verbatim
    (no newline translation, so ``\\r`` and ``\\r\\n`` survive)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def run(path: Path, **options):
    """Analyse without cache, one worker: the fast path for unit tests."""
    options.setdefault("use_cache", False)
    options.setdefault("jobs", 1)
    return analyze(path, **options)


def diags(graph, file: str | None = None) -> list[tuple[str, int, str]]:
    return sorted(
        (d.file, d.line, d.code) for d in graph.diagnostics if file is None or d.file == file
    )


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def migrator_cmd(*args: str) -> list[str]:
    """``migrator ...`` under ``python -I``: isolated mode keeps the working directory (often the
    analysed tree) and the environment's PYTHONPATH off ``sys.path``."""
    return [
        sys.executable,
        "-I",
        "-c",
        "import sys; sys.path.insert(0, sys.argv.pop(1)); "
        "from migrator.cli import main; sys.argv[0] = 'migrator'; main()",
        str(REPO),
        *args,
    ]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, **kwargs
) -> subprocess.CompletedProcess:
    return subprocess.run(
        migrator_cmd(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
        **kwargs,
    )


@pytest.fixture
def tree(tmp_path: Path):
    """``tree({...})`` writes a project into a fresh directory and returns its path."""

    def make(files: dict[str, str | bytes], name: str = "proj") -> Path:
        return write_tree(tmp_path / name, files)

    return make


def generated_tree(root: Path, files: int, packages: int = 20, body: int = 40) -> Path:
    """A synthetic project of ``files`` modules in ``packages`` packages, each importing two
    neighbours and defining a few classes and functions (deterministic: no randomness)."""
    for p in range(packages):
        pkg = root / "gen" / f"p{p}"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text(f"from gen.p{p}.m0 import C0 as Public\n")
    (root / "gen" / "__init__.py").write_text("")
    for i in range(files):
        p, m = i % packages, i // packages
        a, b = (i + 1) % files, (i * 7 + 3) % files
        lines = [
            f"import gen.p{a % packages}.m{a // packages}",
            f"from gen.p{b % packages} import m{b // packages} as other",
            "import os",
            "",
        ]
        for k in range(3):
            lines += [
                f"class C{k}(object):",
                f"    '''class {k} of module {i}'''",
                "    def method(self, x):",
                f"        return other.F0(x) + gen.p{a % packages}.m{a // packages}.F1(x)",
                "",
            ]
        for k in range(2):
            lines += [f"def F{k}(x):", "    total = 0"]
            lines += [f"    total += x * {j}  # padding line" for j in range(body // 4)]
            lines += ["    return total + len(os.sep)", ""]
        (root / "gen" / f"p{p}" / f"m{m}.py").write_text("\n".join(lines) + "\n")
    return root
