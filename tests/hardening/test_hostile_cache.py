"""A hostile cache, guess record or caller cannot make the analyser run code, read outside PATH,
hang or run out of memory (SECURITY.md promises 2, 3 and 7; issue 16, reproductions 1, 2, 4
and 5).

The reproductions drive the command line and write the files a reader would accept as far as
their framing goes (signed with the user's key where the cache is signed), so each of them
also runs against the code before the fix, where it fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import cli_env, migrator_cmd, write_tree

FILES = {
    "app/__init__.py": "",
    "app/a.py": "import app.b\n\n\ndef f():\n    return app.b.g()\n",
    "app/b.py": "def g():\n    return 1\n",
    "app/c.py": "from app import a\n",
}
GIB = 1 << 30


def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", FILES)


def analyze_cli(
    root: Path, *extra: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``migrator analyze`` in a child whose address space is bounded (a run that reads
    ``/dev/zero`` fails fast instead of taking the machine's memory)."""

    def bound() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * GIB, 3 * GIB))

    return subprocess.run(
        migrator_cmd("analyze", str(root), "-f", "json", *extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        preexec_fn=bound,
    )


def has_edge(stdout: str, source: str, target: str) -> bool:
    return any(e["source"] == source and e["target"] == target for e in json.loads(stdout)["edges"])


# -- framing: as the reader of the code under test accepts it ---------------------------------
def signed(kind: bytes, payload: bytes) -> bytes:
    """``payload`` framed so that the cache reader gets as far as decoding it: signed with the
    user's key (this code), or behind the checksum anyone can compute (the code before)."""
    try:
        from migrator.analysis.cache import _frame, cache_key
    except ImportError:
        digest = hashlib.sha256(payload).hexdigest().encode()
        return b"MIGRATOR-FACTS-PACK 1\n" + digest + b"\n" + payload
    return _frame(kind, payload, cache_key())


def exploit(marker: Path) -> bytes:
    """A pickle that writes ``marker`` through nothing but what the old allow-list admitted:
    ``operator.attrgetter`` (a type, imported by ``migrator.analysis.facts``) reaches a
    function's ``__builtins__`` and from there ``exec``."""

    def glob(module: str, name: str) -> bytes:
        return f"c{module}\n{name}\n".encode()

    def text(value: str) -> bytes:
        return b"S" + repr(value).encode() + b"\n"

    def call(func: bytes, *args: bytes) -> bytes:
        return func + b"(" + b"".join(args) + b"tR"

    getter = glob("migrator.analysis.facts", "attrgetter")
    builtins = call(
        call(getter, text("__reduce__.__builtins__")),
        glob("migrator.analysis.facts", "ModuleFacts"),
    )
    run = call(call(call(getter, text("get")), builtins), text("exec"))
    return call(run, text(f"open({str(marker)!r}, 'w').write('ran')")) + b"."


def cache_files(cache: Path, suffix: str) -> list[Path]:
    return sorted(p for p in cache.rglob(f"*{suffix}") if p.is_file())


# -- reproduction 1: a committed cache cannot run code ----------------------------------------
@pytest.mark.parametrize("where", ["default", "in-tree --cache-dir"])
@pytest.mark.parametrize("kind", ["pack", "graph", "ledger"])
def test_a_committed_cache_cannot_run_code(tmp_path: Path, kind: str, where: str) -> None:
    """A fork commits ``.migrator-cache/`` with a pack, a finished graph or a ledger that
    unpickles to ``exec``: by default the tree's cache is not even read, and one named with
    ``--cache-dir`` is plain data whose every file must carry the user's signature."""
    root = project(tmp_path)
    cache = root / ".migrator-cache"
    marker = tmp_path / "pwned"
    first = analyze_cli(root, "--cache-dir", str(cache))
    assert first.returncode == 0, first.stderr
    payload = exploit(marker)
    forged = cache_files(cache, f".{kind}")
    assert forged
    for path in forged:
        path.write_bytes(signed(kind.encode(), payload))
    if kind == "pack":  # the finished graph would be used before any pack is read
        for path in cache_files(cache, ".graph"):
            path.unlink()
    if kind == "ledger":  # an edit: the previous graph is patched with its ledger
        (root / "app/b.py").write_text("def g():\n    return 2\n")
    extra = ("--cache-dir", str(cache)) if where != "default" else ()
    done = analyze_cli(root, *extra)
    assert not marker.exists(), "the forged cache ran code"
    assert done.returncode == 0, done.stderr
    assert has_edge(done.stdout, "app.a", "app.b")
    if where != "default":
        assert "discarded" in done.stderr
    assert not marker.exists()


# -- reproduction 4: cache files that are FIFOs, links to devices, or huge ------------------
@pytest.mark.parametrize("what", ["fifo", "link to /dev/zero", "huge"])
@pytest.mark.parametrize("kind", ["pack", "graph"])
def test_a_cache_file_that_is_no_regular_file_is_discarded_not_read(
    tmp_path: Path, kind: str, what: str
) -> None:
    root = project(tmp_path)
    cache = tmp_path / "cache"
    assert analyze_cli(root, "--cache-dir", str(cache)).returncode == 0
    if kind == "pack":
        for path in cache_files(cache, ".graph"):
            path.unlink()
        (folder,) = {p.parent for p in cache_files(cache, ".pack")}
        targets = [folder / "0.pack"]
    else:
        targets = cache_files(cache, ".graph")
    for path in targets:
        path.unlink(missing_ok=True)
        if what == "fifo":
            os.mkfifo(path)
        elif what == "huge":
            with open(path, "wb") as fh:
                fh.truncate(4 * GIB)  # sparse: no disk used, but a blind read wants 4 GiB
        else:
            path.symlink_to("/dev/zero")
    try:
        done = analyze_cli(root, "--cache-dir", str(cache), timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a {what} in the cache hung the run")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert has_edge(done.stdout, "app.a", "app.b")
    assert "discarded" in done.stderr


# -- reproduction 2: a guess naming files outside PATH -------------------------------------
def _rewrite_guess(cache: Path, extra_rows: list[list[object]]) -> None:
    """Add rows to the guess record the last run left (signed as this code signs them)."""
    (path,) = sorted(cache.rglob("guess/*.json"))
    try:
        from migrator.analysis.cache import Store, cache_key
    except ImportError:  # before the fix: plain JSON anyone could write
        data = json.loads(path.read_text())
        data["files"].extend(extra_rows)
        path.write_text(json.dumps(data))
        return
    store = Store(path.parent, cache_key())
    data = store.read(path.name, b"guess")
    data["files"].extend(extra_rows)
    store.write(path.name, b"guess", data)


def _opened(fifo: Path) -> bool:
    """Whether some process has ``fifo`` open for reading (or is waiting in ``open``); if so
    it is handed an end of file, so that a reader that should not be there does not hang."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True


@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="the guessing parser process needs a second core"
)
def test_the_guess_never_opens_a_file_outside_path(tmp_path: Path) -> None:
    """The guess record names ``app/leak.py``, a link to a FIFO outside the tree, and a file behind a
    linked directory: the first parser process reads none of them (before: it opened the FIFO
    and waited; a link to /dev/zero took gigabytes)."""
    root = project(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    fifo = outside / "pipe"
    os.mkfifo(fifo)
    (outside / "secret.py").write_text("TOKEN = 1\n")
    (root / "app/leak.py").symlink_to(fifo)
    (root / "app/linked").symlink_to(outside, target_is_directory=True)
    cache = tmp_path / "cache"
    assert analyze_cli(root, "--cache-dir", str(cache)).returncode == 0
    _rewrite_guess(
        cache,
        [
            ["app/leak.py", "app.leak", False, 1, 1, "0" * 64],
            ["app/linked/pipe", "app.linked.pipe", False, 1, 1, "0" * 64],
            ["app/linked/secret.py", "app.linked.secret", False, 1, 1, "0" * 64],
        ],
    )
    proc = subprocess.Popen(
        migrator_cmd("analyze", str(root), "--cache-dir", str(cache), "-f", "json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        text=True,
    )
    opened = False
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        opened = _opened(fifo) or opened
        time.sleep(0.01)
    out, err = proc.communicate(timeout=60)
    assert not opened, "a parser process opened a FIFO outside PATH named by the guess"
    assert proc.returncode == 0, err
    assert has_edge(out, "app.a", "app.b")


# -- reproduction 5: the resident parser holds none of the caller's descriptors --------------
@pytest.mark.skipif(
    not hasattr(os, "fork") or (os.cpu_count() or 1) < 2,
    reason="a resident parser needs fork and a second core",
)
def test_a_piped_run_with_a_resident_parser_does_not_hang(tmp_path: Path) -> None:
    """``(migrator analyze app 3>&1 >/dev/null 2>&1) | cat``: the reader of the pipe on
    descriptor 3 sees its end once the run is over, although the run leaves a resident
    parser (before: only when the resident exited, up to ten minutes later)."""
    from migrator.analysis import resident

    root = project(tmp_path)
    runtime = Path(tempfile.mkdtemp(prefix="mr-"))
    runtime.chmod(0o700)
    env = cli_env(XDG_RUNTIME_DIR=str(runtime), MIGRATOR_RESIDENT_PARSER="1")
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            migrator_cmd(
                "analyze", str(root), "--cache-dir", str(tmp_path / "cache"), "-f", "json"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
            env=env,
        )
        os.close(write_end)
        write_end = -1
        assert proc.wait(timeout=120) == 0
        ready, _, _ = select.select([read_end], [], [], 30)
        assert ready and os.read(read_end, 1) == b"", (
            "a process the run left behind still holds the caller's pipe"
        )
        # and a resident was indeed left (else the test proves nothing)
        assert any(resident.connect(str(s)) for s in (runtime / "migrator").glob("*.sock"))
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
        for sock in (runtime / "migrator").glob("*.sock"):
            found = resident.connect(str(sock))
            if found is not None:
                found[1].close()
                os.kill(found[0].pid, 9)
        shutil.rmtree(runtime, ignore_errors=True)


# -- leftovers of killed runs -----------------------------------------------------------------
def test_temporary_files_of_killed_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    """SIGKILL between writing a temporary file and renaming it leaves the temporary file:
    the next run removes it (a writer that is still alive keeps its own)."""
    root = project(tmp_path)
    cache = tmp_path / "cache"
    assert analyze_cli(root, "--cache-dir", str(cache)).returncode == 0
    dead = _dead_pid()
    leftovers = []
    for folder in sorted({p.parent for p in cache.rglob("*") if p.is_file()}):
        for name in (f".x.pack.{dead}.0a1b2c3d.tmp", ".x.graph.k3j4h5.tmp"):
            path = folder / name
            path.write_bytes(b"half a file")
            os.utime(path, (1, 1))  # the second one has no pid: it goes once it is old
            leftovers.append(path)
    live = sorted({p.parent for p in leftovers})[0] / f".y.pack.{os.getpid()}.0a1b2c3d.tmp"
    live.write_bytes(b"being written")
    (root / "app/b.py").write_text("def g():\n    return 3\n")  # a run that writes the cache
    done = analyze_cli(root, "--cache-dir", str(cache))
    assert done.returncode == 0, done.stderr
    assert [p for p in leftovers if p.exists()] == []
    assert live.exists()


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# -- the key and the cache's own folders ------------------------------------------------------
def test_the_cache_key_is_private_and_a_bad_one_disables_the_cache(
    tmp_path: Path, monkeypatch
) -> None:
    from migrator.analysis import analyze, analyze_with_stats
    from migrator.analysis.cache import KEY_NAME, _load_key, user_cache_home

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    _load_key.cache_clear()
    root = project(tmp_path)
    analyze(root, jobs=1)
    home = user_cache_home()
    key = home / KEY_NAME
    st = os.lstat(key)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32
    assert analyze_with_stats(root, jobs=1)[1].parsed == 0
    # a key others can read is no secret: the cache is not used, and the run says why
    key.chmod(0o644)
    _load_key.cache_clear()
    graph, graph_stats = analyze_with_stats(root, jobs=1)
    assert graph_stats.parsed == 4 and any("key" in n for n in graph_stats.cache_notes)
    # a key that is a link is refused too
    key.unlink()
    key.symlink_to(tmp_path / "elsewhere")
    _load_key.cache_clear()
    assert any("key" in n for n in analyze_with_stats(root, jobs=1)[1].cache_notes)
    _load_key.cache_clear()


# -- property: any bytes in any cache file -------------------------------------------------
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
#: guess records may name these: links out of the tree (to a file, a FIFO, /dev/zero, through a
#: linked folder), climbs, absolute paths, and real files
_HINTED = [
    "app/a.py",
    "app/leak.py",
    "app/fifo.py",
    "app/zero.py",
    "app/linked/secret.py",
    "app/linked/pipe",
    "../outside/secret.py",
    "/etc/passwd",
    "app/../../outside/pipe",
    "app",
    "",
]


@contextlib.contextmanager
def _audit(log: Path) -> Iterator[None]:
    """Record every path opened through ``os.open``, ``open`` and ``io.open`` in this process
    and the parser processes it forks (they inherit the wrappers) into ``log``."""
    import builtins
    import io

    real_os_open, real_open = os.open, builtins.open

    def note(path: object) -> None:
        if isinstance(path, (str, bytes, os.PathLike)):
            fd = real_os_open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, os.fsencode(path) + b"\n")
            finally:
                os.close(fd)

    def os_open(path, *args, **kwargs):
        note(path)
        return real_os_open(path, *args, **kwargs)

    def any_open(file, *args, **kwargs):
        note(file)
        return real_open(file, *args, **kwargs)

    os.open, builtins.open, io.open = os_open, any_open, any_open
    try:
        yield
    finally:
        os.open, builtins.open, io.open = real_os_open, real_open, real_open


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(signum, frame):
        raise TimeoutError(f"hung for {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A project whose tree links to a secret, a FIFO and /dev/zero outside it, and a cache
    that a first run filled (so the random bytes land under the names runs look up)."""
    from migrator.analysis import analyze

    base = tmp_path_factory.mktemp("hostile")
    root = project(base)
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("TOKEN = 1\n")
    os.mkfifo(outside / "pipe")
    (root / "app/leak.py").symlink_to(outside / "secret.py")
    (root / "app/fifo.py").symlink_to(outside / "pipe")
    (root / "app/zero.py").symlink_to("/dev/zero")
    (root / "app/linked").symlink_to(outside, target_is_directory=True)
    cache = base / "cache"
    analyze(root, cache_dir=cache, jobs=1)
    return root, outside, cache


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    how=st.sampled_from(["raw", "signed", "json"]),
    raw=st.binary(max_size=200),
    value=_JSON,
    rows=st.lists(
        st.tuples(st.sampled_from(_HINTED), st.integers(0, 3), st.integers(0, 3)), max_size=6
    ),
)
def test_any_bytes_in_any_cache_file_give_a_graph_not_an_error(
    hostile_tree, tmp_path_factory, how, raw, value, rows
) -> None:
    """Random bytes, random signed bytes or random signed JSON as every facts pack, graph,
    ledger, pointer and distribution map, and a signed guess record naming files outside the tree:
    the run ends (no hang), with the right graph, no exception, and opens nothing outside."""
    from migrator.analysis import analyze
    from migrator.analysis.cache import _frame, cache_key
    from migrator.analysis.cacheformat import dumps

    root, outside, cache = hostile_tree
    kinds = {
        ".pack": b"facts",
        ".graph": b"graph",
        ".delta": b"delta",
        ".ledger": b"ledger",
        "distributions.json": b"distributions",
    }
    for path in sorted(p for p in cache.rglob("*") if p.is_file() and p.name != "key"):
        kind = next(
            (k for s, k in kinds.items() if path.name.endswith(s)),
            b"latest" if path.name.startswith("latest-") else b"guess",
        )
        if kind == b"guess":
            data = {
                "version": 2,
                "root": str(root.resolve()),
                "plugins": True,
                "files": [
                    [rel, "app.x", False, size, mtime, "0" * 64] for rel, size, mtime in rows
                ],
            }
            path.write_bytes(_frame(kind, dumps(data), cache_key()))
        elif how == "raw":
            path.write_bytes(raw)
        else:
            payload = raw if how == "signed" else dumps(value)
            path.write_bytes(_frame(kind, payload, cache_key()))
    log = tmp_path_factory.mktemp("audit") / "opened"
    with _time_limit(60), _audit(log):
        graph = analyze(root, cache_dir=cache, jobs=1)
    assert graph.g.has_edge("app.a", "app.b", key="import")
    assert graph.g.has_edge("app.c", "app.a", key="import")
    opened = log.read_bytes().decode(errors="replace").splitlines() if log.exists() else []
    forbidden = os.path.realpath(outside)
    assert not [
        p
        for p in opened
        if os.path.realpath(p).startswith(forbidden) or os.path.realpath(p) == "/dev/zero"
    ]


def test_a_cache_folder_the_tree_links_elsewhere_is_not_used(tmp_path: Path) -> None:
    """``--cache-dir .migrator-cache`` where the tree made ``.migrator-cache`` a link to a
    folder of the user's: nothing is written there."""
    from migrator.analysis import analyze_with_stats

    root = project(tmp_path)
    elsewhere = tmp_path / "users-folder"
    elsewhere.mkdir()
    (root / ".migrator-cache").symlink_to(elsewhere, target_is_directory=True)
    graph, graph_stats = analyze_with_stats(root, cache_dir=root / ".migrator-cache", jobs=1)
    assert graph.g.has_edge("app.a", "app.b", key="import")
    assert any("symbolic link" in n for n in graph_stats.cache_notes)
    assert list(elsewhere.iterdir()) == []
