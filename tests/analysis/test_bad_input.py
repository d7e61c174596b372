"""Bad input: every broken file becomes a diagnostic with file and line; the rest is analysed."""

from __future__ import annotations

import os
import sys

import pytest
from click.testing import CliRunner

from migrator.analysis import AnalysisError
from migrator.cli import main

from .helpers import run

GOOD = {"app/__init__.py": "", "app/good.py": "import app.other\n", "app/other.py": "X = 1\n"}


def diag_codes(graph):
    return {(d.file, d.line, d.code) for d in graph.diagnostics}


@pytest.fixture
def bad_tree(tree):
    files = dict(GOOD)
    files.update(
        {
            "app/broken.py": "x = 1\n\ny = = 2\n",
            "app/py2.py": "import os\n\nprint 'hello'\n",
            "app/latin.py": b"x = 1\ny = '\xff\xfe'\n",
            "app/nul.py": b"x = 1\n\x00\n",
            "app/empty.py": "",
            "app/badcookie.py": b"# -*- coding: nonsense -*-\nx = 1\n",
        }
    )
    return tree(files)


def test_each_bad_file_gives_a_diagnostic_and_the_rest_is_analysed(bad_tree):
    graph = run(bad_tree)
    codes = diag_codes(graph)
    assert ("app/broken.py", 3, "syntax-error") in codes
    assert ("app/py2.py", 3, "syntax-error") in codes
    assert ("app/latin.py", 2, "decode-error") in codes
    assert ("app/nul.py", 2, "nul-byte") in codes
    assert ("app/empty.py", 1, "empty-file") in codes
    assert ("app/badcookie.py", 1, "decode-error") in codes
    py2 = next(d for d in graph.diagnostics if d.file == "app/py2.py")
    assert "Python 2" in py2.message
    assert graph.g.has_edge("app.good", "app.other", key="import")
    # a file that could not be parsed is still a module node (size known where decodable)
    assert graph.g.nodes["app.broken"]["kind"] == "module"


def test_strict_raises_with_the_graph(bad_tree):
    with pytest.raises(AnalysisError) as info:
        run(bad_tree, strict=True)
    assert info.value.graph.g.has_edge("app.good", "app.other", key="import")


def test_cli_prints_diagnostics_on_stderr_and_in_json_and_exit_codes(bad_tree):
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", str(bad_tree), "--no-cache", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert "app/broken.py:3: syntax-error" in result.stderr
    assert '"code": "nul-byte"' in result.stdout
    strict = runner.invoke(main, ["analyze", str(bad_tree), "--no-cache", "--strict"])
    assert strict.exit_code == 1


def test_too_large_file_is_skipped_with_a_diagnostic(tree):
    files = dict(GOOD)
    files["app/generated.py"] = "X = [\n" + "    1,\n" * 3_000_000 + "]\n"  # ~21 MB
    root = tree(files)
    graph = run(root)
    diags = [d for d in graph.diagnostics if d.file == "app/generated.py"]
    assert [(d.line, d.code) for d in diags] == [(1, "too-large")]
    assert "app.generated" not in graph.g
    assert graph.g.has_edge("app.good", "app.other", key="import")
    small = run(root, max_file_size=5)
    assert {d.file for d in small.diagnostics if d.code == "too-large"} >= {"app/good.py"}


def test_symlink_loop_and_broken_link(tree):
    root = tree(GOOD)
    os.symlink(root / "app", root / "app" / "loop")
    os.symlink(root / "app" / "nowhere.py", root / "app" / "dangling.py")
    graph = run(root)
    codes = diag_codes(graph)
    assert ("app/loop", 0, "symlink-loop") in codes
    assert ("app/dangling.py", 1, "unreadable") in codes
    assert graph.g.has_edge("app.good", "app.other", key="import")


def test_unreadable_file(tree, monkeypatch):
    root = tree(GOOD)
    target = root / "app" / "other.py"
    if os.geteuid() != 0:
        target.chmod(0)
    else:  # root reads everything: simulate the permission error at the read
        from pathlib import Path

        real = Path.read_bytes

        def deny(self):
            if self.name == "other.py":
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", deny)
    graph = run(root)
    assert ("app/other.py", 1, "unreadable") in diag_codes(graph)
    assert "app.good" in graph.g


def test_missing_or_non_python_path_is_a_one_line_error_exit_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["analyze", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    (tmp_path / "notes.txt").write_text("hi")
    other = runner.invoke(main, ["analyze", str(tmp_path / "notes.txt")])
    assert other.exit_code == 2 and "not a Python file" in other.stderr


def test_analysed_code_is_never_imported(tree, tmp_path):
    marker = tmp_path / "imported.txt"
    bomb = f"open({str(marker)!r}, 'w').write('boom')\nimport app.other\n"
    files = dict(GOOD)
    files["app/bomb.py"] = bomb
    files["app/__init__.py"] = bomb
    files["conftest_like.py"] = bomb
    root = tree(files)
    graph = run(root, jobs=2)
    assert graph.g.has_edge("app.bomb", "app.other", key="import")
    assert not marker.exists()
    assert "app.bomb" not in sys.modules
