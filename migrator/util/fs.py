"""Atomic, idempotent file writes.

Every file migrator writes goes through ``atomic_write``: the content lands in a temporary file
in the same directory, is flushed and fsynced, then renamed over the target, so a crash, a full
disk or a signal never leaves a half-written file. ``atomic_write`` also leaves a file untouched
(mtime included) when its content is already what would be written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, content: str | bytes, mode: int | None = None) -> bool:
    """Write ``content`` to ``path`` atomically; return False when the file already had it."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True
