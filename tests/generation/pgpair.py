"""A real PostgreSQL primary and streaming replica on 127.0.0.1, started and stopped by a test.

Debian's postgresql package (scripts/bootstrap.sh --test), run as the ``postgres`` user:
``initdb``, ``pg_basebackup -R`` for the replica, ``pg_ctl`` to start and stop both. Never
touches the packaged ``main`` cluster. A few seconds.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator.extraction.localrun import free_port


@dataclass
class PgPair:
    primary_port: int
    replica_port: int

    def url(self, port: int, db: str = "postgres", scheme: str = "postgresql") -> str:
        return f"{scheme}://postgres@127.0.0.1:{port}/{db}"

    def primary(self, db: str = "postgres", scheme: str = "postgresql") -> str:
        return self.url(self.primary_port, db, scheme)

    def replica(self, db: str = "postgres", scheme: str = "postgresql") -> str:
        return self.url(self.replica_port, db, scheme)

    def wait_replayed(self, limit: float = 15.0) -> None:
        """Bounded wait until the replica has replayed everything the primary wrote."""
        import psycopg

        with psycopg.connect(self.primary(), autocommit=True) as p:
            lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        end = time.monotonic() + limit
        with psycopg.connect(self.replica(), autocommit=True) as r:
            while time.monotonic() < end:
                done = r.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(lsn),)
                ).fetchone()[0]
                if done:
                    return
                time.sleep(0.05)
        raise AssertionError("the replica did not catch up")


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: run scripts/bootstrap.sh --test")
    return found[-1].parent


def _as_postgres(command: str) -> None:
    proc = subprocess.run(
        ["su", "postgres", "-s", "/bin/sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"{command}: {proc.stdout}{proc.stderr}")


@contextlib.contextmanager
def primary_and_replica(wal_level: str = "replica") -> Iterator[PgPair]:
    if os.geteuid() != 0:
        pytest.skip("the PostgreSQL pair is started as the postgres user (needs root)")
    b = _bin()
    folder = Path(tempfile.mkdtemp(prefix="pgpair-", dir="/tmp"))
    shutil.chown(folder, "postgres")
    d = shlex.quote(str(folder))
    pair = PgPair(free_port(), free_port())
    started = []
    try:
        _as_postgres(f"{b}/initdb -D {d}/p -A trust -U postgres >/dev/null")
        with open(folder / "p" / "postgresql.conf", "a") as fh:
            fh.write(f"wal_level={wal_level}\nfsync=off\n")
        with open(folder / "p" / "pg_hba.conf", "a") as fh:
            fh.write("host replication all 127.0.0.1/32 trust\n")
        for name, port in (("p", pair.primary_port), ("r", pair.replica_port)):
            if name == "r":
                _as_postgres(
                    f"{b}/pg_basebackup -h 127.0.0.1 -p {pair.primary_port} -U postgres -D {d}/r -R"
                )
            _as_postgres(
                f"{b}/pg_ctl -D {d}/{name} -w -o '-p {port} -k {d} -c "
                f"listen_addresses=127.0.0.1' -l {d}/{name}.log start >/dev/null"
            )
            started.append(name)
        yield pair
    finally:
        for name in reversed(started):
            with contextlib.suppress(AssertionError):
                _as_postgres(f"{b}/pg_ctl -D {d}/{name} stop -m fast >/dev/null")
        shutil.rmtree(folder, ignore_errors=True)
