"""The first parser process guesses the changed files from the last run's record
(``cache.Guess``) and parses them before the main process has found them (``isolate.Parser``).
A guess may only ever save time: wrong, stale, hostile or crashing guesses must still give
exactly the facts an ordinary parse gives."""

from __future__ import annotations

import ctypes
import faulthandler
import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.analysis import analyze, analyze_with_stats
from migrator.analysis.cache import Guess, _frame, cache_key
from migrator.analysis.facts import WorkItem
from migrator.analysis.formats import render
from migrator.analysis.isolate import CRASH_CODE, Parser

from .helpers import finishes, write_tree

FILES = {
    f"proj/pkg/m{i}.py": f"from pkg import m{(i + 1) % 10}\n\n\ndef f{i}():\n"
    f"    return m{(i + 1) % 10}.f{(i + 1) % 10}\n"
    for i in range(10)
}
FILES["proj/pkg/__init__.py"] = ""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tree(tmp_path, FILES)
    return tmp_path / "proj"


def guess_of(project: Path, cache: Path, plugins: bool = True) -> Guess:
    return Guess(cache, cache_key(), project.resolve(), plugins)


def plant(guess: Guess, content: str, signed: bool) -> None:
    """Guess with ``content``: as a forger without the key writes them, or signed (as a run
    of another version, or someone holding the key, could)."""
    guess.path.parent.mkdir(parents=True, exist_ok=True)
    if signed:
        guess.path.write_bytes(_frame(b"guess", content.encode(), cache_key()))
    else:
        guess.path.write_text(content)


def item(project: Path, rel: str, module: str, plugins: bool = True) -> WorkItem:
    data = (project / rel).read_bytes()
    return WorkItem(rel, module, False, hashlib.sha256(data).hexdigest(), data, plugins)


def edit(path: Path, text: str) -> None:
    path.write_text(text)
    st = path.stat()  # a new mtime even on file systems with coarse timestamps
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


# -- the guess ---------------------------------------------------------------------------------


def test_the_guess_names_exactly_the_files_whose_content_changed(
    project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=1)
    guess = guess_of(project, cache)
    assert guess.path.is_file() and guess.items() == []

    edit(project / "pkg/m3.py", "X = 3\n")
    (project / "pkg/m4.py").touch()  # a new mtime, the same bytes: nothing to parse
    os.utime(project / "pkg/m4.py", ns=(1, 1))
    (project / "pkg/m5.py").unlink()  # gone: nothing to parse either
    assert guess.items() == [item(project, "pkg/m3.py", "pkg.m3")]
    # the record of a run without plug-ins are another file, and the items say so
    assert guess_of(project, cache, plugins=False).items() == []


def test_the_guess_gives_up_when_too_many_files_changed(project: Path, tmp_path: Path) -> None:
    """A checkout or a rebase changes many files: the ordinary parallel parse is better."""
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=1)
    for i in range(Guess.MOST):
        edit(project / f"pkg/m{i}.py", f"X = {i}\n")
    assert len(guess_of(project, cache).items()) == Guess.MOST
    edit(project / "pkg/m9.py", "X = 9\n")
    assert guess_of(project, cache).items() == []


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"version": 99}',
        '{"version": 2, "root": "/elsewhere", "files": []}',
    ],
)
def test_an_unusable_record_guesses_nothing(
    project: Path, tmp_path: Path, content: str, signed: bool
) -> None:
    guess = guess_of(project, tmp_path / "cache")
    plant(guess, content, signed)
    assert guess.items() == []


def test_an_unsigned_record_is_refused(project: Path, tmp_path: Path) -> None:
    """Guess that would be used if signed are ignored when they are not."""
    guess = guess_of(project, tmp_path / "cache")
    edit(project / "pkg/m1.py", "X = 1\n")
    text = json.dumps(
        {
            "version": Guess.VERSION,
            "root": str(project.resolve()),
            "plugins": True,
            "files": [["pkg/m1.py", "pkg.m1", False, 0, 0, "0" * 64]],
        }
    )
    plant(guess, text, signed=False)
    assert guess.items() == []
    plant(guess, text, signed=True)
    assert [i[0] for i in guess.items()] == ["pkg/m1.py"]


def test_the_guess_never_reaches_outside_the_project(project: Path, tmp_path: Path) -> None:
    """A repository may commit its own cache directory: a record naming files outside the
    project are skipped, not read."""
    outside = tmp_path / "secret.py"
    outside.write_text("TOKEN = 1\n")
    guess = guess_of(project, tmp_path / "cache")
    rows = [
        [rel, "x", False, 0, 0, "0" * 64]
        for rel in ("../secret.py", str(outside), "pkg/../../secret.py")
    ]
    rows.append(["pkg/m1.py", "pkg.m1", False, 0, 0, "0" * 64])
    plant(
        guess,
        json.dumps(
            {
                "version": Guess.VERSION,
                "root": str(project.resolve()),
                "plugins": True,
                "files": rows,
            }
        ),
        signed=True,
    )
    assert [i[0] for i in guess.items()] == ["pkg/m1.py"]


# -- the parser ---------------------------------------------------------------------------------


def segfault() -> None:
    faulthandler.disable()  # the crash is expected: no traceback dump
    ctypes.string_at(0)  # a real, synchronous SIGSEGV in the parsing thread


def misbehave_on(
    marker: bytes, action: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Make the parser processes (forked later) run ``action`` on files containing ``marker``."""
    module = importlib.import_module("migrator.analysis.parse")  # what the worker imports
    real = module.analyse_source

    def analyse(work: tuple) -> object:
        if marker in work[4]:
            action()
        return real(work)

    monkeypatch.setattr(module, "analyse_source", analyse)


def parse_plainly(items: list[tuple]) -> list:
    with Parser(1) as parser:
        parser.submit(items)
        return parser.results()


def test_guessed_facts_are_the_facts_of_an_ordinary_parse(project: Path) -> None:
    items = [item(project, f"pkg/m{i}.py", f"pkg.m{i}") for i in range(4)]
    with Parser(2, prestart=1, guess=lambda: [items[2], items[0]]) as parser:
        parser.submit(items)
        got = parser.results()
        assert parser.guessed == 2
    assert got == parse_plainly(items)


def test_a_guess_that_was_not_needed_costs_nothing_but_time(project: Path) -> None:
    """The first worker guessed a file whose facts the cache already has: it is stopped, and
    the items submitted are parsed by others."""
    wanted = [item(project, "pkg/m1.py", "pkg.m1")]
    unwanted = item(project, "pkg/m2.py", "pkg.m2")
    with Parser(2, prestart=1, guess=lambda: [unwanted]) as parser:
        parser.submit(wanted)
        assert parser.guessed == 0
        assert parser.results() == parse_plainly(wanted)


def test_a_guess_that_raises_leaves_an_ordinary_worker(project: Path) -> None:
    def broken() -> list:
        raise RuntimeError("no guess")

    items = [item(project, "pkg/m1.py", "pkg.m1")]
    with Parser(2, prestart=1, guess=broken) as parser:
        parser.submit(items)
        assert parser.guessed == 0
        assert parser.results() == parse_plainly(items)


def test_a_crash_while_guessing_is_blamed_on_the_file_that_crashes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first worker parses its guesses before it is asked, so when it dies nobody knows
    which of them it was on: all go to a fresh worker, which finds the culprit."""
    misbehave_on(b"BOOM", segfault, monkeypatch)
    (project / "pkg/m5.py").write_text("BOOM = 1\n")
    items = [item(project, f"pkg/m{i}.py", f"pkg.m{i}") for i in (1, 5, 6)]
    with Parser(2, prestart=1, guess=lambda: items[:2]) as parser:
        parser.submit(items)
        got = parser.results()
    assert [d.code for d in got[1].diagnostics] == [CRASH_CODE]
    assert not got[0].diagnostics and not got[2].diagnostics
    assert [f.symbols[0].name for f in (got[0], got[2])] == ["f1", "f6"]


# -- the whole run -------------------------------------------------------------------------------


def test_an_edit_is_parsed_by_the_first_worker_and_the_graph_is_exact(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # the first worker needs a second core
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache)
    edit(project / "pkg/m3.py", "from pkg import m7\n\n\ndef g():\n    return m7.f7()\n")
    graph, graph_stats = analyze_with_stats(project, cache_dir=cache)
    assert (graph_stats.parsed, graph_stats.guessed, graph_stats.resolution) == (
        1,
        1,
        "incremental",
    )
    assert graph.g.has_edge("pkg.m3:g", "pkg.m7:f7", key="reference")
    assert render(graph, "json") == render(analyze(project, use_cache=False), "json")


def test_a_run_records_for_the_next_guess_only_after_its_first_parser_process_read_the_last_ones(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written earlier, the record would tell a parser process that is slow to start (a loaded
    machine, a tiny project that the main process hashes in a few milliseconds) that nothing
    changed: it would guess nothing, and the edit would wait for an ordinary parse."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache)
    real = Guess.items

    def slow(self: Guess) -> list:
        time.sleep(0.5)
        return real(self)

    monkeypatch.setattr(Guess, "items", slow)  # the forked parser process inherits it
    edit(project / "pkg/m3.py", "X = 3\n")
    assert analyze_with_stats(project, cache_dir=cache)[1].guessed == 1
    assert guess_of(project, cache).items() == []  # and this run's record was written


def test_parser_processes_never_load_networkx() -> None:
    """The first parser process is forked before the main process loads networkx (a fifth
    of a second), so that it starts on libcst that much sooner; nothing it runs may need it."""
    code = (
        "import sys\nfrom migrator.analysis import isolate, parse\n"
        "isolate._load_parser()\n"
        "print(type(sys.modules['networkx']).__name__)\n"
        "from migrator.graph import DependencyGraph\nDependencyGraph()\n"
        "print(type(sys.modules['networkx']).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["_LazyModule", "module"]


def test_a_run_with_nothing_cached_starts_all_its_parser_processes_at_once(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They load libcst while the main process finds the files; a run that reuses facts has
    a file or two to parse and starts one; one core starts none (it would only compete)."""
    import migrator.analysis.engine

    started: list[int] = []

    class Recording(Parser):
        def __init__(self, *args: object, prestart: int = 0, **kwargs: object) -> None:
            started.append(prestart)
            super().__init__(*args, prestart=prestart, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(migrator.analysis.engine, "Parser", Recording)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=4)
    edit(project / "pkg/m1.py", "X = 1\n")
    analyze(project, cache_dir=cache, jobs=4)
    analyze(project, use_cache=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    analyze(project, use_cache=False)
    assert started == [2, 1, 2, 0]


# -- a first run: the zygote ---------------------------------------------------------------------


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _exists(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _all_gone(pids: list[int], within: float = 5.0) -> bool:
    """Whether every process in ``pids`` has ended (or does within ``within`` seconds: a
    SIGKILL is delivered, not awaited, when nobody is left to report the death)."""
    deadline = time.monotonic() + within
    while any(_exists(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_first_runs_workers_come_from_one_zygote_and_leave_nothing_behind(project: Path) -> None:
    items = [item(project, f"pkg/m{i}.py", f"pkg.m{i}") for i in range(10)]
    with Parser(2, prestart=2) as parser:
        zygote = parser._zygote.process.pid  # type: ignore[union-attr]
        assert _parent_of(zygote) == os.getpid()
        parser.submit(items)
        assert parser.results() == parse_plainly(items)
        workers = [w.process.pid for w in parser.workers]
        assert len(set(workers)) == 2 and all(_parent_of(p) == zygote for p in workers)
    assert not any(_exists(p) for p in [zygote, *workers])


def test_a_crash_in_a_worker_of_the_zygote_names_the_signal(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zygote, not this process, is the workers' parent: it reports how each one ended."""
    misbehave_on(b"BOOM", segfault, monkeypatch)
    (project / "pkg/m5.py").write_text("BOOM = 1\n")
    items = [item(project, f"pkg/m{i}.py", f"pkg.m{i}") for i in range(10)]
    with Parser(2, prestart=2) as parser:
        parser.submit(items)
        got = parser.results()
    assert [(d.code, "SIGSEGV" in d.message) for d in got[5].diagnostics] == [(CRASH_CODE, True)]
    assert [f.symbols[0].name for i, f in enumerate(got) if i != 5] == [
        f"f{i}" for i in range(10) if i != 5
    ]


def test_a_worker_of_the_zygote_over_the_time_limit_is_killed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    misbehave_on(b"SLOW", lambda: time.sleep(60), monkeypatch)
    (project / "pkg/m2.py").write_text("SLOW = 1\n")
    items = [item(project, f"pkg/m{i}.py", f"pkg.m{i}") for i in range(10)]

    def run() -> list:
        with Parser(2, time_limit=5.0, prestart=2) as parser:  # its clock starts as libcst loads
            parser.submit(items)
            return parser.results()

    got = finishes(run, seconds=50)  # the stuck worker would sleep for 60
    assert [d.code for d in got[2].diagnostics] == ["time-limit"]
    assert sum(1 for f in got if f.symbols) == 9


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_whose_zygote_died_are_still_stopped(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody reports on them any more: the time limit and ``close`` must still reach them."""
    misbehave_on(b"SLOW", lambda: time.sleep(60), monkeypatch)
    (project / "pkg/m2.py").write_text("SLOW = 1\n")
    items = [item(project, f"pkg/m{i}.py", f"pkg.m{i}") for i in range(10)]
    with Parser(2, time_limit=5.0, prestart=2) as parser:
        workers = [w.process.pid for w in parser.workers]
        parser._zygote.process.kill()  # type: ignore[union-attr]
        parser.submit(items)
        got = parser.results()
    assert [d.code for d in got[2].diagnostics] == ["time-limit"]
    assert sum(1 for f in got if f.symbols) == 9
    assert _all_gone(workers)


_KILLED_RUN = """
import os, signal, sys
from migrator.analysis.facts import WorkItem
from migrator.analysis.isolate import Parser
items = [WorkItem(f"m{i}.py", f"m{i}", False, "0" * 64, b"X = 1\\n" * 400, True)
         for i in range(80)]
parser = Parser(2, prestart=int(sys.argv[1]))
parser.submit(items)
parser.results()
pids = [w.process.pid for w in parser.workers]
if parser._zygote is not None:
    pids.append(parser._zygote.process.pid)
print(*pids, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no handler, no close: the workers must notice alone
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("prestart", [0, 2], ids=["forked-here", "zygote"])
def test_a_run_killed_outright_leaves_no_parser_process_behind(prestart: int) -> None:
    """A worker waiting for work learns that the run is gone when its pipe closes, which it
    does only if no other process (a sibling, the zygote, the worker itself) holds the run's
    end of it."""
    env = dict(os.environ, MIGRATOR_RESIDENT_PARSER="0")
    run = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(prestart)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )  # leftovers would hold it open:
    pids = [int(p) for p in run.stdout.readline().split()]  # type: ignore[union-attr]
    run.wait(timeout=120)  # so read one line, never to the end
    run.stdout.close()  # type: ignore[union-attr]
    try:
        assert len(pids) == (3 if prestart else 2)
        assert _all_gone(pids, within=10.0)
    finally:
        for pid in pids:  # whatever the outcome, leave nothing running
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def test_a_parser_closed_before_any_work_stops_its_zygote_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed while it still loads the parser, not waited for. (Loading is made to take a
    minute: on a quick machine the zygote could otherwise be done loading, fork its workers
    and leave on its own once they are stopped, and there would be nothing to wait for.)"""
    from migrator.analysis import isolate

    monkeypatch.setattr(isolate, "_load_parser", lambda: time.sleep(60))
    parser = Parser(2, prestart=2)
    zygote = parser._zygote.process  # type: ignore[union-attr]
    finishes(parser.close, 30)
    assert not zygote.is_alive() and zygote.exitcode == -signal.SIGKILL


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core starts no zygote")
def test_a_first_run_never_loads_libcst_in_the_main_process(project: Path) -> None:
    """The zygote loads it while the main process prepares: loading it here as well would
    cost the fifth of a second the zygote exists to save."""
    code = (
        "import sys\nfrom migrator.analysis import analyze\n"
        f"g = analyze({str(project)!r}, use_cache=False)\n"
        "print(len(g.modules()), *(type(sys.modules[m]).__name__\n"
        "                          for m in ('libcst', 'networkx')))\n"
    )
    env = dict(os.environ, MIGRATOR_RESIDENT_PARSER="0")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    ).stdout.split()
    assert out == ["11", "_LazyModule", "module"]
