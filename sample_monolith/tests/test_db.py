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
