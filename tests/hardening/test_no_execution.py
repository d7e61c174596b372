"""Nothing from the analysed code ever runs: booby-trapped modules leave no trace after
analyze, propose, scaffold, report and the whole ``migrator run`` job, in-process and through
the command line; and a hostile cache pack cannot make migrator unpickle code."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import migrator
from migrator.analysis import analyze_with_stats
from migrator.analysis.cache import MAGIC, FactsCache, _frame, cache_key
from migrator.analysis.facts import FACTS_VERSION

from .conftest import cli_env, migrator_cmd, run_cli, write_tree

PKG = "trapzq_shop"  # a name nothing else on this machine uses


def _trap(marker: Path, name: str) -> str:
    """Python that, if it ever runs, leaves ``marker/name`` behind."""
    return f"open({str(marker / name)!r}, 'w').write('ran')\n"


def booby_trapped(root: Path, marker: Path) -> Path:
    t = lambda name: _trap(marker, name)  # noqa: E731
    files = {
        f"{PKG}/__init__.py": t("package-init") + "from flask import Flask\napp = Flask(__name__)\n"
        f"from {PKG} import views\n",
        f"{PKG}/views.py": t("views") + f"from {PKG} import app\nfrom {PKG}.models import Order\n"
        "@app.route('/orders')\ndef orders():\n    return str(Order)\n",
        f"{PKG}/models.py": "import os\n"
        "class Meta(type):\n    def __new__(mcs, name, bases, ns):\n"
        f"        {t('metaclass').strip()}\n"
        "        return super().__new__(mcs, name, bases, ns)\n"
        "class Base(metaclass=Meta):\n"
        "    def __init_subclass__(cls, **kw):\n"
        f"        {t('init-subclass').strip()}\n"
        "class Order(Base):\n    __tablename__ = 'orders'\n",
        f"{PKG}/dynamic.py": "import importlib\n"
        f"importlib.import_module({PKG + '.payload'!r})\n"
        f"__import__({PKG + '.payload'!r})\n"
        f"eval({t('eval').strip()!r})\n"
        f"exec({t('exec').strip()!r})\n"
        f"compile({t('compile').strip()!r}, 'x', 'exec')\n"
        f"HANDLER = {PKG + '.payload:run'!r}\n"
        "import pickle\npickle.loads(b'cos\\nsystem\\n(S\"true\"\\ntR.')\n",
        f"{PKG}/payload.py": t("payload") + "def run():\n    pass\n",
        f"{PKG}/__main__.py": t("main"),
        # files Python itself would run if the tree were on sys.path or a site dir
        "zz-evil.pth": f"import os; {t('pth').strip()}\n",
        "sitecustomize.py": t("sitecustomize"),
        "usercustomize.py": t("usercustomize"),
        "conftest.py": t("conftest"),
        "setup.py": t("setup") + "from setuptools import setup\nsetup()\n",
        # migrator's own dependencies, shadowed in the analysed tree (the cwd of the CLI tests)
        "click.py": t("click"),
        "yaml.py": t("yaml"),
        "networkx.py": t("networkx"),
        "libcst/__init__.py": t("libcst"),
        "jinja2.py": t("jinja2"),
        "json.py": t("json"),
        "requirements.txt": "flask==3.0.3\n",
    }
    return write_tree(root, files)


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` but the cache folder (where commands may write by default)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".migrator-cache" not in p.parts:
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


@pytest.fixture
def trapped(tmp_path):
    marker = tmp_path / "markers"
    marker.mkdir()
    root = booby_trapped(tmp_path / "repo", marker)
    return root, marker


def test_nothing_runs_in_process(trapped, tmp_path) -> None:
    root, marker = trapped
    before_modules = set(sys.modules)
    before_tree = _snapshot(root)
    graph = migrator.analyze(root, cache_dir=tmp_path / "cache", jobs=2)
    assert f"{PKG}.views:orders" in graph.g  # the traps were analysed, not skipped
    assert any(r.path == "/orders" for r in graph.routes)
    assert graph.g.has_edge(f"{PKG}.dynamic", f"{PKG}.payload", key="dynamic")
    graph = migrator.analyze(root, cache_dir=tmp_path / "cache", jobs=1)  # from the cache
    plan = migrator.propose(graph)
    migrator.scaffold(plan, graph, tmp_path / "out")
    from migrator.reporting import FAIL_ON, render

    rep = migrator.report(graph, plan, cwd=str(root), fail_on=FAIL_ON)
    for fmt in ("text", "markdown", "json", "sarif", "junit", "html"):
        render(rep, fmt)
    assert sorted(os.listdir(marker)) == []
    assert _snapshot(root) == before_tree  # nothing written into the analysed tree
    new = set(sys.modules) - before_modules
    assert not {
        m
        for m in new
        if m.split(".")[0] in {PKG, "sitecustomize", "usercustomize", "conftest", "setup"}
    }
    for name in new:  # no module anywhere was loaded from the analysed tree
        file = getattr(sys.modules.get(name), "__file__", None) or ""
        assert not file.startswith(str(root)), name


@pytest.mark.slow
def test_nothing_runs_from_the_command_line(trapped, tmp_path) -> None:
    """All commands, run with the hostile tree as working directory."""
    root, marker = trapped
    before_tree = _snapshot(root)
    out, cache = tmp_path / "out", tmp_path / "cache"
    graph_file, plan_file = tmp_path / "graph.json", tmp_path / "plan.yaml"
    steps = [
        ("analyze", ".", "--cache-dir", str(cache), "-f", "json", "-o", str(graph_file)),
        ("propose", ".", "-o", str(plan_file)),
        ("scaffold", ".", "--graph", str(graph_file), "--plan", str(plan_file), "-o", str(out)),
        ("report", str(graph_file), "--plan", str(plan_file), "-f", "sarif"),
        ("run", ".", "-o", str(tmp_path / "run-out"), "--no-cache"),
    ]
    for args in steps:
        done = run_cli(*args, cwd=root)
        assert done.returncode in (0, 1), (args, done.stderr[-2000:])
    assert graph_file.is_file() and plan_file.is_file() and (out / "compose.yaml").is_file()
    assert sorted(os.listdir(marker)) == []
    assert _snapshot(root) == before_tree


@pytest.mark.skipif(shutil.which("migrator") is None, reason="console script not installed")
def test_console_script_in_a_hostile_working_directory(trapped, tmp_path) -> None:
    """The installed ``migrator`` command keeps the working directory off ``sys.path``, so a
    repository's ``click.py`` or ``yaml.py`` never replaces migrator's own dependencies."""
    root, marker = trapped
    env = cli_env()
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["migrator", "analyze", ".", "--no-cache", "-f", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'"{PKG}.views:orders"' in done.stdout
    assert sorted(os.listdir(marker)) == []


def _forged_pack(cache_dir: Path, payload: bytes, sign: bool = False) -> Path:
    """A pack with a valid header: a checksum anyone can compute, or (``sign``) even the
    user's own signature, as if the key had leaked: the payload is still never unpickled."""
    folder = cache_dir / f"facts-v{FACTS_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(payload).hexdigest()
    path = folder / f"{digest[:24]}.pack"
    path.write_bytes(
        _frame(b"facts", payload, cache_key())
        if sign
        else MAGIC + digest.encode() + b"\n" + payload
    )
    return path


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_committed_cache_pack_cannot_run_code(tmp_path) -> None:
    """A pull request can commit ``.migrator-cache/``: the default cache is elsewhere, and
    one named inside the tree is plain data, every file signed with a key outside it."""
    root = write_tree(tmp_path / "repo", {"app/__init__.py": "", "app/a.py": "import app\n"})
    marker = tmp_path / "pwned"
    cache = root / ".migrator-cache"
    for sign in (False, True):
        for payload in (
            pickle.dumps({"k": _Exploit(marker)}),
            pickle.dumps(_Exploit(marker)),
            b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.",
        ):
            pack = _forged_pack(cache, payload, sign)
            loaded = FactsCache(cache, cache_key())
            loaded.load()
            assert pack.name in loaded.corrupt and not pack.exists()
            assert not marker.exists()
            _forged_pack(cache, payload, sign)
            graph, graph_stats = analyze_with_stats(
                root, jobs=1
            )  # the default cache: not in the project
            assert graph.g.has_edge("app.a", "app", key="import")
            assert not graph_stats.cache_notes and not marker.exists()
            shutil.rmtree(cache / f"graph-v{FACTS_VERSION}", ignore_errors=True)  # packs read
            graph, graph_stats = analyze_with_stats(
                root, jobs=1, cache_dir=cache
            )  # asked for: verified
            assert graph.g.has_edge("app.a", "app", key="import")
            assert any("discarded" in n for n in graph_stats.cache_notes)
            assert not marker.exists()
    # and through the command line, with the graph cache poisoned as well
    _forged_pack(cache, pickle.dumps({"k": _Exploit(marker)}))
    graphs = cache / f"graph-v{FACTS_VERSION}"
    graphs.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps(_Exploit(marker))
    for key in ("0" * 32, "f" * 32):
        (graphs / f"{key}.graph").write_bytes(_frame(b"graph", payload, cache_key()))
    for extra in ((), ("--cache-dir", str(cache))):
        done = subprocess.run(
            migrator_cmd("analyze", str(root), "-f", "json", *extra),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env=cli_env(),
        )
        assert done.returncode == 0, done.stderr
        assert not marker.exists()


NETGUARD = Path(__file__).resolve().parent / "netguard"

#: analyze (two forked parser workers), propose, scaffold and report, in a process of its own
#: that has the network guard; argv: analysed tree, output folder, and "phone-home" to make
#: the parser workers try a connection (the negative control)
_OFFLINE_STAGES = """
import os, sys
assert sys.modules["sitecustomize"].__file__.startswith(sys.argv[4]), "the guard is not loaded"
print(os.getpid(), flush=True)
root, out = sys.argv[1], sys.argv[2]
if sys.argv[3] == "phone-home":
    import socket
    from migrator.analysis import parse
    real = parse.analyse_source
    def analyse(work):
        if b"flask" in work[4]:
            try:
                socket.create_connection(("127.0.0.1", 9), timeout=1).close()
            except OSError:
                pass  # a worker that hides the refusal: the record still shows it
        return real(work)
    parse.analyse_source = analyse
import migrator
from migrator.analysis import analyze_with_stats
from migrator.reporting import render
graph, graph_stats = analyze_with_stats(root, cache_dir=os.path.join(out, "cache"), jobs=2)
assert graph_stats.parsed, "nothing was parsed by the workers"
plan = migrator.propose(graph)
migrator.scaffold(plan, graph, os.path.join(out, "scaffold"))
rep = migrator.report(graph, plan, cwd=root)
for fmt in ("text", "markdown", "json", "sarif", "junit", "html"):
    render(rep, fmt)
"""


def offline_stages(root: Path, out: Path, mode: str = "") -> tuple[int, list[str]]:
    """Run the offline stages with the network guard in every process: the pid of the process
    that ran them and the attempts recorded (``PID WHAT DETAIL``) by it or any process it
    started or forked."""
    log = out / "network-attempts.log"
    env = cli_env(MIGRATOR_TEST_NETLOG=str(log), MIGRATOR_RESIDENT_PARSER="0")
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD), env["PYTHONPATH"]])
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_STAGES, str(root), str(out), mode or "-", str(NETGUARD)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    attempts = log.read_text().splitlines() if log.exists() else []
    return int(done.stdout.split()[0]), attempts


def test_no_network(trapped, tmp_path) -> None:
    """analyze, propose, scaffold and report open no connection and resolve no name, in the
    process that runs them or in any parser process it forks (the guard is in each)."""
    root, _ = trapped
    (tmp_path / "run").mkdir()
    _, attempts = offline_stages(root, tmp_path / "run")
    assert attempts == []


def test_the_network_guard_sees_a_parser_worker_connect(trapped, tmp_path) -> None:
    """The negative control: parser workers that try a connection (and swallow the refusal)
    are on record, by their own pids, not the pid of the process that started them."""
    root, _ = trapped
    (tmp_path / "run").mkdir()
    parent, attempts = offline_stages(root, tmp_path / "run", "phone-home")
    assert attempts, "a worker's connection attempt went unseen"
    pids = {int(line.split()[0]) for line in attempts}
    assert parent not in pids
    assert all(
        " create_connection " in line or " getaddrinfo " in line or " connect " in line
        for line in attempts
    ), attempts
