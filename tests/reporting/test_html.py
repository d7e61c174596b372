"""The HTML report in a real browser: headless Chromium renders the inline SVG graph (the
screenshot is not blank) and the DOM has the graph, the tables and a working search box."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from migrator.reporting import render, report

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "chromium is not installed (scripts/bootstrap.sh --test installs Debian's chromium package)"
    )


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and raw RGB(A) rows of an 8-bit non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from migrator.plan import plan_from_dict

    from .conftest import PLAN, build_graph, write_tree

    tmp = tmp_path_factory.mktemp("html")
    root = write_tree(tmp / "src")
    rep = report(build_graph(root), plan_from_dict(PLAN), cwd=str(root))
    html = tmp / "report.html"
    html.write_text(render(rep, "html"))
    return tmp, html, rep


def test_html_is_self_contained(page):
    _, html, _ = page
    text = html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    assert "default-src 'none'" in text


def test_chromium_renders_the_graph(page):
    tmp, html, rep = page
    shot = tmp / "shot.png"
    res = _browser(tmp, f"--screenshot={shot}", "--window-size=1200,1400", html.as_uri())
    assert shot.is_file(), res.stderr[-2000:]
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1400)
    # the graph draws coloured pixels: count pixels that are clearly not grey/white
    colourful = 0
    bpp = len(rows[0]) // width
    colours = set()
    for row in rows[::4]:
        for x in range(0, width * bpp, bpp * 4):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add((r >> 4, g >> 4, b >> 4))
            if max(r, g, b) - min(r, g, b) > 60:
                colourful += 1
    assert colourful > 200, colourful
    assert len(colours) > 20


def test_dom_has_graph_tables_and_search(page):
    tmp, html, rep = page
    res = _browser(tmp, "--dump-dom", html.as_uri())
    dom = res.stdout
    assert '<svg id="service-graph"' in dom
    groups = re.findall(r'<g class="group" data-name="([^"]+)"', dom)
    assert sorted(groups) == sorted(c.name for c in rep.components if c.modules)
    assert len(re.findall(r'<g class="node" data-name=', dom)) == len(rep.module_component)
    red = [e for e in rep.module_edges if e["crossing"] and not e["allowed"]]
    blue = [e for e in rep.module_edges if e["allowed"]]
    assert dom.count('class="edge cross"') == len(red) == 2
    assert dom.count('class="edge allowed"') == len(blue) == 3
    for table_id in (
        "violations-table",
        "components-table",
        "modules-table",
        "edges-table",
        "cycles-table",
        "shared-tables-table",
        "metrics-table",
    ):
        assert f'id="{table_id}"' in dom
    assert '<input id="search"' in dom
    assert dom.count('<tr class="error" data-search=') >= 4


def test_search_filters_rows_and_highlights_nodes(page):
    tmp, html, rep = page
    res = _browser(tmp, "--dump-dom", html.as_uri() + "#q=inventory.models")
    dom = res.stdout
    assert re.search(r'<svg id="service-graph"[^>]*class="searching"', dom)
    assert '<g class="node hit" data-name="shop.inventory.models">' in dom
    assert '<g class="node" data-name="shop.catalog.api">' in dom
    shown = re.findall(r'<tr class="[^"]*" data-search="([^"]*)"', dom)
    hidden = re.findall(r'<tr class="[^"]*hidden[^"]*" data-search="([^"]*)"', dom)
    assert hidden and all("inventory.models" not in h for h in hidden)
    assert all("inventory.models" in s for s in shown if s not in hidden)
    assert "matching rows" in dom
