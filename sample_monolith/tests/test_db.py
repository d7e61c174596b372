"""Schema creation when gunicorn's workers start side by side on one database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import OperationalError

from sample_monolith import db


def test_schema_creation_survives_another_worker_creating_a_table_first(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other worker creates the tables between this one's check and its CREATE TABLE:
    the database says the table exists, and the worker must still boot."""
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    monkeypatch.setattr(db, "get_engine", lambda: engine)  # the app's own engine is left alone
    real = db.Base.metadata.create_all
    calls = []

    def racing(bind, **kwargs):  # noqa: ANN001, ANN202
        calls.append(bind)
        real(bind, **kwargs)  # the other worker's tables appear...
        if len(calls) == 1:  # ...just before this worker's own CREATE TABLE
            raise OperationalError("CREATE TABLE products", {}, Exception("already exists"))

    monkeypatch.setattr(db.Base.metadata, "create_all", racing)
    db.create_schema()
    assert len(calls) == 2
    assert "products" in inspect(engine).get_table_names()


def test_schema_creation_waits_out_a_worker_that_holds_the_database(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second pass can race too (the other worker still holds the database: "database is
    locked"): a worker keeps trying for a while before it gives up, and then it says why."""
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    monkeypatch.setattr(db, "get_engine", lambda: engine)
    monkeypatch.setattr(db.time, "sleep", lambda s: None)
    real = db.Base.metadata.create_all
    calls = []

    def locked(bind, **kwargs):  # noqa: ANN001, ANN202
        calls.append(bind)
        if len(calls) <= 2:
            raise OperationalError("CREATE TABLE products", {}, Exception("database is locked"))
        real(bind, **kwargs)

    monkeypatch.setattr(db.Base.metadata, "create_all", locked)
    db.create_schema()
    assert len(calls) == 3
    assert "products" in inspect(engine).get_table_names()

    def never(bind, **kwargs):  # noqa: ANN001, ANN202
        raise OperationalError("CREATE TABLE products", {}, Exception("database is locked"))

    monkeypatch.setattr(db.Base.metadata, "create_all", never)
    with pytest.raises(OperationalError, match="locked"):
        db.create_schema()
