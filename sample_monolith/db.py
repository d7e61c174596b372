"""Database plumbing shared by every part of the shop: the declarative base and one scoped session.

Plain SQLAlchemy 2 rather than Flask-SQLAlchemy: the background worker and the CLI use the same
session without an application context.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker


class Base(DeclarativeBase):
    """Base class of every mapped entity, whichever module it lives in."""


SessionFactory = sessionmaker(autoflush=True, expire_on_commit=False)
db_session = scoped_session(SessionFactory)

_engine: Engine | None = None


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def init_engine(url: str) -> Engine:
    """Create the engine for ``url`` and bind the session factory to it."""
    global _engine
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}
                           if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    db_session.remove()
    SessionFactory.configure(bind=engine)
    if _engine is not None:
        _engine.dispose()
    _engine = engine
    return engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database engine not initialised: call init_engine() first")
    return _engine


def create_schema() -> None:
    """Create every table. The model modules must be imported so their tables are registered."""
    # Lazy imports: the model modules import this one.
    from sample_monolith import models  # noqa: F401
    from sample_monolith.notifications import models as notification_models  # noqa: F401
    from sample_monolith.promotions import models as promotion_models  # noqa: F401

    for attempt in range(6):
        try:
            Base.metadata.create_all(get_engine())
            return
        except DatabaseError:
            # gunicorn's other worker created a table between this one's check and its CREATE,
            # or holds the database while it does: a later pass finds every table there
            if attempt == 5:
                raise
            time.sleep(0.1 * 2**attempt)


@contextmanager
def session_scope() -> Iterator[None]:
    """Commit on success, roll back on error; used by the worker and CLI commands."""
    try:
        yield
        db_session.commit()
    except Exception:
        db_session.rollback()
        raise
    finally:
        db_session.remove()


def shutdown_session(_exc: BaseException | None = None) -> None:
    db_session.remove()
