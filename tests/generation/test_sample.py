"""scaffold on sample_monolith, analysed for real, with a hand-written plan (and the
proposer's plan once it exists): real tools accept the output, and every service installs into
a fresh venv, starts and answers its probes."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from migrator.generation import scaffold

from .support import ROOT, ensure_wheels, hadolint_findings, need
from .test_services_run import check_probes_and_metrics, free_port, start_service, stop
from .test_tools import documents, validate

SAMPLE = ROOT / "sample_monolith"


def services(out: Path) -> list[Path]:
    return sorted(p for p in (out / "services").iterdir() if p.is_dir())


def test_sample_has_a_service_per_domain_with_its_routes(sample_out):
    names = [p.name for p in services(sample_out)]
    assert names == sorted(
        [
            "accounts",
            "backoffice",
            "cart",
            "catalog",
            "checkout",
            "inventory",
            "notifications",
            "orders",
            "payments",
            "promotions",
            "shipping",
        ]
    )
    stubs = (sample_out / "services/catalog/catalog_service/stubs.py").read_text()
    assert "sample_monolith.catalog.routes:" in stubs
    reqs = (sample_out / "services/catalog/requirements.txt").read_text().splitlines()
    assert any(r.lower().startswith("sqlalchemy") for r in reqs)
    assert any(r.lower().startswith("flask") for r in reqs)
    assert any(r.lower().startswith("gunicorn") for r in reqs)


def test_sample_output_passes_the_tools(sample_out, tmp_path):
    for folder in services(sample_out):
        assert hadolint_findings(folder / "Dockerfile") == [], folder
    for doc, where in documents(sample_out, crds=False):  # custom resources: the test below
        validate(doc, where)
    kubectl = need("kubectl")
    for sub in ("base", "overlays/dev", "overlays/prod"):
        proc = subprocess.run(
            [kubectl, "kustomize", str(sample_out / "deploy/k8s" / sub)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    nginx = need("nginx")
    (tmp_path / "tmp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text((sample_out / "gateway/nginx.local.conf").read_text())
    proc = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr


def test_sample_custom_resources_match_their_crds(sample_out):
    docs = documents(sample_out, crds=True)
    assert {"ServiceMonitor", "Cluster", "PodMonitor", "PrometheusRule"} <= {
        doc["kind"] for doc, _ in docs
    }
    for doc, where in docs:
        validate(doc, where)


@pytest.mark.slow
def test_every_sample_service_installs_into_a_fresh_venv_and_starts(sample_out, tmp_path):
    folders = services(sample_out)
    # offline when the cache already holds every pin (the PostgreSQL driver included)
    wheels = ensure_wheels([f / "requirements.txt" for f in folders])
    for folder in folders:
        env_dir = tmp_path / f"venv-{folder.name}"
        # a real, empty venv (no system site-packages); the host's pip installs into it from
        # the wheel cache, which saves bootstrapping pip into each of the eleven venvs
        venv.EnvBuilder(with_pip=False, clear=True).create(env_dir)
        python = str(env_dir / "bin" / "python")
        install = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-index",
            "--find-links",
            str(wheels),
            "-r",
            str(folder / "requirements.txt"),
        ]
        subprocess.run(install, check=True, timeout=300)
        proc = subprocess.run(
            [python, "-m", "unittest"], cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"{folder.name}: {proc.stderr[-2000:]}"
        db = tmp_path / f"{folder.name}.sqlite3"
        db.write_bytes(b"")
        port = free_port()
        server = start_service(folder, port, python=python, DATABASE_URL=f"sqlite:///{db}")
        try:
            check_probes_and_metrics(f"http://127.0.0.1:{port}", None)
        finally:
            assert stop(server) == 0


def test_sample_with_the_proposers_plan(tmp_path):
    """The proposer's own plan scaffolds too; its routing passes nginx and Kubernetes checks."""
    from migrator.analysis import analyze
    from migrator.proposal import propose

    graph = analyze(SAMPLE)
    plan = propose(graph)
    result = scaffold(plan, graph, tmp_path / "out")
    out = tmp_path / "out"
    assert len(list((out / "services").iterdir())) == len(plan.services)
    assert result.files
    for rel in ("deploy/k8s/base/ingress.yaml", "deploy/k8s/base/ingress-static.yaml"):
        validate(yaml.safe_load((out / rel).read_text()), rel)
    for path in sorted((out / "deploy/k8s/base").glob("*/networkpolicy.yaml")):
        validate(yaml.safe_load(path.read_text()), str(path))
    nginx = need("nginx")
    (tmp_path / "gw" / "tmp").mkdir(parents=True)
    conf = tmp_path / "gw" / "nginx.conf"
    conf.write_text((out / "gateway/nginx.local.conf").read_text())
    proc = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path / "gw")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
