"""Files migrator reads and writes on a hostile machine: SECURITY.md promises 4, 5, 8 and 9.

Every file a run reads (plan, baseline, graph, configuration, ``--templates``, the sources and
data files extraction copies) must be a regular file, reached through no link out of its root;
FIFOs, devices and links out are one-line errors (exit 2) or listed diagnostics, never a hang, a
MemoryError or a copy of a file from elsewhere. Every write stays inside OUT (no link followed),
one run at a time holds OUT, a killed run's temporary files are removed by the next, OUT's
parents are never created. Route paths are full-matched, so no newline reaches nginx or an
Ingress. Bad input of any kind is exit 2 with one line naming the file, never a traceback.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main
from migrator.generation import scaffold
from migrator.generation.routing import UnroutableError, parse_path
from migrator.graph import DependencyGraph, Route
from migrator.plan import Plan, Service, dump_plan
from migrator.util.fs import LOCK_FILE, FileError, atomic_write, read_regular

from .conftest import REPO, cli_env, migrator_cmd

SHOP = REPO / "tests" / "extraction" / "fixtures" / "shopfix_app"
SHOP_PLAN = REPO / "tests" / "extraction" / "fixtures" / "shopfix_plan.yaml"
SECRET = b"TOP-SECRET-6f1c2a"


def small_graph(*routes: str) -> DependencyGraph:
    g = DependencyGraph(root="/nonexistent/shop")
    for m in ("shop", "shop.catalog", "shop.orders"):
        g.add_node(m, "module", file=m.replace(".", "/") + ".py", line=1, end_line=10)
    g.add_edge("shop.orders", "shop.catalog", "import", ["shop/orders.py:1"])
    g.routes.append(
        Route(
            method="GET",
            path="/products",
            handler="shop.catalog:view",
            framework="flask",
            file="shop/catalog.py",
            line=1,
        )
    )
    for path in routes:
        g.routes.append(
            Route(
                method="GET",
                path=path,
                handler="shop.orders:view",
                framework="flask",
                file="shop/orders.py",
                line=2,
            )
        )
    return g.finalize()


def small_plan(**meta: str) -> Plan:
    return Plan(
        services={
            "catalog": Service(name="catalog", modules=["shop.catalog"]),
            "orders": Service(name="orders", modules=["shop.orders"]),
        },
        meta={"framework": "flask", **meta},
    )


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A graph file and a plan for `scaffold`, next to a secret file and a FIFO."""
    (tmp_path / "graph.json").write_text(json.dumps(small_graph().to_dict()))
    (tmp_path / "plan.yaml").write_text(dump_plan(small_plan()))
    (tmp_path / "secret.txt").write_bytes(SECRET)
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


def one_line_error(res, name: str) -> str:
    """Exit 2, no traceback, exactly one line of output, naming the file."""
    if isinstance(res, subprocess.CompletedProcess):
        code, text = res.returncode, res.stdout + res.stderr
        assert "Traceback" not in text, text
    else:  # click's CliRunner: an exception other than SystemExit is a traceback
        code, text = res.exit_code, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit), "".join(
            __import__("traceback").format_exception(res.exception)
        )
    assert code == 2, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], text
    return lines[0]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The command line in a process of its own, without a resident parser left behind."""
    return subprocess.run(
        migrator_cmd(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(MIGRATOR_RESIDENT_PARSER="0"),
    )


# -- reproduction 3: extraction copies no file from outside the tree ---------------------------


def test_extraction_copies_no_link_out_fifo_or_device(tmp_path: Path) -> None:
    from migrator.extraction import build_extraction
    from migrator.plan import load_plan

    root = tmp_path / "app"
    shutil.copytree(SHOP, root)
    (tmp_path / "secret.css").write_bytes(SECRET)
    (tmp_path / "secret.py").write_bytes(b"LEAK = " + repr(SECRET).encode() + b"\n")
    static = root / "shopfix" / "static"
    static.mkdir()
    (static / "site.css").write_text("body { color: red }\n")
    (static / "leak.css").symlink_to(tmp_path / "secret.css")
    (static / "zero.css").symlink_to("/dev/zero")
    (static / "inside.css").symlink_to("site.css")  # a link inside the tree is a file of it
    os.mkfifo(static / "pipe.css")
    (root / "shopfix" / "catalog" / "leak.py").symlink_to(tmp_path / "secret.py")
    ex = build_extraction(load_plan(SHOP_PLAN), None, root)  # no hang on the FIFO or /dev/zero
    copied = {rel for rel in ex.files if "/static/" in rel}
    assert copied and all(rel.endswith(("/site.css", "/inside.css")) for rel in copied), copied
    assert not any(SECRET in data for data in ex.files.values())
    assert not any(rel.endswith("catalog/leak.py") for rel in ex.files)
    notes = "\n".join(ex.notes)
    for name in ("static/leak.css", "static/zero.css", "static/pipe.css", "catalog/leak.py"):
        assert f"shopfix/{name}: " in notes, notes


# -- reproduction 4: plan, baseline, graph, templates and config files --------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "link-out"])
@pytest.mark.parametrize("role", ["plan", "baseline", "graph", "templates", "config"])
def test_input_files_must_be_regular(inputs: Path, role: str, kind: str) -> None:
    bad = inputs / f"bad-{role}"
    if kind == "fifo":
        os.mkfifo(bad)
    elif kind == "dev-zero":
        bad.symlink_to("/dev/zero")
    else:
        bad.symlink_to(inputs / "secret.txt")
    graph, plan, out = str(inputs / "graph.json"), str(inputs / "plan.yaml"), str(inputs / "o")
    if role == "plan":
        args = ["scaffold", graph, "--plan", str(bad), "-o", out]
    elif role == "baseline":
        args = ["report", graph, "--baseline", str(bad)]
    elif role == "graph":
        os.rename(bad, str(bad) + ".json")
        bad = Path(str(bad) + ".json")
        args = ["report", str(bad)]
    elif role == "templates":
        templates = inputs / "templates"
        (templates / "service" / "common").mkdir(parents=True)
        bad = templates / "service" / "common" / "Dockerfile.j2"
        os.rename(inputs / "bad-templates", bad)
        args = ["scaffold", graph, "--plan", plan, "-o", out, "--templates", str(templates)]
    else:  # the project's migrator.yaml, read by propose
        tree = inputs / "tree"
        (tree / "pkg").mkdir(parents=True)
        (tree / "pkg" / "__init__.py").write_text("X = 1\n")
        os.rename(bad, tree / "migrator.yaml")
        bad = tree / "migrator.yaml"
        args = ["propose", str(tree)]
    done = cli(*args, timeout=60)  # a FIFO read blindly would hang here
    line = one_line_error(done, bad.name)
    assert SECRET.decode() not in done.stdout + done.stderr, line


def test_fifos_in_the_tree_behind_a_graph_file_are_not_read(tmp_path: Path) -> None:
    """report reads sources for ignore comments, scaffold reads requirements*.txt: a FIFO in
    their place is skipped, not waited on."""
    tree = tmp_path / "tree"
    (tree / "shop").mkdir(parents=True)
    os.mkfifo(tree / "shop" / "orders.py")
    os.mkfifo(tree / "requirements.txt")
    (tree / "requirements-dev.txt").symlink_to("/dev/zero")
    graph = small_graph()
    graph.root = str(tree)
    (tmp_path / "graph.json").write_text(json.dumps(graph.to_dict()))
    (tmp_path / "plan.yaml").write_text(dump_plan(small_plan()))
    graph_file, plan = str(tmp_path / "graph.json"), str(tmp_path / "plan.yaml")
    done = cli("report", graph_file, "--plan", plan, "-f", "json", timeout=60)
    assert done.returncode == 0 and "shop/orders.py" in done.stdout, done.stderr
    done = cli("scaffold", graph_file, "--plan", plan, "-o", str(tmp_path / "out"), timeout=60)
    assert done.returncode == 0, done.stderr


def test_read_regular_bounds_size_and_refuses_links(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(FileError, match="larger than 1000 bytes"):
        read_regular(big, max_bytes=1000)
    assert read_regular(big, max_bytes=1001) == b"x" * 1001
    (tmp_path / "link").symlink_to(big)
    with pytest.raises(FileError, match="symbolic link"):
        read_regular(tmp_path / "link")
    assert read_regular(tmp_path / "link", root=tmp_path, max_bytes=2000) == b"x" * 1001
    with pytest.raises(FileError, match="leads out of"):
        read_regular(tmp_path / "link", root=tmp_path / "sub")


# -- reproduction 6: full-match route checks ----------------------------------------------------


@pytest.mark.parametrize("raw", ["/z\n$", "^/z\n$", "/a\n<int:id>", "/s\n/<id>$", "", "^$", "  "])
def test_newlines_and_empty_routes_are_unroutable(raw: str) -> None:
    with pytest.raises(UnroutableError):
        parse_path(raw)


def test_no_newline_reaches_nginx_or_the_ingress(tmp_path: Path) -> None:
    plan = small_plan(static_path="/s\n$")
    plan.services["orders"].routes = ["GET /z\n$", "GET /y/\n<int:id>"]
    for svc in plan.services.values():  # cut over: their routes reach nginx and the Ingress
        svc.cutover = "live"
    out = tmp_path / "out"
    scaffold(plan, small_graph("", "/x\n$"), out)
    ingress_paths = []
    for path in (out / "deploy").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Ingress":
                for rule in doc["spec"]["rules"]:
                    ingress_paths += [p["path"] for p in rule["http"]["paths"]]
    assert "/products" in ingress_paths
    assert all("\n" not in p for p in ingress_paths), ingress_paths
    assert "/" not in ingress_paths  # "" did not take the site root from the monolith
    for conf in (out / "gateway").glob("nginx*.conf"):
        text = conf.read_text()
        for line in text.splitlines():
            if line.strip().startswith("location"):
                assert line.rstrip().endswith("{"), (conf.name, line)  # no path cut by a newline
        assert "location = / {" not in text, conf.name  # "" did not take the site root


# -- reproduction 7: no write follows a link out of OUT ----------------------------------------


def test_run_does_not_write_through_a_link_in_out(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "report").symlink_to(elsewhere)
    done = cli("run", str(SHOP), "-o", str(out), "--no-cache", timeout=300)
    assert done.returncode == 2, done.stderr
    assert "report" in done.stderr and "Traceback" not in done.stderr
    assert list(elsewhere.iterdir()) == []


def test_atomic_write_refuses_links(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("mine\n")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(FileError, match="symbolic link"):
        atomic_write(tmp_path / "link", "theirs\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").symlink_to(tmp_path)
    with pytest.raises(FileError, match="symbolic link"):
        atomic_write(tmp_path / "out" / "sub" / "target", "theirs\n", root=tmp_path / "out")
    assert target.read_text() == "mine\n"


# -- reproduction 8: exit 2 and one line, never a traceback ------------------------------------

BASELINE = {
    "schema": "migrator.baseline",
    "version": 1,
    "level": "service",
    "components": {"catalog": {"instability": 0.5}},
    "edges": [],
    "cycles": [],
    "cycle_groups": [],
}
BAD_BASELINES = [
    {"components": {"cart": 5}},
    {"components": {"cart": {}}},
    {"components": {"cart": {"instability": "high"}}},
    {"components": {"cart": {"instability": True}}},
    {"components": []},
    {"edges": [["a", "b"]]},
    {"edges": [[1, 2, 3]]},
    {"edges": ["a->b"]},
    {"edges": {}},
    {"cycles": [None]},
    {"cycles": [[1]]},
    {"cycle_groups": [["a", 2]]},
    {"cycle_groups": 5},
    {"level": 5},
    {"level": None},
    {"version": "1"},
    {"schema": "other"},
]
BAD_TEXT = [
    b"[1, 2]",
    b"",
    b"{",
    b"\xff\xfe{}",
    b"[" * 100_000,
    b"null",
    b'{"schema": "migrator.baseline", "schema": "migrator.baseline"}',
]


@pytest.fixture
def report_inputs(tmp_path: Path) -> Path:
    (tmp_path / "graph.json").write_text(json.dumps(small_graph().to_dict()))
    (tmp_path / "plan.yaml").write_text(dump_plan(small_plan()))
    return tmp_path


@pytest.mark.parametrize(
    "content",
    [json.dumps({**BASELINE, **bad}).encode() for bad in BAD_BASELINES] + BAD_TEXT,
    ids=[f"fields{i}" for i in range(len(BAD_BASELINES))]
    + [f"text{i}" for i in range(len(BAD_TEXT))],
)
def test_malformed_baselines(report_inputs: Path, content: bytes) -> None:
    bad = report_inputs / "base.json"
    bad.write_bytes(content)
    res = CliRunner().invoke(
        main,
        [
            "report",
            str(report_inputs / "graph.json"),
            "--plan",
            str(report_inputs / "plan.yaml"),
            "--baseline",
            str(bad),
        ],
    )
    one_line_error(res, "base.json")


BAD_PLANS = [
    b"version: 1\nservices:\n  cart: {}\n  cart: {modules: [shop.orders]}\n",  # duplicate key
    b"version: 1\nservices: {cart: {routes: [1]}}\n",
    b"version: 1\nservices: {cart: {modules: shop.orders}}\n",
    b"version: 1\nservices: {cart: 5}\n",
    b"version: 1\nservices: {cart: {}}\nmeta: [1]\n",
    b"version: 1\nservices: {Cart: {}}\n",
    b"!!python/object/apply:os.system [id]\n",
    b"[" * 100_000,
    b"{a: " * 50_000,
    b"- " * 50_000,
    b"\xff\xfe",
    b"",
    b"\t\x00",
]


@pytest.mark.parametrize("content", BAD_PLANS, ids=[f"plan{i}" for i in range(len(BAD_PLANS))])
@pytest.mark.parametrize("command", ["scaffold", "report", "check"])
def test_malformed_plans(report_inputs: Path, content: bytes, command: str) -> None:
    bad = report_inputs / "bad-plan.yaml"
    bad.write_bytes(content)
    args = [command, str(report_inputs / "graph.json"), "--plan", str(bad)]
    if command == "scaffold":
        args += ["-o", str(report_inputs / "out")]
    one_line_error(CliRunner().invoke(main, args), "bad-plan.yaml")


def test_duplicate_keys_name_file_and_line(report_inputs: Path) -> None:
    plan = report_inputs / "dup.yaml"
    plan.write_text("version: 1\nservices:\n  cart: {}\n  orders: {}\n  cart: {}\n")
    line = one_line_error(
        CliRunner().invoke(main, ["check", str(report_inputs / "graph.json"), "--plan", str(plan)]),
        "dup.yaml",
    )
    assert "line 5" in line and "duplicate key 'cart'" in line
    base = report_inputs / "dup.json"
    base.write_text(
        json.dumps(BASELINE, indent=1).replace('"edges": []', '"edges": [],\n "cycles": []', 1)
    )
    line = one_line_error(
        CliRunner().invoke(
            main, ["report", str(report_inputs / "graph.json"), "--baseline", str(base)]
        ),
        "dup.json",
    )
    assert "dup.json:" in line and "duplicate key 'cycles'" in line


def test_output_errors(report_inputs: Path, tmp_path: Path) -> None:
    graph, plan = str(report_inputs / "graph.json"), str(report_inputs / "plan.yaml")
    runner = CliRunner()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    res = runner.invoke(main, ["scaffold", graph, "--plan", plan, "-o", str(tmp_path / "dangling")])
    one_line_error(res, "dangling")
    res = runner.invoke(main, ["report", graph, "-o", str(tmp_path / "dangling")])
    assert "symbolic link" in one_line_error(res, "dangling")
    assert not (tmp_path / "nowhere").exists()
    res = runner.invoke(
        main, ["scaffold", graph, "--plan", plan, "-o", str(tmp_path / "no" / "such" / "out")]
    )
    assert "does not exist" in one_line_error(res, "out")
    assert not (tmp_path / "no").exists()  # no parent created
    res = runner.invoke(main, ["report", graph, "-o", str(tmp_path / "a" / "b" / "r.md")])
    assert "does not exist" in one_line_error(res, str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write: chmod for a normal user; root ignores modes, so it
    gets sysfs (read-only in containers); skipped when neither works."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    candidates = [folder, Path("/sys")] if os.geteuid() == 0 else [folder]
    for candidate in candidates:
        try:
            (candidate / ".probe").mkdir()
        except OSError:
            return candidate
        (candidate / ".probe").rmdir()
    pytest.skip("no read-only folder available")


@pytest.mark.parametrize("command", ["scaffold", "report", "run"])
def test_read_only_output(report_inputs: Path, tmp_path: Path, command: str) -> None:
    ro = _read_only_folder(tmp_path)
    graph, plan = str(report_inputs / "graph.json"), str(report_inputs / "plan.yaml")
    args = {
        "scaffold": ["scaffold", graph, "--plan", plan, "-o", str(ro / "out")],
        "report": ["report", graph, "-o", str(ro / "r.md")],
        "run": ["run", str(SHOP), "-o", str(ro / "out"), "--no-cache"],
    }[command]
    one_line_error(CliRunner().invoke(main, args), str(ro))


def test_scaffold_on_a_folder_without_python(report_inputs: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(
        main,
        [
            "scaffold",
            str(empty),
            "--plan",
            str(report_inputs / "plan.yaml"),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    one_line_error(res, "empty")


# -- reproduction 9: one run at a time per OUT -------------------------------------------------


@pytest.mark.parametrize("command", ["scaffold", "run"])
def test_a_second_run_into_a_held_out_fails_at_once(inputs: Path, command: str) -> None:
    out = inputs / "out"
    out.mkdir()
    fd = os.open(out / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
    args = (
        (
            "scaffold",
            str(inputs / "graph.json"),
            "--plan",
            str(inputs / "plan.yaml"),
            "-o",
            str(out),
        )
        if command == "scaffold"
        else ("run", str(SHOP), "-o", str(out))
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running scaffold holds it
        held = cli(*args, timeout=60)
        assert held.returncode == 2 and "another migrator run" in held.stderr, held.stderr
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written
    finally:
        os.close(fd)
    free = cli(*args, timeout=300)
    assert free.returncode == 0, free.stderr
    assert (out / "compose.yaml").is_file()


# -- reproduction 10: a killed run's temporary files are removed by the next -------------------


def test_temporary_files_of_a_killed_run_are_cleaned(inputs: Path) -> None:
    out = inputs / "out"
    graph, plan = str(inputs / "graph.json"), str(inputs / "plan.yaml")
    assert cli("scaffold", graph, "--plan", plan, "-o", str(out)).returncode == 0
    killer = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[1]); "
        "from migrator.util import fs; "
        "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL); "
        "fs.atomic_write(sys.argv[2], 'half')"
    )
    target = out / "services" / "catalog" / "README.md"
    done = subprocess.run(
        [sys.executable, "-I", "-c", killer, str(REPO), str(target)], env=cli_env(), timeout=60
    )
    assert done.returncode == -9
    leftovers = [p for p in out.rglob("*.tmp")]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".README.md.")
    (out / ".notes.tmp").write_text("a user's file that only looks temporary\n")
    again = cli("scaffold", graph, "--plan", plan, "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert [p.name for p in out.rglob("*.tmp")] == [".notes.tmp"]
