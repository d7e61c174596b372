"""Images in ``scaffold --extract`` mode: the build context is OUT, each Dockerfile copies the
service's extracted ``src/`` and installs ``shared_kernel/``, compose builds the same way, and
OUT/.dockerignore sends exactly what the images copy. (The podman tier builds and runs one.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from migrator.generation import ScaffoldError, build_project, render_all, scaffold

from .fixtures import make_graph, make_plan
from .support import hadolint_findings


def ignore_patterns(out: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """OUT/.dockerignore as (is_exception, regex), with Docker's matching rules: ``*`` and
    ``?`` stay within one path segment, ``**`` spans segments, the last matching line wins and a
    pattern that matches a folder matches everything in it."""
    rules = []
    for raw in (out / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i:end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((exception, re.compile(regex)))
    return rules


def in_context(rules: list[tuple[bool, re.Pattern[str]]], rel: str) -> bool:
    parts = rel.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for exception, regex in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not exception
    return not excluded


def copied_sources(dockerfile: str) -> list[str]:
    """Sources of the COPY instructions that read the build context."""
    out = []
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            out.extend(words[1:-1])
    return out


def context_files(out: Path) -> set[str]:
    rules = ignore_patterns(out)
    return {p.relative_to(out).as_posix() for p in out.rglob("*")
            if p.is_file() and in_context(rules, p.relative_to(out).as_posix())}


def test_the_ignore_file_reader_follows_docker_rules(tmp_path):
    (tmp_path / ".dockerignore").write_text("*\n!a/*/src/\n**/__pycache__/\n")
    rules = ignore_patterns(tmp_path)
    assert in_context(rules, "a/x/src/m.py") and in_context(rules, "a/y/src/p/q.py")
    assert not in_context(rules, "a/x/tests/t.py") and not in_context(rules, "b.md")
    assert not in_context(rules, "a/x/src/p/__pycache__/q.pyc")


def test_each_image_copies_its_extracted_code_and_installs_the_kernel(shopfix_extract_out):
    out = shopfix_extract_out
    services = sorted(p.name for p in (out / "services").iterdir())
    assert services == ["catalog", "inventory", "orders"]
    files = context_files(out)
    for name in services:
        dockerfile = (out / "services" / name / "Dockerfile").read_text()
        assert f"build -f services/{name}/Dockerfile" in dockerfile  # the documented command
        assert f"COPY services/{name}/src /app/src\n" in dockerfile
        assert "COPY shared_kernel shared_kernel\n" in dockerfile
        assert "pip install --no-cache-dir ./shared_kernel\n" in dockerfile
        for source in copied_sources(dockerfile):
            sent = {f for f in files if f == source or f.startswith(source + "/")}
            assert sent, f"{name}: COPY {source} finds nothing in the build context"
            on_disk = {p.relative_to(out).as_posix() for p in (out / source).rglob("*")
                       if p.is_file()} if (out / source).is_dir() else {source}
            assert sent == on_disk, (name, source, on_disk - sent)
        # the skeleton's entry point (the image's CMD) serves the extracted app from /app/src
        package = f"{name}_service"
        assert f'"{package}.wsgi:app"]' in dockerfile
        wsgi = (out / "services" / name / package / "wsgi.py").read_text()
        assert '/ "src"' in wsgi and "from interservice.wsgi import app" in wsgi
        # no per-service ignore file: with the context at OUT no build would read it
        assert not (out / "services" / name / ".dockerignore").exists()
    assert "shared_kernel/pyproject.toml" in files
    # only what the images copy is sent to the builder
    for rel in ("compose.yaml", "MIGRATION.md", "EXTRACTION.md", "deploy", "gateway",
                "services/catalog/tests/test_service.py", "services/catalog/README.md"):
        assert not any(f == rel or f.startswith(rel + "/") for f in files), rel


def test_compose_builds_each_service_from_out(shopfix_extract_out):
    out = shopfix_extract_out
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    for name in ("catalog", "inventory", "orders"):
        build = compose["services"][name]["build"]
        assert build == {"context": ".", "dockerfile": f"services/{name}/Dockerfile"}
        assert (out / build["context"] / build["dockerfile"]).is_file()
    migration = (out / "MIGRATION.md").read_text()
    assert "podman|docker build -f services/<service>/Dockerfile -t <image> ." in migration


def test_hadolint_finds_nothing_in_extract_mode(shopfix_extract_out):
    for name in ("catalog", "inventory", "orders"):
        dockerfile = shopfix_extract_out / "services" / name / "Dockerfile"
        assert hadolint_findings(dockerfile) == [], dockerfile


def test_extract_mode_changes_only_the_image_files():
    """Without --extract the output stays as it was: only these files differ between modes."""
    model = build_project(make_plan("flask"), make_graph("flask"))
    plain, extract = render_all(model), render_all(model, extract=True)
    changed = {rel for rel in set(plain) | set(extract) if plain.get(rel) != extract.get(rel)}
    expected = {".dockerignore", "compose.yaml", "MIGRATION.md"}
    for svc in model.services:
        expected |= {f"services/{svc.name}/Dockerfile", f"services/{svc.name}/.dockerignore"}
    assert changed == expected
    for svc in model.services:
        dockerfile = plain[f"services/{svc.name}/Dockerfile"].decode()
        assert "shared_kernel" not in dockerfile and "/src" not in dockerfile
        assert f"COPY {svc.package} /app/{svc.package}\n" in dockerfile
        assert f"services/{svc.name}/.dockerignore" not in extract
    assert ".dockerignore" not in plain
    assert b"Images (extract mode)" not in plain["MIGRATION.md"]
    compose = yaml.safe_load(plain["compose.yaml"])
    assert compose["services"]["catalog"]["build"] == {"context": "./services/catalog"}


def test_extract_without_extracted_code_is_refused(monkeypatch, tmp_path):
    """A Dockerfile that copies src/ and the kernel is never written without them."""
    import migrator.extraction.hook as hook

    def no_src(files, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return {rel: data for rel, data in files.items() if "/src/" not in rel}

    monkeypatch.setattr(hook, "add_to_scaffold", no_src)
    with pytest.raises(ScaffoldError, match=r"services/catalog/src/.*the Dockerfiles copy them"):
        scaffold(make_plan("flask"), make_graph("flask"), tmp_path / "out", extract=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_hadolint_finds_nothing_on_the_sample_in_extract_mode(sample_extract_out):
    dockerfiles = sorted((sample_extract_out / "services").glob("*/Dockerfile"))
    assert len(dockerfiles) >= 10
    for dockerfile in dockerfiles:
        assert "COPY shared_kernel shared_kernel" in dockerfile.read_text()
        assert hadolint_findings(dockerfile) == [], dockerfile
    files = context_files(sample_extract_out)
    for dockerfile in dockerfiles:
        for source in copied_sources(dockerfile.read_text()):
            assert any(f == source or f.startswith(source + "/") for f in files), source
