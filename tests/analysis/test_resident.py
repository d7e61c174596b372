"""The resident parser (``migrator.analysis.resident``): a run leaves its first parser process
behind, and the next run hands it the edited files. Each test uses a private socket directory
of its own and stops every resident it started."""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing import Pipe
from pathlib import Path

import pytest

from migrator.analysis import analyze, analyze_with_stats, resident
from migrator.analysis.cache import code_signature
from migrator.analysis.formats import render
from migrator.analysis.isolate import Parser

from .helpers import finishes, forked_processes_end, write_tree

FILES = {
    f"proj/pkg/m{i}.py": f"from pkg import m{(i + 1) % 6}\n\n\ndef f{i}():\n"
    f"    return m{(i + 1) % 6}.f{(i + 1) % 6}\n"
    for i in range(6)
}
FILES["proj/pkg/__init__.py"] = ""

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="resident parsers need fork")


def wait_for(condition, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


def resident_pid(path: str) -> int | None:
    found = resident.connect(path)
    if found is None:
        return None
    found[1].close()
    return found[0].pid


def stop(path: str) -> None:
    pid = resident_pid(path)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def private(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A socket directory for this test only (short: Unix socket paths are limited), residents
    that give up after 20 s even if a test fails to stop them, a patient wait for a resident's
    answer (a loaded test machine may take longer than a user's 0.1 s), and two cores."""
    base = Path(tempfile.mkdtemp(prefix="mr-"))
    base.chmod(0o700)
    monkeypatch.setattr(resident, "_private_dir", lambda: base)
    monkeypatch.setattr(resident, "IDLE_SECONDS", 20.0)
    monkeypatch.setattr(resident, "CONNECT_SECONDS", 3.0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # residents go with the first worker
    monkeypatch.setenv(resident.ENVIRONMENT, "1")  # the tests' default (conftest.py) is none
    yield base
    for sock in base.glob("*.sock"):
        stop(str(sock))
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tree(tmp_path, FILES)
    return tmp_path / "proj"


def the_address() -> str:
    path = resident.address(code_signature())
    assert path is not None
    return path


def edit(path: Path, text: str) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


def test_a_run_leaves_a_resident_that_parses_the_next_runs_edit(
    private: Path, project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first, first_stats = analyze_with_stats(project, cache_dir=cache)
    assert not first_stats.resident
    assert wait_for(lambda: resident_pid(the_address()) is not None)
    pid = resident_pid(the_address())

    edit(project / "pkg/m2.py", "from pkg import m4\n\n\ndef g():\n    return m4.f4()\n")
    second, second_stats = analyze_with_stats(project, cache_dir=cache)
    assert (second_stats.resident, second_stats.guessed, second_stats.parsed) == (True, 1, 1)
    assert second.g.has_edge("pkg.m2:g", "pkg.m4:f4", key="reference")
    assert render(second, "json") == render(analyze(project, use_cache=False), "json")
    # it served the run and is still there, the same process, for the next one
    assert wait_for(lambda: resident_pid(the_address()) == pid)
    assert len(list(private.glob("*.sock"))) == 1


def test_without_resident_a_run_leaves_nothing(
    private: Path, project: Path, tmp_path: Path
) -> None:
    with forked_processes_end():  # every parser process is gone: none can bind one later
        analyze(project, cache_dir=tmp_path / "cache")
    assert not list(private.glob("*.sock"))


def test_the_watch_on_forked_processes_sees_a_resident(
    private: Path, project: Path, tmp_path: Path
) -> None:
    """What makes this module's absence checks mean something: a resident forked in the block
    keeps it from ending."""
    with pytest.raises(AssertionError, match="still runs"):
        with forked_processes_end(seconds=3.0):
            analyze(project, cache_dir=tmp_path / "cache")
    assert wait_for(lambda: resident_pid(the_address()) is not None)  # it idles for 20 s


def test_a_resident_gives_up_when_idle(
    private: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resident, "IDLE_SECONDS", 0.5)
    analyze(project, cache_dir=tmp_path / "cache")
    assert wait_for(lambda: Path(the_address()).exists())
    assert wait_for(lambda: not Path(the_address()).exists())
    assert resident_pid(the_address()) is None


def test_a_busy_resident_is_not_waited_for(
    private: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache)
    assert wait_for(lambda: resident_pid(the_address()) is not None)
    held = resident.connect(the_address())  # another run's session, still open
    assert held is not None
    monkeypatch.setattr(resident, "CONNECT_SECONDS", 0.2)
    try:
        edit(project / "pkg/m1.py", "X = 1\n")
        # waiting for the resident would wait for ``held``, closed only after this returns
        graph, graph_stats = finishes(lambda: analyze_with_stats(project, cache_dir=cache))
        assert not graph_stats.resident and graph_stats.parsed == 1
        assert graph.g.has_node("pkg.m1:X")
    finally:
        held[1].close()


def test_a_resident_that_crashes_costs_only_the_file_it_crashed_on(
    private: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module("migrator.analysis.parse")  # what the resident runs
    real = module.analyse_source

    def crashing(work: tuple) -> object:
        if b"BOOM" in work[4]:
            faulthandler.disable()  # the crash is expected: no traceback dump
            ctypes.string_at(0)  # a real, synchronous SIGSEGV
        return real(work)

    monkeypatch.setattr(module, "analyse_source", crashing)
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache)
    assert wait_for(lambda: resident_pid(the_address()) is not None)
    edit(project / "pkg/m3.py", "BOOM = 3\n")
    edit(project / "pkg/m4.py", "Y = 4\n")
    graph, graph_stats = analyze_with_stats(project, cache_dir=cache)
    assert graph_stats.resident and graph_stats.guessed == 2
    crashed = [(d.file, d.code) for d in graph.diagnostics]
    assert crashed == [("pkg/m3.py", "parser-crash")]
    assert graph.g.has_node("pkg.m4:Y")
    # the next run has no resident to use, parses without one and leaves a new one
    edit(project / "pkg/m5.py", "Z = 5\n")
    after, after_stats = analyze_with_stats(project, cache_dir=cache)
    assert not after_stats.resident and after.g.has_node("pkg.m5:Z")
    assert wait_for(lambda: resident_pid(the_address()) is not None)


def test_a_killed_residents_socket_is_replaced(
    private: Path, project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache)
    assert wait_for(lambda: resident_pid(the_address()) is not None)
    old = resident_pid(the_address())
    assert old is not None
    os.kill(old, signal.SIGKILL)
    assert wait_for(lambda: resident_pid(the_address()) is None)
    assert Path(the_address()).exists()  # the socket file stays behind

    edit(project / "pkg/m1.py", "X = 1\n")
    graph, graph_stats = analyze_with_stats(project, cache_dir=cache)
    assert not graph_stats.resident and graph.g.has_node("pkg.m1:X")
    assert wait_for(lambda: resident_pid(the_address()) not in (None, old))


def test_one_resident_per_socket(private: Path) -> None:
    path = str(private / "one.sock")
    first = resident.linger(path, lambda conn: None, Pipe()[0])
    second = resident.linger(path, lambda conn: None, Pipe()[0])
    assert first and second and first != second
    assert wait_for(lambda: resident_pid(path) in (first, second))
    winner = resident_pid(path)
    loser = second if winner == first else first
    assert wait_for(lambda: not _alive(loser))  # it found the socket taken and left
    assert resident_pid(path) == winner


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def test_only_a_private_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="mr-"))  # short: Unix socket paths are limited
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    request.addfinalizer(lambda: shutil.rmtree(runtime, ignore_errors=True))
    made = resident.address("sig")
    assert made is not None and Path(made).parent == runtime / "migrator"
    assert (runtime / "migrator").stat().st_mode & 0o777 == 0o700
    assert resident.address("sig") == made and resident.address("other") != made
    (runtime / "migrator").chmod(0o777)  # anyone could put a socket there
    assert resident.address("sig") is None
    (runtime / "migrator").rmdir()
    (runtime / "migrator").symlink_to(tmp_path)
    assert resident.address("sig") is None
    assert resident.address("sig", tmp_path / ("x" * 120)) is None  # too long for a socket


def test_the_command_line_leaves_a_detached_resident_unless_told_not_to(
    project: Path, tmp_path: Path
) -> None:
    """The run returns while its resident lives on: the resident holds none of the run's
    pipes (``capture_output`` would wait for them). ``MIGRATOR_RESIDENT_PARSER=0`` leaves
    none."""
    runtime = Path(tempfile.mkdtemp(prefix="mr-"))
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    cmd = [
        sys.executable,
        "-m",
        "migrator",
        "analyze",
        str(project),
        "--cache-dir",
        str(tmp_path / "cache"),
        "-f",
        "json",
    ]
    with forked_processes_end() as watched:  # the run and every process it forked are gone
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=60,
            pass_fds=[watched],
            env={**env, "MIGRATOR_RESIDENT_PARSER": "0"},
        )
    assert done.returncode == 0, done.stderr
    assert not list(runtime.glob("migrator/*.sock"))
    if (os.cpu_count() or 1) < 2:
        pytest.skip("the first parser process (and so a resident) needs a second core")
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "MIGRATOR_RESIDENT_PARSER": "1"},
    )
    assert done.returncode == 0, done.stderr
    try:
        assert wait_for(lambda: any(resident_pid(str(s)) for s in runtime.glob("migrator/*.sock")))
    finally:
        for sock in runtime.glob("migrator/*.sock"):
            stop(str(sock))
        shutil.rmtree(runtime, ignore_errors=True)


def test_no_cache_means_no_resident(private: Path, project: Path) -> None:
    """``--no-cache`` promises no state left between runs: no resident either."""
    with forked_processes_end():
        analyze(project, use_cache=False)
    assert not list(private.glob("*.sock"))


@pytest.mark.parametrize("setting", ["0", "1"])
def test_the_environment_decides_the_resident(
    private: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """There is no option: the engine asks for a resident parser unless
    ``MIGRATOR_RESIDENT_PARSER=0``, on a first run (a zygote) and after an edit alike."""
    import migrator.analysis.engine

    asked: list[str | None] = []

    class Recording(Parser):
        def __init__(self, *args: object, resident_at: str | None = None, **kw: object) -> None:
            asked.append(resident_at)
            super().__init__(*args, resident_at=resident_at, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(migrator.analysis.engine, "Parser", Recording)
    monkeypatch.setenv(resident.ENVIRONMENT, setting)
    analyze(project, cache_dir=tmp_path / "cache")
    edit(project / "pkg" / "m1.py", "X = 2\n")
    analyze(project, cache_dir=tmp_path / "cache")
    assert asked == ([None, None] if setting == "0" else [the_address(), the_address()])


def test_a_library_call_leaves_no_resident_unless_asked(
    private: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analyze()`` from Python leaves no process behind by default; the command line keeps
    one warm unless ``MIGRATOR_RESIDENT_PARSER=0``."""
    from click.testing import CliRunner

    from migrator.cli import main

    monkeypatch.delenv(resident.ENVIRONMENT, raising=False)
    assert not resident.wanted()
    analyze(project, cache_dir=tmp_path / "cache")
    assert not list(private.glob("*.sock"))
    monkeypatch.delenv(resident.ENVIRONMENT, raising=False)
    CliRunner().invoke(main, ["analyze", "--help"])
    assert resident.wanted()
    monkeypatch.setenv(resident.ENVIRONMENT, "0")
    CliRunner().invoke(main, ["analyze", "--help"])
    assert not resident.wanted()


def test_an_interrupted_run_leaves_no_resident(
    private: Path, project: Path, tmp_path: Path
) -> None:
    """Ctrl-C means stop: the run's parser processes end with it (here it comes when every
    file is parsed and the first parser process is idle, ready to stay)."""

    def interrupt(done: int, total: int) -> None:
        if done == total:
            raise KeyboardInterrupt

    with forked_processes_end(), pytest.raises(KeyboardInterrupt):
        analyze(project, cache_dir=tmp_path / "cache", progress=interrupt)
    assert not list(private.glob("*.sock"))
    analyze(project, cache_dir=tmp_path / "cache")  # and a run that ends does
    assert wait_for(lambda: resident_pid(the_address()) is not None)


def test_a_terminated_resident_removes_its_socket(
    private: Path, project: Path, tmp_path: Path
) -> None:
    analyze(project, cache_dir=tmp_path / "cache")
    assert wait_for(lambda: resident_pid(the_address()) is not None)
    os.kill(resident_pid(the_address()), signal.SIGTERM)  # type: ignore[arg-type]
    assert wait_for(lambda: not Path(the_address()).exists())


def test_a_child_closes_what_its_parent_held_but_not_a_number_reused_since() -> None:
    """A parser process closes every descriptor the run held when it was forked. Starting a
    process reaps finished ones and closes their pipes, so the fork's own sentinel pipe may
    take a number on that list: closing it made the worker look dead to the run, which then
    waited forever for a process that was waiting for work."""
    held_r, held_w = os.pipe()
    gone_r, gone_w = os.pipe()
    held = resident.open_fds()
    assert {held_w, gone_w} <= set(held)
    os.close(gone_r)
    os.close(gone_w)
    new_r, new_w = os.pipe()  # the lowest free numbers: the ones just freed
    assert new_w in held
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            resident.close_fds(held)
            os.write(new_w, b"alive")
            try:
                os.write(held_w, b"held")
            except OSError:
                code = 0  # closed, as it should be
        finally:
            os._exit(code)
    os.close(new_w)
    os.close(held_w)
    try:
        assert os.read(new_r, 5) == b"alive"
        assert os.waitpid(pid, 0)[1] == 0
        assert os.read(held_r, 4) == b""  # nobody holds its writing end any more
    finally:
        os.close(new_r)
        os.close(held_r)
