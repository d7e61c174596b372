"""Slow tier: build every generated image with podman and run one container.

No image can be pulled here, so the test builds a stand-in for the Dockerfiles' base image:
Debian bookworm (debootstrap, minbase) with Debian's python3 and venv, kept in podman storage
between runs (``localhost/migrator-test-bookworm-python:1``), plus a thin layer, rebuilt each
run, that holds a wheel cache and a pip.conf pointing at it. Tagged with the base image's name
(``python:3.12-slim-bookworm``), it lets every generated Dockerfile build unchanged with
``--network=none``. The container runs with ``--network host`` (loopback only), a read-only
root file system and a tmpfs /tmp, as the Kubernetes manifests run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
from pathlib import Path

import pytest
import yaml

from .support import CONTAINERS_CONF, ensure_wheels
from .test_services_run import free_port, get

pytestmark = pytest.mark.slow

BASE = "localhost/migrator-test-bookworm-python:1"


def debian_mirror() -> str:
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        m = re.search(r"^URIs:\s*(\S+)", path.read_text(), re.M)
        if m and "security" not in m.group(1):
            return m.group(1)
    text = (
        Path("/etc/apt/sources.list").read_text() if Path("/etc/apt/sources.list").exists() else ""
    )
    m = re.search(r"^deb\s+(\S+)\s+bookworm\s", text, re.M)
    return m.group(1) if m else "http://deb.debian.org/debian"


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    for tool in ("podman", "debootstrap"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.fail(f"{tool} is not installed: run scripts/bootstrap.sh --test")
    if os.geteuid() != 0:
        pytest.skip("the podman tier runs as root (rootless podman needs subuid setup)")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def run(*args: str, check: bool = True, timeout: float = 900, **kw):
        return subprocess.run(
            ["podman", *args],
            env=env,
            check=check,
            timeout=timeout,
            capture_output=True,
            text=True,
            **kw,
        )

    if run("image", "exists", BASE, check=False).returncode != 0:
        rootfs = tmp_path_factory.mktemp("rootfs") / "rootfs"
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                "--include=python3,python3-venv,python-is-python3",
                "bookworm",
                str(rootfs),
                debian_mirror(),
            ],
            check=True,
            timeout=1200,
            capture_output=True,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", BASE],
            stdin=tar.stdout,
            env=env,
            check=True,
            timeout=600,
            capture_output=True,
        )
        assert tar.wait(timeout=60) == 0, "tar of the base image's root file system failed"
        shutil.rmtree(rootfs, ignore_errors=True)
    return run


def standin(podman, out: Path, tmp: Path) -> None:
    dockerfiles = sorted((out / "services").glob("*/Dockerfile"))
    bases = {re.search(r"^FROM (\S+)", d.read_text(), re.M).group(1) for d in dockerfiles}
    assert len(bases) == 1, bases
    requirements = sorted((out / "services").glob("*/requirements.txt"))
    if (out / "monolith/requirements.txt").is_file():
        requirements.append(out / "monolith/requirements.txt")
    kernel = out / "shared_kernel" / "pyproject.toml"
    if kernel.is_file():  # extract mode: the images also build and install the kernel library
        lists = re.findall(
            r"^(?:requires|dependencies) = \[(.*?)\]", kernel.read_text(), re.M | re.S
        )  # build-system requires and the project's dependencies
        names = [n for text in lists for n in re.findall(r'"([^"]+)"', text)]
        assert any(n.startswith("setuptools") for n in names), names
        (tmp / "kernel-requirements.txt").write_text("\n".join([*names, "wheel"]) + "\n")
        requirements.append(tmp / "kernel-requirements.txt")
    # Debian bookworm's python3 is 3.11: fetch wheels for it, whatever runs the tests
    wheels = ensure_wheels(requirements, python="3.11")
    ctx = tmp / "standin"
    shutil.copytree(wheels, ctx / "wheels")
    (ctx / "Containerfile").write_text(
        f"FROM {BASE}\nCOPY wheels /wheels\n"
        "RUN printf '[global]\\nno-index = true\\nfind-links = /wheels\\n' > /etc/pip.conf\n"
    )
    name = bases.pop()
    name = name if "/" in name else f"docker.io/library/{name}"
    podman("build", "--pull=never", "--network=none", "-t", name, str(ctx))


@pytest.fixture
def podman_out(sample_out) -> Path:
    """sample_monolith's scaffold (its analysis failing fails the test, never swaps inputs)."""
    return sample_out


def wait_healthy(podman, cid: str, url: str) -> tuple[int, dict, bytes]:
    deadline = time.monotonic() + 60
    while True:
        try:
            return get(url, timeout=2)
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                logs = podman("logs", cid, check=False).stdout
                raise AssertionError(f"container did not answer: {logs}") from None
            time.sleep(0.5)


@contextlib.contextmanager
def running_image(podman, tag: str, build: list[str], env: dict[str, str]):
    """Build ``tag`` (``build``: the context and flags), run it read-only on the host's
    loopback with ``env``; yield the container id; remove container, image and build stages."""
    try:
        podman("build", "--pull=never", "--network=none", "--format", "docker", "-t", tag, *build)
        flags = [a for k, v in sorted(env.items()) for a in ("-e", f"{k}={v}")]
        cid = podman(
            "run",
            "-d",
            "--init",
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp",
            *flags,
            tag,
        ).stdout.strip()
        try:
            yield cid
        finally:
            podman("rm", "-f", cid, check=False)
    finally:
        podman("rmi", "-f", tag, check=False)
        podman("image", "prune", "-f", check=False)


def stops_cleanly(podman, cid: str) -> None:
    """The image's HEALTHCHECK passes, and SIGTERM ends the service with exit code 0."""
    assert podman("healthcheck", "run", cid, check=False).returncode == 0
    podman("stop", "-t", "30", cid)
    state = json.loads(podman("inspect", cid).stdout)[0]["State"]
    assert state["ExitCode"] == 0, podman("logs", cid, check=False).stdout


def test_every_image_builds_and_one_container_runs_healthy(podman, podman_out, tmp_path):
    out = podman_out
    standin(podman, out, tmp_path)
    images = []
    try:
        for folder in sorted((out / "services").iterdir()):
            tag = f"localhost/migrator-test-{folder.name}:test"
            podman(
                "build",
                "--pull=never",
                "--network=none",
                "--format",
                "docker",
                "-t",
                tag,
                str(folder),
            )
            images.append(tag)
            info = json.loads(podman("image", "inspect", tag).stdout)[0]
            assert info["Config"]["User"] == "10001:10001"
            assert "8000/tcp" in info["Config"]["ExposedPorts"]
            assert info["Healthcheck"]["Test"][0] == "CMD"
        port = free_port()
        cid = podman(
            "run",
            "-d",
            "--init",
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-e",
            f"PORT={port}",
            "-e",
            "HOST=127.0.0.1",
            images[0],
        ).stdout.strip()
        try:
            status, _, body = wait_healthy(podman, cid, f"http://127.0.0.1:{port}/healthz")
            assert status == 200 and json.loads(body)["status"] == "ok"
            assert get(f"http://127.0.0.1:{port}/metrics")[0] == 200
            stops_cleanly(podman, cid)
        finally:
            podman("rm", "-f", cid, check=False)
    finally:
        for tag in images:
            podman("rmi", "-f", tag, check=False)
        podman("image", "prune", "-f", check=False)  # the build stages left untagged


def test_an_extracted_service_image_serves_its_moved_code(podman, sample_extract_out, tmp_path):
    """scaffold --extract: the catalog image, built from OUT with -f, runs the catalog's own
    code (its category list from its seeded SQLite database in /tmp, not the skeleton's 501)
    on top of the installed shared kernel library."""
    out = sample_extract_out
    standin(podman, out, tmp_path)
    port = free_port()
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": "sqlite:////tmp/catalog.sqlite3",
        # the shop's own settings: instance folder (mail spool) on the writable /tmp
        "SHOP_INSTANCE_DIR": "/tmp/instance",
        "SHOP_PASSWORD_ITERATIONS": "1000",
    }
    build = ["-f", str(out / "services/catalog/Dockerfile"), str(out)]
    with running_image(podman, "localhost/migrator-test-extract-catalog:test", build, env) as cid:
        base = f"http://127.0.0.1:{port}"
        assert wait_healthy(podman, cid, base + "/healthz")[0] == 200
        assert get(base + "/readyz")[0] == 200  # its database exists: created and seeded
        # the service's modules come from /app/src, the kernel from the installed library
        listing = podman(
            "exec",
            "-e",
            "PYTHONPATH=/app/src",
            cid,
            "python",
            "-c",
            "import sample_monolith.catalog.routes as r, sample_monolith.db as d;"
            "print(r.__file__); print(d.__file__)",
        ).stdout.split()
        assert listing[0] == "/app/src/sample_monolith/catalog/routes.py"
        assert listing[1].startswith("/opt/venv/lib/") and "site-packages" in listing[1]
        # the PostgreSQL driver that compose and Kubernetes name in the URL loads in the
        # image: SQLAlchemy resolves the scheme to it and /readyz connects through it (to a
        # closed port here: the driver's OperationalError, not the TCP fallback's refusal)
        compose = yaml.safe_load((out / "compose.yaml").read_text())
        url = compose["services"]["catalog"]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://")
        closed = url.split("://")[0] + "://u:p@127.0.0.1:9/db"
        driver = podman(
            "exec",
            cid,
            "python",
            "-c",
            "import sqlalchemy, catalog_service.health as h;"
            f"print(sqlalchemy.create_engine({closed!r}).dialect.dbapi.__name__);"
            f"print(h.check_database({closed!r}, 1))",
        ).stdout.splitlines()
        assert driver[0] == "psycopg", driver
        assert "(False, 'OperationalError" in driver[1], driver
        status, _, body = get(base + "/api/catalog/categories")
        assert status == 200, body[:500]
        categories = json.loads(body)["categories"]
        assert categories and all(c["slug"] and c["name"] for c in categories)
        stops_cleanly(podman, cid)


def test_compose_builds_the_monolith_which_serves_hashed_static_files(podman, sample_out, tmp_path):
    """compose's monolith entry (context, additional_contexts) builds with podman; the
    container serves the shop and its content-hashed static files, read-only, as in k8s."""
    out = sample_out
    compose = yaml.safe_load((out / "compose.yaml").read_text())["services"]
    external = {name for name, svc in compose.items() if "build" not in svc}
    assert external == {"postgres", "gateway"}  # every other image is built from this output
    build = compose["monolith"]["build"]
    standin(podman, out, tmp_path)
    contexts = [
        f"--build-context={k}={(out / v).resolve()}"
        for k, v in build["additional_contexts"].items()
    ]
    port = free_port()
    env = {
        "PORT": str(port),
        "SHOP_INSTANCE_DIR": "/tmp/shop",
        "SHOP_DATABASE_URL": "sqlite:////tmp/shop/shop.sqlite3",
        "SHOP_SECRET_KEY": "podman-test",
        "SHOP_PASSWORD_ITERATIONS": "1000",
    }
    with running_image(
        podman,
        "localhost/migrator-test-monolith:test",
        [*contexts, str(out / build["context"])],
        env,
    ) as cid:
        status, _, _ = wait_healthy(podman, cid, f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        status, _, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"<html" in page.lower()
        manifest = json.loads(
            podman("exec", cid, "cat", "/app/sample_monolith/static/manifest.json").stdout
        )
        status, _, css = get(f"http://127.0.0.1:{port}/static/{manifest['css/shop.css']}")
        assert status == 200
        assert (
            css
            == (
                Path(__file__).resolve().parents[2] / "sample_monolith/static/css/shop.css"
            ).read_bytes()
        )
        stops_cleanly(podman, cid)
