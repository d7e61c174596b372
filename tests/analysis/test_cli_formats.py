"""`migrator analyze` and its output formats."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from migrator.analysis import analyze
from migrator.analysis.formats import render
from migrator.cli import main
from migrator.graph import GRAPH_SCHEMA, GRAPH_VERSION, DependencyGraph

PROJECT = {
    "shop/__init__.py": "",
    "shop/models.py": "class Product:\n    pass\n",
    "shop/views.py": "from shop.models import Product\nimport requests\n\n\n"
    "def show():\n    from shop import util\n    return Product, util\n",
    "shop/util.py": "import os\n",
}


@pytest.fixture
def project(tree):
    return tree(PROJECT)


def invoke(*args):
    result = CliRunner().invoke(main, ["analyze", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def test_json_schema_round_trips(project):
    data = json.loads(invoke(project, "--no-cache", "-f", "json").stdout)
    assert (data["schema"], data["version"]) == (GRAPH_SCHEMA, GRAPH_VERSION)
    node = next(n for n in data["nodes"] if n["id"] == "shop.models:Product")
    assert node == {
        "id": "shop.models:Product",
        "kind": "class",
        "file": "shop/models.py",
        "line": 1,
        "end_line": 2,
        "size": 2,
    }
    edge = next(
        e
        for e in data["edges"]
        if e["kind"] == "import" and e["source"] == "shop.views" and e["target"] == "shop.models"
    )
    assert edge["count"] == 1 and edge["evidence"] == ["shop/views.py:1"]
    assert edge["lazy"] is False and edge["type_only"] is False
    assert data["externals"]["shop.views"] == [
        {"module": "requests", "distribution": "requests", "stdlib": False}
    ]
    assert DependencyGraph.from_dict(data).to_dict() == data


def test_summary_dot_mermaid(project):
    summary = invoke(project, "--no-cache").stdout
    assert "modules: 4" in summary and "third-party: requests (1)" in summary
    dot = invoke(project, "--no-cache", "-f", "dot").stdout
    assert dot.startswith("digraph migrator {")
    assert '"shop.views" -> "shop.util" [label=2, style=dashed];' in dot  # lazy import + use
    assert '"shop.views" -> "shop.models" [label=2];' in dot  # import + reference
    mermaid = invoke(project, "--no-cache", "-f", "mermaid").stdout.splitlines()
    assert mermaid[0] == "graph LR"
    ids = {line.split("[")[0].strip(): line.split('"')[1] for line in mermaid if "[" in line}
    rev = {v: k for k, v in ids.items()}
    assert f"  {rev['shop.views']} -.->|2| {rev['shop.util']}" in mermaid


def test_output_file_is_written_atomically_and_is_stable(project, tmp_path):
    out = tmp_path / "graph.json"
    result = invoke(project, "--no-cache", "-f", "json", "-o", out)
    assert result.stdout == ""
    first = out.read_bytes()
    mtime = out.stat().st_mtime_ns
    invoke(project, "-f", "json", "-o", out)
    assert out.read_bytes() == first and out.stat().st_mtime_ns == mtime
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_python_api_matches_cli(project):
    graph = analyze(project, use_cache=False, jobs=1)
    from migrator import analyze as top_level

    assert top_level(project, use_cache=False).to_dict() == graph.to_dict()
    assert json.loads(invoke(project, "--no-cache", "-f", "json").stdout) == graph.to_dict()


def test_progress_bar_only_on_a_terminal(project):
    result = CliRunner().invoke(main, ["analyze", str(project), "--no-cache"])
    assert "parsing [" not in result.stderr


def test_frameworks_can_be_switched_off(tree):
    root = tree(
        {
            "web/__init__.py": "",
            "web/app.py": "from flask import Flask\n\napp = Flask(__name__)\n\n\n"
            "@app.route('/hello')\ndef hello():\n    return 'hi'\n",
        }
    )
    with_plugins = analyze(root, use_cache=False, jobs=1)
    assert [r.path for r in with_plugins.routes] == ["/hello"]
    without = analyze(root, use_cache=False, jobs=1, plugins=False)
    assert without.routes == [] and without.g.has_node("web.app:hello")
    out = invoke(root, "--no-cache", "--no-frameworks")
    assert "routes:" not in out.stdout


def test_progress_callback_reports_every_parsed_file(project):
    seen = []
    analyze(
        project, use_cache=False, jobs=1, progress=lambda done, total: seen.append((done, total))
    )
    assert seen and seen[-1] == (4, 4)


def _console(*args: object) -> subprocess.CompletedProcess:
    """The real console entry point (``migrator.cli:entry``) in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "migrator", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_console_entry_flushes_everything_and_keeps_exit_codes(project, tmp_path):
    """``entry`` ends the process with ``os._exit`` (no interpreter teardown): all output must
    still arrive, and the exit codes must be the commands' own."""
    out = _console("analyze", project, "--no-cache", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert out.stdout == render(analyze(project, use_cache=False), "json")  # complete
    missing = _console("analyze", tmp_path / "nowhere")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'nowhere'}: no such file or directory"
    ]
    (project / "shop" / "broken.py").write_text("def (:\n")
    strict = _console(
        "analyze", project, "--no-cache", "--strict", "-f", "json", "-o", tmp_path / "g.json"
    )
    assert strict.returncode == 1
    assert "broken.py:1: syntax-error" in strict.stderr
    assert json.loads((tmp_path / "g.json").read_text())["diagnostics"]
    assert _console("no-such-command").returncode == 2  # click's usage error
