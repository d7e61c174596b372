"""Static assets: the monolith image's build step makes content-hashed copies and a manifest;
the real nginx gateway caches only hashed names for a year, the others briefly."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

from migrator.extraction.localrun import Process, free_port, wait_http
from migrator.generation import scaffold

from .sample_plan import sample_plan
from .support import ROOT, local_gateway


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_hashed_static_names_are_immutable_and_the_others_are_not(sample_graph, tmp_path):
    out = tmp_path / "out"
    scaffold(sample_plan(sample_graph), sample_graph, out)
    dockerfile = (out / "monolith/Dockerfile").read_text()
    assert "RUN python /app/hash_static.py /app/sample_monolith/static" in dockerfile
    # what that build step does, on a copy of the monolith
    app = tmp_path / "app"
    shutil.copytree(
        ROOT / "sample_monolith",
        app / "sample_monolith",
        ignore=shutil.ignore_patterns("tests", "instance", "__pycache__"),
    )
    static = app / "sample_monolith/static"
    subprocess.run(
        [sys.executable, str(out / "monolith/hash_static.py"), str(static)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    manifest = json.loads((static / "manifest.json").read_text())
    css = (ROOT / "sample_monolith/static/css/shop.css").read_bytes()
    digest = hashlib.sha256(css).hexdigest()[:12]
    assert manifest["css/shop.css"] == f"css/shop.{digest}.css"
    assert len(manifest) == len(
        [p for p in (ROOT / "sample_monolith/static").rglob("*") if p.is_file()]
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(app),
        "SHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        "SHOP_SECRET_KEY": "k",
        "SHOP_INSTANCE_DIR": str(tmp_path / "instance"),
        "SHOP_PASSWORD_ITERATIONS": "1000",
    }
    with open(tmp_path / "monolith.log", "wb") as log:
        popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "sample_monolith.app:create_app()",
            ],
            cwd=app,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Process("monolith", port, popen, tmp_path / "monolith.log")
    try:
        wait_http(proc.url + "/healthz", 60, proc)
        with local_gateway(out, tmp_path / "gw", {"monolith": port}) as (gw, _):
            status, headers, body = _get(f"{gw}/static/{manifest['css/shop.css']}")
            assert (status, body) == (200, css)
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
            status, headers, body = _get(f"{gw}/static/css/shop.css")
            assert (status, body) == (200, css)
            assert headers["cache-control"] == "public, max-age=300"
            # a name that looks hashed but does not exist: a 404 that is not cached for a year
            status, headers, _ = _get(f"{gw}/static/css/shop.000000000000.css")
            assert status == 404 and "immutable" not in headers.get("cache-control", "")
    finally:
        proc.stop()
    # templates link the hashed name, on the CDN when CDN_URL is set
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); from hash_static import asset_url;"
        "from pathlib import Path; print(asset_url('css/shop.css', Path(sys.argv[2])))"
    )
    for cdn, expected in (
        ("", f"/static/css/shop.{digest}.css"),
        ("https://cdn.example.net/", f"https://cdn.example.net/static/css/shop.{digest}.css"),
    ):
        printed = subprocess.run(
            [sys.executable, "-c", probe, str(out / "monolith"), str(static)],
            env={**os.environ, "CDN_URL": cdn},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        assert printed == expected
