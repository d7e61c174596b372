"""Reading and writing the files of a run without being led astray.

Reads: ``read_regular`` opens a file the user (or the analysed tree) names only if it is a
regular file, never through a symbolic link that leaves its root, never a FIFO or a device
(``os.open`` with ``O_NOFOLLOW | O_NONBLOCK``, then ``fstat``), and reads at most ``max_bytes``,
so a hostile tree or CI checkout cannot hang a run, exhaust its memory or make it copy a file
from elsewhere. Every problem is a ``FileError`` whose message starts with the file's name.

Writes: ``atomic_write`` lands the content in a temporary file in the same directory, flushes,
fsyncs and renames it over the target, so a crash, a full disk or a signal never leaves a
half-written file; it leaves a file untouched (mtime included) when its content is already what
would be written, and it refuses to write through a symbolic link (the target, or, below
``root``, any folder on the way). ``out_folder`` is how a command takes an output folder: its
parent must exist, one run at a time holds it (a lock file), and temporary files left by a run
killed outright are removed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: plans, baselines, graphs and configuration files larger than this are refused
MAX_INPUT_BYTES = 256 * 1024 * 1024
LOCK_FILE = ".migrator.lock"
#: ``atomic_write``'s temporary files: ``.NAME.`` + mkstemp's 8 random characters + ``.tmp``
_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
_held: set[str] = set()  # output folders this process holds the lock of (scaffold inside run)


class FileError(OSError):
    """A file migrator will not read or write; the message is ``PATH: why``, one line.

    An ``OSError``, so code that already gives up on unreadable files gives up on these too."""

    def __init__(
        self, path: str | Path, why: str, *, missing: bool = False, code: int | None = None
    ) -> None:
        super().__init__(f"{path}: {why}")
        self.path = str(path)
        self.why = why
        self.missing = missing
        self.errno = code  # the OSError behind it, if any (ENOSPC, EACCES ...)

    @classmethod
    def of(cls, path: str | Path, doing: str, exc: OSError) -> FileError:
        """``exc`` (an OSError while ``doing`` something to ``path``) as a FileError."""
        return cls(
            path,
            f"cannot {doing}: {exc.strerror or exc}",
            missing=exc.errno == errno.ENOENT,
            code=exc.errno,
        )


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _regular(path: str | Path, root: str | Path | None) -> tuple[str, os.stat_result]:
    """The path to open for ``path`` and its ``lstat``; ``FileError`` unless it is a regular
    file (under ``root`` once links are followed, or itself no link without ``root``)."""
    target = os.fspath(path)
    if root is not None:
        real = os.path.realpath(target)
        if not _inside(os.path.realpath(root), real):
            raise FileError(path, f"leads out of {root} (symbolic link); not read")
        target = real
    try:
        before = os.lstat(target)
    except OSError as exc:
        raise FileError.of(path, "read", exc) from None
    if not stat.S_ISREG(before.st_mode):  # never open a device or a FIFO at all
        what = _kind(before.st_mode)
        hint = " (name the file it points to)" if what == "a symbolic link" else ""
        raise FileError(path, f"is {what}, not a regular file{hint}")
    return target, before


def refusal(path: str | Path, root: str | Path) -> str | None:
    """Why ``read_regular(path, root=root)`` would refuse ``path`` (a link out of ``root``, a
    FIFO, a device ...), or None: lets a walk list such files instead of reading them."""
    try:
        _regular(path, root)
    except FileError as exc:
        return exc.why
    return None


def read_regular(
    path: str | Path, *, root: str | Path | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``.

    With ``root``, links are followed as long as they stay under ``root``; without it, ``path``
    itself may not be a link (the folders on the way may). Raises ``FileError``."""
    target, before = _regular(path, root)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise FileError.of(path, "read", exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            raise FileError(path, "changed while being opened; not read")
        if st.st_size > max_bytes:
            raise FileError(path, f"is larger than {max_bytes} bytes; not read")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise FileError(path, f"is larger than {max_bytes} bytes; not read")
        return b"".join(chunks)
    except FileError:
        raise
    except OSError as exc:
        raise FileError.of(path, "read", exc) from None
    finally:
        os.close(fd)


def read_text(
    path: str | Path, *, root: str | Path | None = None, max_bytes: int = MAX_INPUT_BYTES
) -> str:
    """``read_regular`` decoded as UTF-8 (a ``FileError`` if it is not)."""
    data = read_regular(path, root=root, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(path, f"line {line}: not UTF-8 text") from None


def read_existing(path: str | Path, *, root: str | Path | None = None) -> bytes | None:
    """What a file about to be replaced holds, or None when there is none yet."""
    try:
        return read_regular(path, root=root)
    except FileError as exc:
        if exc.missing:
            return None
        raise


def check_target(path: Path, root: Path | None) -> None:
    """No symbolic link on the way from ``root`` to ``path`` (folders below ``root`` are
    created); without ``root``, the folders of ``path`` are created as needed."""
    if root is None:
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
        parts = Path(rel).parts
        if not parts or parts[0] == os.pardir:
            raise FileError(path, f"is outside {root}; not written")
        folder = Path(root)
        for part in parts[:-1]:
            folder = folder / part
            try:
                st = os.lstat(folder)
            except FileNotFoundError:
                try:
                    os.mkdir(folder)
                except OSError as exc:
                    raise FileError.of(folder, "create", exc) from None
                continue
            if stat.S_ISLNK(st.st_mode):
                raise FileError(
                    folder, "is a symbolic link; migrator does not write through links (remove it)"
                )
            if not stat.S_ISDIR(st.st_mode):
                raise FileError(folder, f"is {_kind(st.st_mode)} where a folder is needed")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileError.of(path, "write", exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError(
            path,
            f"is {_kind(st.st_mode)}; migrator writes only regular files and never through links",
        )


def atomic_write(
    path: str | Path,
    content: str | bytes,
    mode: int | None = None,
    *,
    root: str | Path | None = None,
) -> bool:
    """Write ``content`` to ``path`` atomically; return False when the file already had it.

    Refuses (``FileError``) a target that is a link, FIFO or device, and a link on the way
    below ``root``."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    check_target(path, Path(root) if root is not None else None)
    try:
        if read_existing(path) == data:
            return False
    except FileError:
        pass
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise FileError.of(path, "write", exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, FileError):
            raise FileError.of(path, "write", exc) from None
        raise
    return True


def write_output(path: str | Path, content: str | bytes) -> bool:
    """``-o FILE``: ``atomic_write``, creating FILE's folder only if that folder's parent exists
    (the rule of an output folder: ``-o a/b/c/report.md`` never creates ``a/b``)."""
    path = Path(path)
    if not path.parent.is_dir():
        _prepare(path.parent)
    return atomic_write(path, content)


def _prepare(out: Path) -> bool:
    """Create OUT if missing (not its parents); True when this call created it."""
    if os.path.islink(out) and not out.exists():
        raise FileError(out, "is a symbolic link to nothing; name an existing folder or a new one")
    if out.exists():
        if not out.is_dir():
            raise FileError(out, "exists and is not a directory")
        return False
    parent = Path(os.path.abspath(out)).parent
    if not parent.is_dir():
        raise FileError(
            out,
            f"folder {parent} does not exist (migrator creates the output "
            "folder, not the folders above it)",
        )
    try:
        out.mkdir()
    except OSError as exc:
        raise FileError.of(out, "create", exc) from None
    return True


def clean_leftovers(out: Path) -> list[str]:
    """Remove the temporary files of ``atomic_write`` that a run killed outright left in OUT
    (call it only while holding OUT's lock, so they cannot be another run's)."""
    removed = []
    for folder, _dirs, names in os.walk(out):  # never follows links
        for name in names:
            if _TEMP.fullmatch(name):
                path = os.path.join(folder, name)
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, out))
    return sorted(removed)


@contextmanager
def out_folder(out: str | Path) -> Iterator[Path]:
    """Hold the output folder ``out`` for one run: created if missing (its parent must exist),
    locked against a second run (which fails at once), emptied of a killed run's temporary
    files. Re-entrant within a process (``run`` scaffolds into the folder it holds). A run that
    fails before writing anything leaves no OUT it created."""
    out = Path(out)
    created = _prepare(out)
    key = os.path.realpath(out)
    if key in _held:
        yield out
        return
    lock = out / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise FileError.of(lock if exc.errno == errno.ELOOP else out, "write", exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileError(
                out, "another migrator run is writing into this folder; wait for it to finish"
            ) from None
        _held.add(key)
        try:
            clean_leftovers(out)
            yield out
        except BaseException:
            if created and os.listdir(out) == [LOCK_FILE]:
                os.unlink(lock)
                os.rmdir(out)
            raise
        finally:
            _held.discard(key)
    finally:
        os.close(fd)
