"""The documentation: the README stays a short page that opens with the two commands, the docs
site builds with warnings as errors (broken links and anchors included), every command has its
page, and what migrator prints about metric definitions points at a file it ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT = 20_000
RUN_COMMAND = "bash scripts/bootstrap.sh && migrator run sample_monolith -o out"


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _mkdocs_build(project: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(project / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        for value in entry.values():
            pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_readme_is_short_and_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text) < README_LIMIT, (
        f"README.md has {len(text)} characters; move reference to docs/"
    )
    first = re.search(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    assert first and text.index("```") < text.index("\n## "), "the commands come first"
    lines = first.group(1).splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(
        line.strip()
        for line in ci.splitlines()
        if "pytest" in line and not line.lstrip().startswith("#")
    )
    assert lines == [RUN_COMMAND, test_command]


def test_the_readme_run_command_works_in_a_fresh_checkout(tmp_path):
    """The README's first command, after the bootstrap, from the root of a fresh clone: its
    ``-o`` folder must be one migrator may create there (never the folders above it)."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "sample_monolith", clone / "sample_monolith")
    args = RUN_COMMAND.split(" && ", 1)[1].split()
    assert args[:2] == ["migrator", "run"]
    result = subprocess.run(
        [sys.executable, "-m", "migrator", *args[1:]],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = clone / args[args.index("-o") + 1]
    assert (out / "plan.yaml").is_file() and (out / "report" / "report.md").is_file()
    assert f"files written under {args[args.index('-o') + 1]}" in result.stdout


def test_docs_site_builds_with_warnings_as_errors(tmp_path):
    result = _mkdocs_build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()  # the README is the home page
    assert (tmp_path / "site" / "docs" / "metrics" / "index.html").is_file()


@pytest.mark.parametrize("link", ["docs/no-such-page.md", "docs/check.md#no-such-anchor"])
def test_a_broken_link_fails_the_docs_build(tmp_path, link):
    """The same build on a copy whose README gains one broken link must fail and name it."""
    config = _config()
    project = tmp_path / "project"
    keep = [
        "mkdocs.yml",
        config["docs_dir"],
        *config["hooks"],
        *config["extra"]["repository_files"],
    ]
    for rel in keep:
        src, dst = ROOT / rel, project / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    with open(project / "README.md", "a", encoding="utf-8") as readme:
        readme.write(f"\nSee [this]({link}).\n")
    result = _mkdocs_build(project, tmp_path / "site")
    assert result.returncode != 0
    assert link.split("#")[-1] in result.stderr


def test_every_command_has_a_docs_page_in_the_nav():
    from migrator.cli import COMMANDS

    nav = set(_nav_pages(_config()["nav"]))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in sorted(COMMANDS):
        page = f"docs/{command}.md"
        assert (ROOT / page).is_file(), f"{command}: no {page}"
        assert page in nav, f"{page} is not in mkdocs.yml's nav"
        assert f"]({page})" in readme, f"README does not link {page}"


def _named_docs(text: str) -> list[str]:
    """Repository paths of docs pages named in ``text`` (``../x/docs/a.md`` is not one)."""
    return re.findall(r"(?<![\w/.])docs/[\w/.-]+\.md", text)


def test_metric_definitions_point_at_the_shipped_page():
    """Reports, `propose` and the plan tell users where the definitions are: a file of this
    repository (not a path on the developers' machines), which defines what they name."""
    from migrator.graph import DependencyGraph
    from migrator.proposal.cli import METRICS_HELP
    from migrator.proposal.metrics import compute_metrics
    from migrator.reporting import DEFINITIONS

    plan_definitions = compute_metrics(DependencyGraph(), {})["definitions"]
    for text in (DEFINITIONS, METRICS_HELP, plan_definitions):
        assert _named_docs(text) == ["docs/metrics.md"], text
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name in (
        "Q",
        "ICP",
        "SM",
        "IFN",
        "NED",
        "BCP",
        "data coupling",
        "Ca",
        "Ce",
        "I",
        "MoJoFM",
        "ARI",
    ):
        assert re.search(rf"\*\*{re.escape(name)}\b|\| {re.escape(name)}[ ,]", page), name


def test_shipped_code_names_no_path_outside_the_repository():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("migrator", "templates")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".j2", ".md", ".html", ".yaml"}
        and "../shared/" in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []
