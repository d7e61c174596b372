"""--history: logical and contributor coupling from a real git checkout made by the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from migrator.proposal import propose
from migrator.proposal.history import MAX_MODULES_PER_COMMIT, History, HistoryError, read_history
from migrator.proposal.synthetic import synthetic_monolith

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str, email: str = "ann@example.org") -> None:
    subprocess.run(
        ["git", "-c", f"user.email={email}", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _commit(repo: Path, files: list[str], email: str) -> None:
    for f in files:
        p = repo / f
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("a") as fh:
            fh.write("x = 1\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change", email=email)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, ["src/app/a.py", "src/app/b.py"], "ann@example.org")
    _commit(repo, ["src/app/a.py", "src/app/b.py"], "bob@example.org")
    _commit(repo, ["src/app/a.py", "src/app/c.py"], "ann@example.org")  # once: below support
    _commit(
        repo,
        [f"src/app/bulk{i}.py" for i in range(MAX_MODULES_PER_COMMIT + 1)]
        + ["src/app/a.py", "src/app/c.py"],
        "ann@example.org",
    )  # a sweep: no evidence
    _commit(repo, ["docs/readme.py", "src/app/c.py"], "cy@example.org")  # outside the root
    return repo


def _files(repo: Path) -> dict[str, str]:
    root = repo / "src"
    return {
        "app." + p.stem: p.relative_to(root).as_posix() for p in sorted((root / "app").glob("*.py"))
    }


def test_cochange_and_shared_authors_are_read_from_git(repo: Path) -> None:
    h = read_history(repo / "src", _files(repo))
    assert h.commits == 5
    assert h.cochange == {("app.a", "app.b"): 2}  # a-c: once, plus a sweep that does not count
    assert h.authors[("app.a", "app.b")] == 1.0  # both changed by ann and bob
    # a: ann, bob; c: ann, cy -> one shared author of three
    assert h.authors[("app.a", "app.c")] == round(1 / 3, 6)
    h1 = read_history(repo / "src", _files(repo), max_commits=1)
    assert h1.commits == 1 and h1.cochange == {}


def test_a_tree_without_git_history_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    with pytest.raises(HistoryError, match="not a usable git checkout"):
        read_history(tmp_path, {"app": "app/__init__.py"})


def test_history_pulls_code_that_changes_together_into_one_service() -> None:
    graph, _ = synthetic_monolith(domains=4, modules_per_domain=3, noise=0.0)
    # a loose module with a route but no edges: structure alone cannot place it
    from migrator.graph import Route

    graph.add_node("shop.reports", "module", file="shop/reports.py", line=1, end_line=30)
    graph.add_node("shop.reports:summary", "function", file="shop/reports.py", line=2, end_line=20)
    graph.routes.append(
        Route("GET", "/reports/", "shop.reports:summary", "flask", "shop/reports.py", 2)
    )
    graph.finalize()
    before = propose(graph).service_of("shop.reports")
    target = "dom2" if before != "dom2" else "dom1"
    history = History(
        commits=12,
        cochange={tuple(sorted(("shop.reports", f"shop.{target}.m{j}"))): 6 for j in range(3)},
        authors={tuple(sorted(("shop.reports", f"shop.{target}.m0"))): 1.0},
    )
    assert propose(graph, history=history).service_of("shop.reports") == target
    # weights are the user's to set: without them history changes nothing
    off = propose(graph, history=history, weights={"cochange": 0, "authors": 0})
    assert off.service_of("shop.reports") == before


def test_the_cli_reports_a_missing_checkout_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from migrator.cli import main

    pkg = tmp_path / "proj" / "shop"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "views.py").write_text("def index():\n    return 1\n")
    result = CliRunner().invoke(main, ["propose", str(tmp_path / "proj"), "--history", "-q"])
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "--history" in lines[0] and "git" in lines[0]
    assert "Traceback" not in result.output
