"""Helpers shared by the generation tests (paths, tool lookup, wheel cache)."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from migrator.extraction.localrun import free_port

FRAMEWORKS = ("flask", "fastapi", "django")
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "schemas"
#: podman settings that work in this sandbox (see ../shared/docs/tooling.md)
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
"""
#: wheels of the generated services' requirements, kept between runs (venv and podman tiers)
WHEELS = Path.home() / ".cache" / "migrator-tests" / "wheels"


def ensure_wheels(requirements: list[Path], python: str | None = None) -> Path:
    """A folder holding wheels for every requirement: offline when it already does, else
    downloaded. ``python`` ("3.11") targets another interpreter than this one (a container's)."""
    folder = WHEELS / (f"cp{python.replace('.', '')}" if python else "host")
    folder.mkdir(parents=True, exist_ok=True)
    args = [a for r in requirements for a in ("-r", str(r))]
    base = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "-d",
        str(folder),
    ]
    if python:
        machine = platform.machine()
        tag = python.replace(".", "")
        base += [
            "--python-version",
            python,
            "--implementation",
            "cp",
            "--abi",
            f"cp{tag}",
            "--abi",
            "abi3",
            "--abi",
            "none",
            "--platform",
            f"manylinux2014_{machine}",
            "--platform",
            f"manylinux_2_28_{machine}",
            "--platform",
            f"linux_{machine}",
        ]
    offline = subprocess.run(
        [*base, "--no-index", "--find-links", str(folder), *args], capture_output=True, timeout=300
    )
    if offline.returncode != 0:
        subprocess.run([*base, *args], check=True, timeout=900)
    return folder


def need(tool: str) -> str:
    path = shutil.which(tool) or (shutil.which(tool, path="/usr/sbin") if tool == "nginx" else None)
    if path is None:
        pytest.fail(f"{tool} is not installed: run scripts/bootstrap.sh --test")
    return path


def hadolint_findings(dockerfile: Path) -> list[dict]:
    """hadolint's findings on ``dockerfile``, its exit code checked against them: hadolint
    exits 1 with empty output on a file it cannot read, which must never read as "clean"."""
    assert dockerfile.is_file(), f"{dockerfile} does not exist"
    proc = subprocess.run(
        [need("hadolint"), "--no-color", "-f", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip(), f"{dockerfile}: hadolint printed nothing: {proc.stderr}"
    findings = json.loads(proc.stdout)
    assert proc.returncode == (1 if findings else 0), (dockerfile, proc.returncode, proc.stderr)
    return findings


def build_context(context: Path, tmp: Path) -> set[str]:
    """The files (relative paths) that an image build with ``context`` sends to the builder,
    as podman sends them: it reads ``.dockerignore`` with Docker's rules. A ``FROM scratch``
    build copies the whole context and exports it to a folder: no base image, no network."""
    podman = need("podman")
    if os.geteuid() != 0:
        pytest.skip("podman runs as root here (rootless podman needs subuid setup)")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "containers.conf").write_text(CONTAINERS_CONF)
    (tmp / "Containerfile").write_text("FROM scratch\nCOPY . /context/\n")
    dest, iid = tmp / "exported", tmp / "image-id"
    env = {**os.environ, "CONTAINERS_CONF": str(tmp / "containers.conf")}
    proc = subprocess.run(
        [
            podman,
            "build",
            "--pull=never",
            "--network=none",
            "-f",
            str(tmp / "Containerfile"),
            "--iidfile",
            str(iid),
            "-o",
            f"type=local,dest={dest}",
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    if iid.is_file():
        subprocess.run(
            [podman, "rmi", "-f", iid.read_text().strip()],
            capture_output=True,
            timeout=120,
            env=env,
        )
    root = dest / "context"
    assert root.is_dir(), f"podman exported nothing from {context}"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@contextlib.contextmanager
def local_gateway(out: Path, prefix: Path, ports: dict[str, int] | None = None):
    """Run OUT's ``gateway/nginx.local.conf`` with real nginx on free loopback ports.

    ``ports`` maps "gateway", "monolith" and service names to the ports to use (free ones are
    picked for any left out); yields ``(gateway URL, ports)`` and stops nginx by its pid."""
    nginx = need("nginx")
    planned = json.loads((out / "gateway/local.json").read_text())
    chosen = dict(ports or {})
    old = {"gateway": planned["gateway"], "monolith": planned["monolith"], **planned["services"]}
    conf = (out / "gateway/nginx.local.conf").read_text()
    for name, port in old.items():
        chosen.setdefault(name, free_port())
        conf = conf.replace(f"127.0.0.1:{port};", f"127.0.0.1:{chosen[name]};")
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(conf)
    subprocess.run(
        [nginx, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)], check=True, timeout=30
    )
    try:
        yield f"http://127.0.0.1:{chosen['gateway']}", chosen
    finally:
        pid = int((prefix / "nginx.pid").read_text())
        os.kill(pid, signal.SIGQUIT)
        for _ in range(100):  # bounded: nginx drains and exits within a second
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


class OtlpReceiver(http.server.ThreadingHTTPServer):
    """OTLP/HTTP (protobuf) on a free loopback port, started by a test: keeps (service name,
    span) of every span the services export, so a test can put a trace together."""

    daemon_threads = True

    def __init__(self) -> None:
        self.spans: list = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
                for resource_spans in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    )
                    with outer.lock:
                        outer.spans.extend(
                            (service, s)
                            for scope in resource_spans.scope_spans
                            for s in scope.spans
                        )
                body = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        # free_port, not port 0: the kernel may offer a port just handed to a service not yet started
        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        """The value of ``OTEL_EXPORTER_OTLP_ENDPOINT`` that sends spans here."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self) -> list:
        with self.lock:
            return list(self.spans)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
