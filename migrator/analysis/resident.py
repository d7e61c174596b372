"""A parser process that stays resident between runs, so that a run after an edit parses the
edited file at once instead of first spending a fifth of a second loading libcst.

After a run, its first parser process (``isolate.Parser(prestart=...)``) is not killed but asked
to *linger*: it forks a detached copy of itself, which listens on a Unix socket for
``IDLE_SECONDS`` and then exits. The next run of the same analyser code (the socket's name is
the hash of ``cache.code_signature``, the Python and the user) connects to it instead of
forking a new first worker; the resident process makes the guess (``cache.Guess``), parses the
files that changed and answers with their facts, exactly as a freshly forked worker would.

Safe by construction:

* the socket lives in a directory only this user can enter (``$XDG_RUNTIME_DIR/migrator`` or
  ``<tmp>/migrator-<uid>``, created with mode 0700 and refused when anyone else could write
  to it);
* one resident per socket, held by an exclusive ``flock``; a second one exits at once;
* a resident serves one run at a time; a run that cannot get an answer within
  ``CONNECT_SECONDS`` forks its own worker, as it would without a resident;
* the run keeps its limits: a resident that crashes or passes the time limit on a file is
  treated like any worker (the file goes to a fresh worker, which finds the culprit);
* its standard streams are /dev/null, every other descriptor it inherited is closed
  (``close_inherited``) and it runs in a session of its own, so it holds no pipe of the run
  that started it or of that run's caller, and no Ctrl-C of that terminal reaches it.

``MIGRATOR_RESIDENT_PARSER=0`` turns it off, and so does ``--no-cache`` (``use_cache=False``):
the engine (``engine.Engine``) decides, there is no option for it. The command line turns it
on (``cli.main``); a call to ``analyze()`` from Python leaves none unless the variable is 1.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

IDLE_SECONDS = 600.0
CONNECT_SECONDS = 0.1
ENVIRONMENT = "MIGRATOR_RESIDENT_PARSER"


def wanted() -> bool:
    """Whether runs should use and leave a resident parser (the environment says). Unset, a
    library call leaves no process behind; the command line sets it (``cli.main``), because
    a person runs it again and again on the same project."""
    return os.environ.get(ENVIRONMENT, "0").strip().lower() not in ("0", "no", "false", "off")


def _private_dir() -> Path | None:
    """A directory that only this user can write to, or None."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = (
        Path(runtime) / "migrator"
        if runtime and os.path.isabs(runtime)
        else Path(tempfile.gettempdir()) / f"migrator-{os.getuid()}"
    )
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # a symbolic link, or someone else's, or open to others: do not use
    return base


#: beside the code that makes facts (``cache.code_signature``), the code that talks to a resident
PROTOCOL_CODE = ("isolate.py", "resident.py", "cache.py")


def address(signature: str, directory: str | os.PathLike[str] | None = None) -> str | None:
    """The socket path of the resident parser for analyser code ``signature`` (None when no
    private directory is available, or the path would be too long for a Unix socket). A
    resident of other code, another Python or another protocol has another address."""
    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        return None  # a resident is a forked copy listening on a Unix socket
    base = Path(directory) if directory is not None else _private_dir()
    if base is None:
        return None
    h = hashlib.sha256(f"{signature}\0{sys.executable}\0{sys.version}".encode())
    for name in PROTOCOL_CODE:
        h.update((Path(__file__).parent / name).read_bytes())
    name = h.hexdigest()
    path = str(base / f"{name[:24]}.sock")
    return path if len(path.encode()) < 100 else None


class Remote:
    """The ``multiprocessing.Process`` face of a resident parser, which is not our child."""

    sentinel = None  # its connection closing is how we learn that it died
    exitcode = None

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def is_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)
        except OSError:
            pass

    def join(self, timeout: float | None = None) -> None:
        pass


def connect(path: str) -> tuple[Remote, Connection] | None:
    """A session with the resident parser at ``path``, or None when there is none or it is
    busy with another run."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_SECONDS)
        sock.connect(path)
        sock.settimeout(None)
    except OSError:
        sock.close()
        return None
    conn = Connection(sock.detach())
    try:
        if conn.poll(CONNECT_SECONDS):
            tag, pid = conn.recv()
            if tag == "ready" and isinstance(pid, int):
                return Remote(pid), conn
    except (EOFError, OSError, ValueError, TypeError):
        pass
    conn.close()
    return None


def linger(path: str, session: Callable[[Connection], Any], run: Connection) -> int:
    """In a parser process that is done with its run (``run``, its connection to it): fork a
    detached copy that serves ``session`` to each run connecting to ``path`` until
    ``IDLE_SECONDS`` pass without one. Returns the copy's pid at once."""
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        signal.signal(signal.SIGTERM, _stop)  # ``kill`` removes the socket on the way out
        os.setsid()
        os.chdir("/")
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # a run's output may be a pipe that its reader waits to close
            os.dup2(devnull, fd)
        os.close(devnull)
        run.close()
        close_inherited()  # and so may any descriptor the run's caller passed down
        _serve_sessions(path, session)
    finally:
        os._exit(0)


Held = dict[int, tuple[int, int]]  # descriptor -> (device, inode) of what it refers to


def open_fds() -> Held:
    """This process's descriptors above the standard streams and what each refers to (empty
    where it cannot tell)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return {}
    held = {}
    for fd in sorted(int(name) for name in names if name.isdigit() and int(name) > 2):
        identity = _identity(fd)
        if identity is not None:  # the listing's own descriptor is closed already
            held[fd] = identity
    return held


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def close_fds(held: Held, keep: Iterable[int] = ()) -> None:
    """Close, in a process just forked, the descriptors that the process that forked it held
    (``open_fds`` there) but ``keep``: whatever the run inherited from its caller (``3>&1 |
    cat``: the reader waits for the last writer to close) or opened for itself must not be held
    by a parser process, which may be stuck or outlive the run. A number is closed only while
    it still refers to what it did there: the fork opens descriptors of its own
    (``multiprocessing``'s sentinel pipe), and they take the lowest free numbers, freed
    perhaps after the listing (starting a process reaps finished ones and closes their pipes).
    A child that closed its sentinel would look dead to its parent while it waits for work."""
    kept = set(keep)
    for fd, identity in held.items():
        if fd not in kept and _identity(fd) == identity:
            try:
                os.close(fd)
            except OSError:
                pass


def close_inherited() -> None:
    """Close every descriptor above the standard streams (a resident, once detached)."""
    os.closerange(3, max(open_fds(), default=2) + 1)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serve_sessions(path: str, session: Callable[[Connection], Any]) -> None:
    import fcntl

    lock = os.open(path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another resident serves this socket
    try:
        os.unlink(path)  # left by a resident that was killed
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    server.settimeout(IDLE_SECONDS)
    try:
        while True:
            try:
                sock, _ = server.accept()
            except TimeoutError:
                return
            sock.settimeout(None)
            conn = Connection(sock.detach())
            try:
                conn.send(("ready", os.getpid()))
                session(conn)
            except Exception:
                pass  # that run falls back to its own workers
            finally:
                conn.close()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
