"""Images in ``scaffold --extract`` mode: the build context is OUT, each Dockerfile copies the
service's extracted ``src/`` and installs ``shared_kernel/``, compose builds the same way, and
OUT/.dockerignore sends exactly what the images copy. (The podman tier builds and runs one.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import migrator
from migrator.analysis import analyze
from migrator.generation import ScaffoldError, build_project, render_all
from migrator.plan import load_plan

from .conftest import SHOPFIX
from .fixtures import make_graph, make_plan
from .support import build_context, hadolint_findings
from .test_tools import validate


def copied_sources(dockerfile: str) -> list[str]:
    """Sources of the COPY instructions that read the build context."""
    out = []
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            out.extend(words[1:-1])
    return out


def test_each_image_copies_its_extracted_code_and_installs_the_kernel(shopfix_extract_out):
    out = shopfix_extract_out
    services = sorted(p.name for p in (out / "services").iterdir())
    assert services == ["catalog", "inventory", "orders"]
    for name in services:
        dockerfile = (out / "services" / name / "Dockerfile").read_text()
        assert f"build -f services/{name}/Dockerfile" in dockerfile  # the documented command
        assert f"COPY services/{name}/src /app/src\n" in dockerfile
        assert "COPY shared_kernel shared_kernel\n" in dockerfile
        assert "pip install --no-cache-dir ./shared_kernel\n" in dockerfile
        # the skeleton's entry point (the image's CMD) serves the extracted app from /app/src
        package = f"{name}_service"
        assert f'"{package}.wsgi:app"]' in dockerfile
        wsgi = (out / "services" / name / package / "wsgi.py").read_text()
        assert '/ "src"' in wsgi and "from interservice.wsgi import app" in wsgi
        # no per-service ignore file: with the context at OUT no build would read it
        assert not (out / "services" / name / ".dockerignore").exists()


def test_the_build_context_sends_exactly_what_the_images_copy(shopfix_extract_out, tmp_path):
    """OUT/.dockerignore, as podman reads it: each COPY finds all its files, and only what
    the images copy (with the ignore file itself) reaches the builder."""
    out = Path(shutil.copytree(shopfix_extract_out, tmp_path / "out"))
    junk = [
        "services/catalog/src/shopfix_app/__pycache__/models.cpython-311.pyc",
        "services/orders/orders_service/stale.pyc",
        "shared_kernel/build/lib/k.py",
        "shared_kernel/src/k.egg-info/PKG-INFO",
    ]
    for rel in junk:  # what a developer's working copy holds: never sent
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("junk\n")
    files = build_context(out, tmp_path / "podman")
    copied = set()
    for name in ("catalog", "inventory", "orders"):
        for source in copied_sources((out / "services" / name / "Dockerfile").read_text()):
            sent = {f for f in files if f == source or f.startswith(source + "/")}
            assert sent, f"{name}: COPY {source} finds nothing in the build context"
            generated = shopfix_extract_out / source  # the copy holds junk as well
            on_disk = (
                {
                    p.relative_to(shopfix_extract_out).as_posix()
                    for p in generated.rglob("*")
                    if p.is_file()
                }
                if generated.is_dir()
                else {source}
            )
            assert sent == on_disk, (name, source, on_disk ^ sent)
            copied |= sent
    assert "shared_kernel/pyproject.toml" in files
    assert not files & set(junk)
    assert files == copied
    # what the images never copy is not sent
    for rel in (
        "compose.yaml",
        "MIGRATION.md",
        "EXTRACTION.md",
        "deploy",
        "gateway",
        "services/catalog/tests/test_service.py",
        "services/catalog/README.md",
    ):
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
        # the extracted code's internal API reads its token from a Secret
        expected.add(f"deploy/k8s/base/{svc.name}/deployment.yaml")
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
        migrator.scaffold(make_plan("flask"), make_graph("flask"), tmp_path / "out", extract=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_hadolint_finds_nothing_on_the_sample_in_extract_mode(sample_extract_out, tmp_path):
    dockerfiles = sorted((sample_extract_out / "services").glob("*/Dockerfile"))
    assert len(dockerfiles) >= 10
    for dockerfile in dockerfiles:
        assert "COPY shared_kernel shared_kernel" in dockerfile.read_text()
        assert hadolint_findings(dockerfile) == [], dockerfile
    files = build_context(sample_extract_out, tmp_path)
    for dockerfile in dockerfiles:
        for source in copied_sources(dockerfile.read_text()):
            assert any(f == source or f.startswith(source + "/") for f in files), source


def test_extracted_services_get_the_internal_token_from_a_secret_never_a_value(
    shopfix_extract_out, tmp_path
):
    """Every extracted service reads the internal API's token from the ``internal-token``
    Secret (Kubernetes) or the environment (compose, which stops without it); MIGRATION.md says
    how to create it; the name is the one the copied runtime and the local runner read. A plain
    scaffold (skeletons, no internal API) asks for no such Secret."""
    from migrator.extraction import localrun, runtime
    from migrator.generation import k8s

    assert k8s.INTERNAL_TOKEN_ENV == runtime.TOKEN_ENV == localrun.TOKEN_ENV
    out = shopfix_extract_out
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    for name in ("catalog", "inventory", "orders"):
        deployment = yaml.safe_load(
            (out / "deploy/k8s/base" / name / "deployment.yaml").read_text()
        )
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        token = [e for e in container["env"] if e["name"] == "MIGRATOR_INTERNAL_TOKEN"]
        assert token == [
            {
                "name": "MIGRATOR_INTERNAL_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "internal-token", "key": "token"}},
            }
        ]
        validate(deployment, f"{name}/deployment.yaml")  # strict Kubernetes schema
        value = compose["services"][name]["environment"]["MIGRATOR_INTERNAL_TOKEN"]
        assert value.startswith("${MIGRATOR_INTERNAL_TOKEN:?")
    assert "MIGRATOR_INTERNAL_TOKEN" not in json.dumps(compose["services"]["gateway"])
    guide = (out / "MIGRATION.md").read_text()
    assert "create secret generic internal-token --from-literal=token=" in guide
    plain = tmp_path / "plain"
    migrator.scaffold(
        load_plan(SHOPFIX / "shopfix_plan.yaml"), analyze(SHOPFIX / "shopfix_app"), plain
    )
    assert "internal-token" not in (plain / "deploy/k8s/base/catalog/deployment.yaml").read_text()
    assert "MIGRATOR_INTERNAL_TOKEN" not in (plain / "compose.yaml").read_text()
    assert "internal-token" not in (plain / "MIGRATION.md").read_text()
