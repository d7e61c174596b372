"""Run extracted services on 127.0.0.1: one process per service with its own database, and a
gateway in front (Debian's nginx with the generated local config, or the pure-Python fallback
in ``gateway.py`` when nginx is not installed).

Used by the end-to-end test and by people trying an extraction locally. Every process is started
by this module and stopped by its own pid.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from migrator.extraction.runtime import TOKEN_ENV  # the setting the services read

_HANDED_OUT: set[int] = set()
_LOCAL_TOKEN = secrets.token_hex(16)


def internal_token() -> str:
    """The token the services started here show each other: the environment's, else one
    made for this process (a local run needs no Secret, and never a fixed, guessable one)."""
    return os.environ.get(TOKEN_ENV) or _LOCAL_TOKEN


def _unpicked_ports() -> range:
    """Ports the kernel never picks by itself, below its ephemeral range: a port handed out
    here stays free until its service binds it, whatever binds port 0 or connects out in the
    meantime (an in-process test server did take one, in CI). Empty when there are none."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        low = int(text.split()[0])
    except (OSError, ValueError, IndexError):
        low = 49152  # IANA's dynamic range, which macOS and Windows use
    return range(max(1024, low - 12000), low)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, never one this process was given before
    (two services started on one port make the second fail to bind while its URL answers with
    the first), taken outside the kernel's ephemeral range when there is room."""
    candidates = _unpicked_ports()
    for _ in range(1000):
        port = secrets.choice(candidates) if candidates else 0
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use
                continue
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port on 127.0.0.1 after 1000 tries")


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_http(url: str, timeout: float = 30.0, proc: Process | None = None) -> None:
    """Wait until ``url`` answers (any HTTP status below 500), or raise with the log tail."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    tail = proc.tail() if proc is not None else ""
    raise RuntimeError(f"{url} did not answer in {timeout:.0f}s ({last})\n{tail}")


def start_service(
    name: str,
    service_dir: Path,
    port: int,
    env: dict[str, str],
    logs: Path,
    python: str = sys.executable,
    extra_path: list[Path] | None = None,
) -> Process:
    """Start ``interservice.wsgi:app`` of one extracted service with gunicorn (threads, so a
    service can serve a call while it waits on another service), or a FastAPI service's
    ``interservice.asgi:app`` with uvicorn."""
    src = service_dir / "src"
    paths = [str(src), str(service_dir), *(str(p) for p in extra_path or [])]
    full_env = {
        **os.environ,
        TOKEN_ENV: internal_token(),
        **env,
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    if (src / "interservice" / "asgi.py").is_file():
        cmd = [
            python,
            "-m",
            "uvicorn",
            "--app-dir",
            str(src),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "interservice.asgi:app",
        ]
    else:
        cmd = [
            python,
            "-m",
            "gunicorn",
            "--chdir",
            str(src),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            *_gunicorn_flags(python),
            "interservice.wsgi:app",
        ]
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            cmd,
            cwd=src,
            env=full_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Process(name, port, popen, log)


_FLAGS: dict[str, list[str]] = {}


def _gunicorn_flags(python: str) -> list[str]:
    """Newer gunicorn opens a control socket at one fixed path per user: not with many servers."""
    if python not in _FLAGS:
        try:
            text = subprocess.run(
                [python, "-m", "gunicorn", "--help"], capture_output=True, text=True, timeout=60
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        _FLAGS[python] = ["--no-control-socket"] if "--no-control-socket" in text else []
    return _FLAGS[python]


@dataclass
class Gateway:
    kind: str  # "nginx" | "python"
    port: int
    process: Process | None = None
    prefix: Path | None = None
    server: object | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.kind == "nginx" and self.prefix is not None:
            pid_file = self.prefix / "nginx.pid"
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                pid = 0
            if pid:
                try:
                    os.kill(pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.1)
        if self.server is not None:
            self.server.shutdown()  # type: ignore[attr-defined]
            self.server.server_close()  # type: ignore[attr-defined]


def nginx_conf(
    rules: list[tuple[str, str, str]], upstreams: dict[str, int], default: str, port: int
) -> str:
    """A local nginx configuration: ``rules`` are (path, "Exact"|"Prefix", service)."""
    lines = [
        "worker_processes 1;",
        "pid nginx.pid;",
        "error_log error.log warn;",
        "events { worker_connections 256; }",
        "http {",
        "  access_log access.log;",
        "  client_body_temp_path tmp/body;",
        "  proxy_temp_path tmp/proxy;",
        "  fastcgi_temp_path tmp/fastcgi;",
        "  uwsgi_temp_path tmp/uwsgi;",
        "  scgi_temp_path tmp/scgi;",
    ]
    for name, p in sorted(upstreams.items()):
        lines.append(f"  upstream up_{name.replace('-', '_')} {{ server 127.0.0.1:{p}; }}")
    lines += [
        "  server {",
        f"    listen 127.0.0.1:{port};",
        "    proxy_set_header Host $http_host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_http_version 1.1;",
    ]
    for path, kind, service in rules:
        modifier = "= " if kind == "Exact" else ""
        lines.append(
            f"    location {modifier}{path} {{ proxy_pass http://up_{service.replace('-', '_')}; }}"
        )
    lines.append(f"    location / {{ proxy_pass http://up_{default.replace('-', '_')}; }}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def start_gateway(
    rules: list[tuple[str, str, str]],
    upstreams: dict[str, int],
    default: str,
    workdir: Path,
    prefer: str = "nginx",
) -> Gateway:
    """nginx when installed (and ``prefer`` says so), else the pure-Python gateway."""
    port = free_port()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if prefer == "nginx" and nginx:
        prefix = workdir / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_conf(rules, upstreams, default, port))
        check = subprocess.run(
            [nginx, "-t", "-p", str(prefix), "-c", str(conf)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t rejected the gateway config:\n{check.stderr}")
        subprocess.run(
            [nginx, "-p", str(prefix), "-c", str(conf)], check=True, timeout=30, capture_output=True
        )
        gw = Gateway("nginx", port, prefix=prefix)
    else:
        from migrator.extraction.gateway import serve

        server = serve(
            rules, {k: f"http://127.0.0.1:{v}" for k, v in upstreams.items()}, default, port
        )
        gw = Gateway("python", port, server=server)
    return gw


def routes_from_plan(plan_routes: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(path, kind, service) rules: exact paths, and static prefixes of parametrised ones.

    The same idea as the generated Ingress and nginx gateway; used when no generated routing
    table is at hand. Longer prefixes are listed first.
    """
    rules: dict[tuple[str, str], str] = {}
    for service in sorted(plan_routes):
        for text in sorted(plan_routes[service]):
            _, _, path = text.strip().partition(" ")
            path = path or text.strip()
            if "<" in path or "{" in path:
                cut = min(i for i in (path.find("<"), path.find("{")) if i >= 0)
                prefix = path[:cut]
                if "/" in prefix:
                    prefix = prefix[: prefix.rfind("/") + 1]
                if prefix in ("", "/"):
                    continue
                rules.setdefault((prefix, "Prefix"), service)
            else:
                rules.setdefault((path, "Exact"), service)
    return sorted(((p, k, s) for (p, k), s in rules.items()), key=lambda r: (-len(r[0]), r))


# -- per-service virtual environments ------------------------------------------------------------
def _pip(python: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "--disable-pip-version-check",
        "--no-input",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def fill_wheelhouse(requirements: list[str], wheelhouse: Path) -> None:
    """Download or build wheels for ``requirements`` (plus the kernel's build tools) once."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    wanted = sorted(set(requirements) | {"setuptools>=61", "wheel"})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            "--find-links",
            str(wheelhouse),
            "-w",
            str(wheelhouse),
            *wanted,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{result.stderr[-3000:]}")


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def install_services(
    services: dict[str, Path], kernel_dir: Path, venvs: Path, wheelhouse: Path
) -> dict[str, str]:
    """One venv per service with its requirements and the shared kernel, offline from the
    wheelhouse; returns each service's python.

    Services with the same requirements start from one template venv that is copied (an
    install costs tens of seconds, a copy well under one), so the time stays bounded.
    """
    import hashlib

    out: dict[str, str] = {}
    templates: dict[str, Path] = {}
    for name, service_dir in sorted(services.items()):
        reqs = (service_dir / "requirements.txt").read_bytes()
        key = hashlib.sha256(reqs).hexdigest()[:12]
        if key not in templates:
            templates[key] = venvs / f"_template-{key}"
            _build_venv(templates[key], service_dir / "requirements.txt", kernel_dir, wheelhouse)
        target = venvs / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(templates[key], target, symlinks=True)
        out[name] = str(target / "bin" / "python")
    return out


def _build_venv(venv: Path, requirements: Path, kernel_dir: Path, wheelhouse: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    python = str(venv / "bin" / "python")
    offline = ["install", "-q", "--no-index", "--find-links", str(wheelhouse)]
    for args in (
        ["setuptools>=61", "wheel"],
        ["-r", str(requirements)],
        ["--no-build-isolation", str(kernel_dir)],
    ):
        result = _pip(python, *offline, *args)
        if result.returncode != 0:
            raise RuntimeError(
                f"installing {args[-1]} into {venv} failed:\n{result.stderr[-3000:]}"
            )
