"""A network guard for tests/hardening/test_no_execution.py, not part of migrator.

Python imports ``sitecustomize`` at start-up from PYTHONPATH, so with this folder on it every
Python process of a run has the guard, and every process such a process forks (parser
workers, the zygote, a resident) inherits it. When ``MIGRATOR_TEST_NETLOG`` names a file, any
attempt to resolve a name or to connect or send to a network address (anything but a Unix
socket) is appended to that file as ``PID WHAT DETAIL`` and refused: a process that swallows
the error is still on record."""

from __future__ import annotations

import os
import socket

LOG = os.environ.get("MIGRATOR_TEST_NETLOG")


def _record(what: str, detail: object) -> None:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # type: ignore[arg-type]
    try:
        os.write(fd, f"{os.getpid()} {what} {detail!r}\n".encode())
    finally:
        os.close(fd)


def _refuse(what: str, real, on_socket: bool):  # noqa: ANN001, ANN202
    def guard(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if on_socket and getattr(args[0], "family", None) == socket.AF_UNIX:
            return real(*args, **kwargs)  # a local pipe (multiprocessing, the resident)
        _record(what, args[1:2] if on_socket else args[:2])
        raise OSError(f"network use ({what}) in a test of an offline stage")

    return guard


if LOG:
    for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
        setattr(socket.socket, _name, _refuse(_name, getattr(socket.socket, _name), True))
    for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"):
        setattr(socket, _name, _refuse(_name, getattr(socket, _name), False))
