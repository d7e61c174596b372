"""Crashed, interrupted and starved runs: a SIGINT or SIGTERM in the middle of ``migrator
analyze``, a full disk, a corrupted cache. None may leave a half-written file, a corrupted
cache, or parser processes behind; the next run gives the same output as a clean one."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import migrator.analysis.cache as cache_mod
from migrator.analysis import analyze, analyze_with_stats
from migrator.analysis.cache import FactsCache, cache_key
from migrator.util import fs

from .conftest import cli_env, generated_tree, migrator_cmd, run_cli


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """1,500 files (about 6 s of parsing on one core) and the clean, cache-free output."""
    root = generated_tree(tmp_path_factory.mktemp("big") / "proj", 1_500)
    clean = run_cli("analyze", str(root), "--no-cache", "-f", "json")
    assert clean.returncode == 0, clean.stderr
    return root, clean.stdout


def _temp_files(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.rglob("*") if p.name.endswith(".tmp")]


def _our_processes(marker: str) -> list[int]:
    """Live processes whose command line mentions ``marker`` (workers share the parent's)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmd and state != "Z":
            out.append(int(pid))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.8, 2.5])
def test_signal_mid_run_leaves_nothing_broken(big, tmp_path, sig, delay) -> None:
    root, clean = big
    cache = tmp_path / "cache"
    output = tmp_path / "graph.json"
    output.write_text("previous output\n")
    proc = subprocess.Popen(
        migrator_cmd(
            "analyze",
            str(root),
            "--cache-dir",
            str(cache),
            "-j",
            "2",
            "-f",
            "json",
            "-o",
            str(output),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    # the delay counts from the first parser worker: a signal while the interpreter is still
    # importing tests Python's start-up, not the run (a loaded machine takes seconds there)
    started = time.monotonic() + 60
    while len(_our_processes(str(cache))) < 2 and proc.poll() is None:
        assert time.monotonic() < started, "no parser worker started within 60 s"
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 1, 128 + signal.SIGTERM, -signal.SIGTERM), err
    text = output.read_text()
    assert text == "previous output\n" or json.loads(text)  # old or complete, never partial
    assert _temp_files(cache, tmp_path) == []
    deadline = time.monotonic() + 15
    while _our_processes(str(cache)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _our_processes(str(cache)) == [], "parser processes outlived the run"
    loaded = FactsCache(cache, cache_key())
    loaded.load()
    assert loaded.corrupt == []
    again = run_cli("analyze", str(root), "--cache-dir", str(cache), "-f", "json")
    assert again.returncode == 0 and again.stdout == clean


def test_ctrl_c_as_the_run_ends_still_exits_with_a_code(monkeypatch) -> None:
    """A Ctrl-C that lands after the command returned but before the console script ignores
    SIGINT (CI saw it: the process died of the signal, -2) ends the process with exit code 1,
    like any interrupted run, instead of escaping as an uncaught KeyboardInterrupt."""
    import migrator.cli as cli

    def finished() -> None:
        raise SystemExit(0)

    calls = []

    def interrupted_once(signum, handler):
        calls.append(handler)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the signal arrives just before SIGINT is ignored
        return signal.SIG_DFL

    class Exited(Exception):
        pass

    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(cli, "main", finished)
    monkeypatch.setattr(signal, "signal", interrupted_once)
    monkeypatch.setattr(os, "_exit", exit_)
    with pytest.raises(Exited) as ended:
        try:
            cli.entry()
        except KeyboardInterrupt:  # escaping, it would stop this whole test session
            pytest.fail("the KeyboardInterrupt escaped the console script")
    assert ended.value.args == (1,)
    assert calls == [signal.SIG_IGN, signal.SIG_IGN]  # and SIGINT is ignored from then on


def test_full_disk_while_saving_the_cache(tmp_path, monkeypatch) -> None:
    root = generated_tree(tmp_path / "proj", 60)
    cache = tmp_path / "cache"
    expected = analyze(root, use_cache=False, jobs=1).to_dict()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fs.os, "fsync", full)
    graph, graph_stats = analyze_with_stats(root, cache_dir=cache, jobs=1)
    assert graph.to_dict() == expected  # the analysis itself is not lost
    assert any("No space left" in n for n in graph_stats.cache_notes)
    monkeypatch.undo()
    assert _temp_files(cache) == []
    loaded = FactsCache(cache, cache_key())
    loaded.load()
    assert loaded.corrupt == [] and loaded.entries == {}
    assert analyze(root, cache_dir=cache, jobs=1).to_dict() == expected
    assert analyze_with_stats(root, cache_dir=cache, jobs=1)[1].parsed == 0


def test_full_disk_while_writing_the_output(tmp_path) -> None:
    """-o on a full disk: an error, and the previous output stays as it was."""
    root = generated_tree(tmp_path / "proj", 10)
    output = tmp_path / "graph.json"
    output.write_text("previous output\n")
    code = (
        "import errno, os, sys\n"
        "sys.path.insert(0, sys.argv.pop(1))\n"
        "import migrator.util.fs as fs\n"
        "def full(fd): raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "fs.os = type('os', (), {**{k: getattr(os, k) for k in dir(os) if not k.startswith('__')},"
        " 'fsync': staticmethod(full)})\n"
        "from migrator.cli import main\nsys.argv[0] = 'migrator'\nmain()\n"
    )
    cmd = migrator_cmd("analyze", str(root), "--no-cache", "-f", "json", "-o", str(output))
    cmd[3] = code
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=cli_env())
    assert done.returncode != 0
    assert "No space left on device" in done.stderr
    assert output.read_text() == "previous output\n"
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "header"])
def test_a_corrupted_cache_pack_is_detected_and_rebuilt(tmp_path, damage) -> None:
    root = generated_tree(tmp_path / "proj", 40)
    cache = tmp_path / "cache"
    expected = analyze(root, use_cache=False, jobs=1).to_dict()
    analyze(root, cache_dir=cache, jobs=1)
    packs = sorted(cache.rglob("*.pack"))
    assert packs
    for graph_file in cache.rglob("*.graph"):  # force the facts packs to be read
        graph_file.unlink()
    pack = packs[0]
    data = pack.read_bytes()
    pack.write_bytes(
        {
            "truncate": data[: len(data) // 2],
            "flip": data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:],
            "garbage": os.urandom(len(data)),
            "empty": b"",
            "header": cache_mod.MAGIC + b"0" * 64 + b"\n" + data[-100:],
        }[damage]
    )
    graph, graph_stats = analyze_with_stats(root, cache_dir=cache, jobs=1)
    assert graph.to_dict() == expected
    assert any("corrupted" in n for n in graph_stats.cache_notes)
    assert graph_stats.parsed == 40 + 21  # every file of the damaged pack parsed again
    rebuilt, rebuilt_stats = analyze_with_stats(root, cache_dir=cache, jobs=1)
    assert rebuilt_stats.parsed == 0 and rebuilt.to_dict() == expected


def test_a_corrupted_cache_is_reported_by_the_cli(tmp_path) -> None:
    root = generated_tree(tmp_path / "proj", 10)
    cache = tmp_path / "cache"
    first = run_cli("analyze", str(root), "--cache-dir", str(cache), "-f", "json")
    for f in list(cache.rglob("*.pack")) + list(cache.rglob("*.graph")):
        f.write_bytes(f.read_bytes()[:50])
    second = run_cli("analyze", str(root), "--cache-dir", str(cache), "-f", "json")
    assert second.returncode == 0 and second.stdout == first.stdout
    assert "corrupted cache pack" in second.stderr
