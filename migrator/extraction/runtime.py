"""HTTP+JSON calls between extracted services (copied by migrator into each service as
``interservice/runtime.py``; standard library only, so a service needs no new dependency).

Client side: ``call()`` posts ``{"args": [...], "kwargs": {...}}`` to
``<SERVICE>_URL/internal/<function>`` with a timeout, retries only calls marked idempotent (on
connection errors and 502/503/504), and turns the answer back into Python values using the
function's type hints. Errors raised by the remote function come back as the same exception class
when the caller knows it (copied classes and builtins), else as ``RemoteError``.
Server side: ``dispatch()`` decodes the arguments with the real function's hints, calls it and
encodes the result or the exception.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import contextvars
import dataclasses
import datetime as _dt
import decimal
import enum
import hashlib
import io
import json
import logging
import os
import sys
import threading
import time
import typing
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

TIMEOUT_SECONDS = float(os.environ.get("INTERSERVICE_TIMEOUT", "5"))
RETRIES = int(os.environ.get("INTERSERVICE_RETRIES", "3"))
#: called as ``(service, endpoint, status, seconds)`` after every call (status 0: no answer);
#: the generated service's metrics register here
CALL_OBSERVERS: list[Callable[[str, str, int, float], None]] = []
#: each returns headers for the next call (trace context, request id): the service's
#: observability registers here
HEADER_PROVIDERS: list[Callable[[], dict[str, str]]] = []
RETRY_STATUS = {502, 503, 504}
ERROR_STATUS = 422  # the remote function raised: a business error, not a transport error
#: marks a row of an ORM model on the wire: ``{ROW: model name, "columns": {...}}``
ROW = "__row__"
#: the owner's session (a callable returning one) that a row sent back to it is loaded with,
#: set by the generated endpoints; models with a ``query`` or ``objects`` need none
ROW_SESSION: Callable[[], Any] | None = None


class RemoteError(Exception):
    """The other service failed in a way that has no local exception class."""

    def __init__(self, message: str, status: int = 0, remote_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.remote_type = remote_type


class ServiceUnavailable(RemoteError, ConnectionError):
    """The other service could not be reached (after the retries allowed)."""


class NotExtractedError(RuntimeError):
    """Code that still needs a person: listed in MIGRATION.md with a suggested shape."""


class Unavailable:
    """Stands in for a name that belongs to another service and could not be converted.

    Importing it works, so the service boots; using it raises ``NotExtractedError``. Used as a
    decorator it wraps the function, so the failure happens when the route runs, not at import.
    """

    def __init__(self, name: str, reason: str) -> None:
        self._name = name
        self._reason = reason

    def _fail(self) -> NotExtractedError:
        return NotExtractedError(
            f"{self._name} is not available in this service: {self._reason} (see MIGRATION.md)"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            wrapped = args[0]
            unavailable = self

            def blocked(*a: Any, **k: Any) -> Any:
                raise unavailable._fail()

            blocked.__name__ = getattr(wrapped, "__name__", "blocked")
            blocked.__doc__ = getattr(wrapped, "__doc__", None)
            return blocked
        raise self._fail()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise self._fail()

    def __repr__(self) -> str:
        return f"<unavailable {self._name}>"


# -- values -------------------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """Python value -> JSON value (dataclasses, Decimal, dates, UUID and enums included)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, ReadRow):  # a copy of the owner's row goes back as its columns
        return {ROW: value._model, "columns": value._data}
    if _is_row(value):
        return {ROW: type(value).__name__, "columns": _columns(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(getattr(value, "model_dump", None)):  # pydantic
        return encode(value.model_dump(mode="json"))
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(v) for v in value]
    raise TypeError(f"cannot send a {type(value).__name__} to another service")


def decode(value: Any, hint: Any) -> Any:
    """JSON value -> Python value of type ``hint`` (best effort; unknown hints pass through).

    A row is the hint's ORM model loaded by its key where that model is here (the owner),
    else a read-only ``ReadRow`` of its columns."""
    if isinstance(value, dict) and ROW in value:
        return _row(value, hint)
    if value is None or hint is Any or hint is None:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or (
        origin is not None and str(origin) == "<class 'types.UnionType'>"
    ):
        for option in args:
            if option is type(None):
                continue
            try:
                return decode(value, option)
            except (TypeError, ValueError, KeyError, decimal.InvalidOperation):
                continue
        return value
    if origin is typing.Annotated:
        return decode(value, args[0])
    if origin in (list, set, frozenset) or (
        origin is not None
        and getattr(origin, "__name__", "") in ("Sequence", "Iterable", "Collection")
    ):
        inner = args[0] if args else Any
        items = [decode(v, inner) for v in value]
        return set(items) if origin is set else frozenset(items) if origin is frozenset else items
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(v, args[0]) for v in value)
        return tuple(decode(v, a) for v, a in zip(value, args or [Any] * len(value), strict=False))
    if origin is dict or (
        origin is not None and getattr(origin, "__name__", "") in ("Mapping", "MutableMapping")
    ):
        key, inner = (args[0], args[1]) if len(args) == 2 else (Any, Any)
        return {decode(k, key): decode(v, inner) for k, v in value.items()}  # JSON keys are str
    if isinstance(hint, type):
        validate = getattr(hint, "model_validate", None)
        if callable(validate):  # pydantic
            return validate(value)
        if dataclasses.is_dataclass(hint):
            hints = _hints(hint)
            return hint(
                **{
                    f.name: decode(value[f.name], hints.get(f.name, Any))
                    for f in dataclasses.fields(hint)
                    if f.name in value and f.init
                }
            )
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is decimal.Decimal:
            return decimal.Decimal(str(value))
        if hint is _dt.datetime:
            return _dt.datetime.fromisoformat(value)
        if hint is _dt.date:
            return _dt.date.fromisoformat(value)
        if hint is uuid.UUID:
            return uuid.UUID(value)
        if hint is float and isinstance(value, (int, str)):
            return float(value)
        if hint is int and isinstance(value, str):
            return int(value)
    return value


_ROW_SESSIONS = threading.local()  # sessions ``_load`` opened for the current call


def _is_row(value: Any) -> bool:
    """An instance of a SQLAlchemy or Django model (without importing either)."""
    return not isinstance(value, type) and (
        hasattr(value, "_sa_instance_state")
        or hasattr(getattr(value, "_meta", None), "concrete_fields")
    )


def _row(value: dict[str, Any], hint: Any) -> Any:
    """A row sent over the wire: loaded by key when ``hint`` (or a member of an optional
    ``hint``) is an ORM model of this service, else a ``ReadRow``."""
    options = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    if isinstance(hint, typing.TypeVar):  # ``TypeVar("S", Case, Incident)``
        options = hint.__constraints__ or (hint.__bound__,)
    for model in options:
        if (
            isinstance(model, type)
            and model.__name__ == value[ROW]
            and (hasattr(model, "__mapper__") or hasattr(model, "_meta"))
        ):
            return _load(model, value["columns"])
    return ReadRow(value[ROW], value["columns"])


def _load(model: Any, columns: dict[str, Any]) -> Any:
    """The owner's own row of ``model`` with the key in ``columns`` (its session, its
    database), so that what the function changes on it is saved by its unit of work."""
    meta = getattr(model, "_meta", None)
    if meta is not None and hasattr(meta, "pk"):  # Django
        return model.objects.get(pk=columns[meta.pk.attname])
    from sqlalchemy import inspect as sa_inspect

    mapper: Any = sa_inspect(model)
    key = tuple(columns[mapper.get_property_by_column(c).key] for c in mapper.primary_key)
    session = getattr(getattr(model, "query", None), "session", None)
    if session is None and ROW_SESSION is not None:
        session = ROW_SESSION()
        # kept (and committed or rolled back, then closed) until the call ends
        _ROW_SESSIONS.__dict__.setdefault("opened", []).append(session)
    if session is None:
        raise NotExtractedError(f"{model.__name__}: no session to load the row sent with")
    row = session.get(model, key[0] if len(key) == 1 else key)
    if row is None:
        raise LookupError(f"{model.__name__} {key!r} does not exist")
    return row


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except Exception:  # an annotation that does not resolve here: pass values through
        return {}


# -- client -------------------------------------------------------------------------------------
def base_url(service: str) -> str:
    """``<SERVICE>_URL`` from the environment, else the Kubernetes service name."""
    env = service.upper().replace("-", "_") + "_URL"
    return os.environ.get(env, f"http://{service}:8000").rstrip("/")


# -- read models: another service's ORM model, read over HTTP -------------------------------
READ_OPS = (
    "get",
    "get_or_404",
    "first",
    "first_or_404",
    "one",
    "one_or_none",
    "all",
    "count",
    "exists",
)


class ReadRow:
    """A read-only copy of one row of another service's table (its columns only)."""

    def __init__(self, model: str, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_data", dict(data))

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        raise NotExtractedError(
            f"{self._model}.{name} is not a column the owner sends: read "
            "it through the owner's interface (see MIGRATION.md)"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise NotExtractedError(
            f"{self._model} is read-only here: change it through the "
            "owner's interface (see MIGRATION.md)"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReadRow) and (self._model, self._data) == (
            other._model,
            other._data,
        )

    def __hash__(self) -> int:
        return hash((self._model, tuple(sorted(map(str, self._data.items())))))

    def __repr__(self) -> str:
        return f"<{self._model} (read model) {self._data!r}>"


#: column conditions a read model sends (``Model.col <op> value``), as the owner applies them
WHERE_OPS = {
    "==": "__eq__",
    "!=": "__ne__",
    "<": "__lt__",
    "<=": "__le__",
    ">": "__gt__",
    ">=": "__ge__",
    "in": "in_",
    "not in": "not_in",
    "like": "like",
    "ilike": "ilike",
    "is": "is_",
    "is not": "is_not",
}


class ReadColumn:
    """``Model.col`` of a read model: comparisons and ``in_``/``like``/``ilike``/``is_`` give
    conditions, ``desc()``/``asc()`` an ordering, which the owner applies to its own query."""

    __hash__ = object.__hash__

    def __init__(self, model: ReadModel, name: str) -> None:
        self.model = model
        self.name = name

    def _where(self, op: str, value: Any) -> ReadCondition:
        if isinstance(value, ReadColumn):
            raise NotExtractedError(
                f"{self.model._name}.{self.name} {op} {value.model._name}.{value.name}: a join "
                f"cannot be sent to {self.model._service}; read both by key and join in memory"
            )
        return ReadCondition(self, op, value)

    def __eq__(self, other: object) -> ReadCondition:  # type: ignore[override]
        return self._where("==", other)

    def __ne__(self, other: object) -> ReadCondition:  # type: ignore[override]
        return self._where("!=", other)

    def __lt__(self, other: Any) -> ReadCondition:
        return self._where("<", other)

    def __le__(self, other: Any) -> ReadCondition:
        return self._where("<=", other)

    def __gt__(self, other: Any) -> ReadCondition:
        return self._where(">", other)

    def __ge__(self, other: Any) -> ReadCondition:
        return self._where(">=", other)

    def in_(self, values: Any) -> ReadCondition:
        return self._where("in", list(values))

    def not_in(self, values: Any) -> ReadCondition:
        return self._where("not in", list(values))

    notin_ = not_in

    def like(self, pattern: str) -> ReadCondition:
        return self._where("like", pattern)

    def ilike(self, pattern: str) -> ReadCondition:
        return self._where("ilike", pattern)

    def is_(self, value: Any) -> ReadCondition:
        return self._where("is", value)

    def is_not(self, value: Any) -> ReadCondition:
        return self._where("is not", value)

    isnot = is_not

    def desc(self) -> tuple[str, str]:
        return (self.name, "desc")

    def asc(self) -> tuple[str, str]:
        return (self.name, "asc")


class ReadCondition:
    """``Model.col <op> value`` of a read model, sent to the owner as ``[col, op, value]``."""

    def __init__(self, column: ReadColumn, op: str, value: Any) -> None:
        self.column, self.op, self.value = column, op, value


class ReadQuery:
    """``Model.query`` / ``Model.objects`` of a read model: keyword filters, column conditions,
    ordering and limits, then one of ``READ_OPS`` (or iteration), answered by the owner's
    ``_read.<Model>`` endpoint."""

    def __init__(
        self, model: ReadModel, filters: dict[str, Any], shape: dict[str, Any] | None = None
    ) -> None:
        self.model = model
        self.filters = filters
        #: ``where`` ([column, op, value]), ``order`` ([column, direction]), ``limit``, ``offset``
        self.shape = shape or {}

    def _with(self, **shape: Any) -> ReadQuery:
        return ReadQuery(self.model, self.filters, {**self.shape, **shape})

    def filter_by(self, **filters: Any) -> ReadQuery:
        return ReadQuery(self.model, {**self.filters, **filters}, self.shape)

    def filter(self, *conditions: Any, **filters: Any) -> ReadQuery:
        where = list(self.shape.get("where", []))
        for c in conditions:
            if not (isinstance(c, ReadCondition) and c.column.model._name == self.model._name):
                raise NotExtractedError(
                    f"{self.model._name}: only keyword filters and conditions on its own columns can be sent to "
                    f"{self.model._service} (see MIGRATION.md)"
                )
            where.append([c.column.name, c.op, encode(c.value)])
        query = self._with(where=where) if conditions else self
        return query.filter_by(**filters) if filters else query

    def order_by(self, *columns: Any) -> ReadQuery:
        order = list(self.shape.get("order", []))
        for c in columns:
            if isinstance(c, ReadColumn):
                c = c.asc()
            if not (isinstance(c, tuple) and len(c) == 2):
                raise NotExtractedError(
                    f"{self.model._name}: only its own columns can order a read (see MIGRATION.md)"
                )
            order.append(list(c))
        return self._with(order=order)

    def limit(self, count: int) -> ReadQuery:
        return self._with(limit=int(count))

    def offset(self, count: int) -> ReadQuery:
        return self._with(offset=int(count))

    def _ask(self, op: str, key: Any = None) -> Any:
        return self.model.fetch(self.filters, op, key, **self.shape)

    def get(self, key: Any = None, **filters: Any) -> Any:
        if filters:  # Django: objects.get(field=value)
            return self.filter_by(**filters)._ask("one")
        return self._ask("get", key)

    def get_or_404(self, key: Any) -> Any:
        return self._found(self._ask("get", key))

    def first(self) -> Any:
        return self._ask("first")

    def first_or_404(self) -> Any:
        return self._found(self._ask("first"))

    def one(self) -> Any:
        return self._ask("one")

    def one_or_none(self) -> Any:
        return self._ask("one_or_none")

    def all(self) -> list[Any]:
        return self._ask("all")

    def count(self) -> int:
        return self._ask("count")

    def exists(self) -> bool:
        return self._ask("exists")

    def __iter__(self):  # noqa: ANN204
        return iter(self.all())

    def __len__(self) -> int:
        return self.count()

    def _found(self, row: Any) -> Any:
        if row is None:
            try:
                from werkzeug.exceptions import NotFound
            except ImportError:
                raise self.model.DoesNotExist(self.model._name) from None
            raise NotFound()
        return row


class ReadModel:
    """Stands in for another service's ORM model in a caller that only reads it: the owner
    answers ``Model.query...`` / ``Model.objects...`` reads with the columns; anything else
    fails like ``Unavailable``."""

    def __init__(
        self,
        service: str,
        name: str,
        helpers: dict[str, str] | None = None,
        columns: tuple[str, ...] = (),
    ) -> None:
        self._service = service
        self._name = name
        self._columns = columns  # ``Model.col`` gives a ReadColumn for query conditions
        #: the model's class methods that only read (``Model.get(key)``, ``Model.get_by(**kw)``):
        #: method -> the read that answers them
        self._helpers = helpers or {}
        self.DoesNotExist = type("DoesNotExist", (LookupError,), {})
        self.MultipleObjectsReturned = type("MultipleObjectsReturned", (LookupError,), {})

    @property
    def query(self) -> ReadQuery:
        return ReadQuery(self, {})

    objects = query

    def fetch(self, filters: dict[str, Any], op: str, key: Any = None, **shape: Any) -> Any:
        result = call(
            self._service,
            f"_read.{self._name}",
            _no_hints,
            [],
            {"filters": filters, "op": op, "key": key, **shape},
            idempotent=True,
        )
        if op in ("count", "exists"):
            return result
        rows = [ReadRow(self._name, r) for r in result or []]
        if op == "all":
            return rows
        if op == "one" and not rows:
            raise self.DoesNotExist(f"{self._name} matching {filters}")
        if op in ("one", "one_or_none") and len(rows) > 1:
            raise self.MultipleObjectsReturned(f"{self._name} matching {filters}")
        return rows[0] if rows else None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocols (``typing`` asks for some): not there
            raise AttributeError(name)
        if name in self._helpers:
            return self._helper(self._helpers[name])
        if name in self._columns:
            return ReadColumn(self, name)
        raise NotExtractedError(
            f"{self._name}.{name}: only reads of {self._name} go to {self._service} (see MIGRATION.md)"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotExtractedError(
            f"{self._name} belongs to {self._service}: create it through "
            f"{self._service}'s interface (see MIGRATION.md)"
        )

    def _helper(self, op: str) -> Callable[..., Any]:
        def read(*args: Any, **filters: Any) -> Any:
            if op == "get" and len(args) == 1 and not filters:
                return self.fetch({}, "get", args[0])
            if args or op == "get":
                raise NotExtractedError(
                    f"{self._name}: only a key or keyword filters can be sent to {self._service}"
                )
            return self.fetch(filters, op)

        return read

    def __instancecheck__(self, obj: Any) -> bool:  # ``isinstance(row, Model)``
        return isinstance(obj, ReadRow) and object.__getattribute__(obj, "_model") == self._name

    def __or__(self, other: Any) -> Any:  # ``Model | None`` in an evaluated type hint
        return typing.Union[self, other]  # noqa: UP007 - values, not hints: | would recurse

    def __ror__(self, other: Any) -> Any:
        return typing.Union[other, self]  # noqa: UP007


def linked_rows(row: Any, link: Any, service: str, name: str) -> list[Any]:
    """A many-to-many relationship of ``row`` with another service's model through ``link``
    (a link table of ``row``'s database, or its name): the other rows by the keys it holds."""
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    table = type(row).__table__
    if isinstance(link, str):
        link = table.metadata.tables[link]
    mine = [
        (c, fk)
        for c in link.c
        for fk in c.foreign_keys
        if fk.target_fullname.split(".")[0] == table.name
    ]
    theirs = [c for c in link.c if c not in [m[0] for m in mine]]
    session = object_session(row)
    if len(mine) != 1 or len(theirs) != 1 or session is None:
        raise NotExtractedError(f"{name} rows of {type(row).__name__}: cannot read {link.name}")
    column, fk = mine[0]
    key = getattr(row, fk.target_fullname.split(".")[1])
    other = theirs[0]
    target = next(iter(other.foreign_keys), None)
    found = [k for (k,) in session.execute(select(other).where(column == key))]
    model = ReadModel(
        service, name, columns=(target.target_fullname.split(".")[1] if target else "id",)
    )
    return model.query.filter(getattr(model, model._columns[0]).in_(found)).all() if found else []


def _no_hints() -> Any:  # the answer of a read is plain JSON
    return None


def reader(model: Any, session_factory: Callable[[], Any] | None = None) -> Callable[..., Any]:
    """The owner's side of a read model: ``read(filters, op, key)`` with its own ORM."""

    def read(
        filters: dict,
        op: str,
        key: Any = None,
        where: list | None = None,
        order: list | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Any:
        if op not in READ_OPS:
            raise ValueError(f"unknown read {op!r}")
        if hasattr(model, "objects"):  # Django
            if where or order or limit or offset:
                raise ValueError("column conditions are read from SQLAlchemy models only")
            rows = model.objects.filter(**({"pk": key} if op in ("get", "get_or_404") else filters))
            if op in ("count", "exists"):
                return getattr(rows, op)()
            return [_columns(r) for r in rows[: _limit(op)]]
        session = None
        query = getattr(model, "query", None)
        if query is None:
            session = session_factory() if session_factory else None
            if session is None:
                raise NotExtractedError(f"{model.__name__}: no session to read it with")
            query = session.query(model)
        try:
            if op in ("get", "get_or_404"):
                found = query.session.get(model, key)
                return [] if found is None else [_columns(found)]
            query = _shaped(model, query.filter_by(**filters), where or [], order or [])
            if offset:
                query = query.offset(int(offset))
            if limit is not None:
                query = query.limit(int(limit))
            if op == "count":
                return query.count()
            if op == "exists":
                return query.first() is not None
            most = _limit(op)
            return [_columns(r) for r in (query.limit(most) if most else query).all()]
        finally:
            if session is not None:
                session.close()

    return read


def _shaped(model: Any, query: Any, where: list, order: list) -> Any:
    """The read model's column conditions and ordering applied to the owner's query: only
    the model's own columns and the operators of ``WHERE_OPS``."""
    from sqlalchemy import inspect as sa_inspect

    columns = {a.key for a in sa_inspect(model).mapper.column_attrs}
    for name, op, value in where:
        if name not in columns or op not in WHERE_OPS:
            raise ValueError(f"cannot read {model.__name__} by {name} {op}")
        query = query.filter(getattr(getattr(model, name), WHERE_OPS[op])(value))
    for name, way in order:
        if name not in columns or way not in ("asc", "desc"):
            raise ValueError(f"cannot order {model.__name__} by {name} {way}")
        query = query.order_by(getattr(getattr(model, name), way)())
    return query


def _limit(op: str) -> int | None:
    return 1 if op == "first" else 2 if op in ("one", "one_or_none") else None


def _columns(row: Any) -> dict[str, Any]:
    """The column values of one ORM row (Django or SQLAlchemy), as JSON data."""
    meta = getattr(row, "_meta", None)
    if meta is not None:
        return {f.attname: encode(getattr(row, f.attname)) for f in meta.concrete_fields}
    from sqlalchemy import inspect as sa_inspect

    return {a.key: encode(getattr(row, a.key)) for a in sa_inspect(row).mapper.column_attrs}


async def acall(*args: Any, **kwargs: Any) -> Any:
    """``call`` for a coroutine function's client: the blocking request runs in a thread."""
    import asyncio

    return await asyncio.to_thread(call, *args, **kwargs)


def call(
    service: str,
    endpoint: str,
    func: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    idempotent: bool,
    errors: dict[str, type] | None = None,
    key: str | None = None,
) -> Any:
    """Call ``endpoint`` of ``service`` and return its result decoded with ``func``'s hints.

    Every call carries an ``Idempotency-Key`` (``key``, else a new one), the same on each
    retry, so the owner never applies one call twice; each observer in ``CALL_OBSERVERS``
    hears of it (the service's RED metrics)."""
    started, status = time.perf_counter(), [0]
    saga_id, derived = _saga_step(endpoint)
    try:
        return _call(
            service,
            endpoint,
            func,
            args,
            kwargs,
            idempotent,
            errors,
            status,
            key or derived or uuid.uuid4().hex,
            saga_id,
        )
    finally:
        for observer in CALL_OBSERVERS:
            observer(service, endpoint, status[0], time.perf_counter() - started)


def _call(
    service: str,
    endpoint: str,
    func: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    idempotent: bool,
    errors: dict[str, type] | None,
    status: list[int],
    key: str,
    saga_id: str | None = None,
) -> Any:
    url = f"{base_url(service)}/internal/{endpoint}"
    body = json.dumps({"args": encode(list(args)), "kwargs": encode(kwargs)}).encode("utf-8")
    attempts = max(1, RETRIES) if idempotent else 1
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(2.0, 0.1 * 2**attempt))
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": key,
        }
        if saga_id:
            headers[SAGA_HEADER] = saga_id
        for provider in HEADER_PROVIDERS:
            headers.update(provider())
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                status[0] = response.status
                payload = json.loads(response.read().decode("utf-8") or "null")
            return decode(
                payload.get("result") if isinstance(payload, dict) else None,
                _hints(func).get("return", Any),
            )
        except urllib.error.HTTPError as exc:
            status[0] = exc.code
            if exc.code in RETRY_STATUS and attempt + 1 < attempts:
                last = exc
                continue
            raise _error_from(exc, service, endpoint, errors or {}) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last, status[0] = exc, 0
            continue
    raise ServiceUnavailable(
        f"{service} did not answer {endpoint} after {attempts} attempt(s): {last}", 0
    ) from None


def _error_from(
    exc: urllib.error.HTTPError, service: str, endpoint: str, errors: dict[str, type]
) -> Exception:
    try:
        payload = json.loads(exc.read().decode("utf-8"))
        info = payload.get("error", {}) if isinstance(payload, dict) else {}
    except (ValueError, OSError):
        info = {}
    if not isinstance(info, dict):  # another shape of error body, e.g. {"error": "internal"}
        info = {"message": str(info)}
    kind = str(info.get("type", ""))
    message = str(info.get("message", exc.reason))
    if exc.code == ERROR_STATUS and kind:
        # the caller's copy of the class, a builtin, or a class of a module this process has
        # already imported (the shared kernel's errors); never imports anything new
        module = sys.modules.get(str(info.get("module", "")))
        cls = errors.get(kind) or getattr(builtins, kind, None) or getattr(module, kind, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                error = cls(*info.get("args", [message]))
            except Exception:
                error = cls.__new__(cls)
                Exception.__init__(error, message)
            for key, value in (info.get("attrs") or {}).items():
                try:
                    setattr(error, key, value)
                except (AttributeError, TypeError):
                    pass
            return error
    if exc.code in RETRY_STATUS:
        return ServiceUnavailable(f"{service}/{endpoint}: HTTP {exc.code}", exc.code, kind)
    return RemoteError(f"{service}/{endpoint}: HTTP {exc.code}: {message}", exc.code, kind)


# -- server -------------------------------------------------------------------------------------
#: answers already given, by idempotency key (bounded; the oldest are forgotten first)
_REPLAYS: dict[str, tuple[dict[str, Any], int]] = {}
_REPLAY_LOCK = threading.Lock()
REPLAY_LIMIT = 10_000


def dispatch(
    func: Callable[..., Any],
    payload: Any,
    inject: dict[str, Callable[[], Any]] | None = None,
    key: str | None = None,
    saga: str | None = None,
    session: Any = None,
) -> tuple[dict[str, Any], int]:
    """Run ``func`` with the JSON payload's arguments; return (JSON body, HTTP status).

    ``inject``: parameter -> session factory; each such parameter gets a session of this
    service's own, committed when ``func`` returns, rolled back when it raises, then closed.
    ``key``: the caller's idempotency key: a call already answered under it (a retry after a
    lost answer) gets the same answer again without running ``func`` a second time.
    ``saga``: the caller's saga (``Saga-Id`` header): the answer is kept in this service's
    database (``STORE``), written in the same transaction as what ``func`` wrote (an injected
    session, else ``session``, the unit of work the endpoint commits), so it survives a restart;
    calls ``func`` makes in turn get keys derived from ``key``.
    """
    durable = STORE
    if durable is not None and key and saga:
        stored = durable.answer(key)
        if stored is not None:
            return stored
        with _scope(key):
            answer = _dispatch(func, payload, inject, key)
        if answer[1] == 200 and not inject:  # (an injected session already holds it)
            durable.remember(key, answer, session)  # the endpoint's commit keeps both
        elif answer[1] == ERROR_STATUS:
            if session is not None:
                session.rollback()  # what failed is undone first; then the answer is kept
            durable.remember(key, answer)
        return answer
    if key:
        with _REPLAY_LOCK:
            if key in _REPLAYS:
                return _REPLAYS[key]
        answer = _dispatch(func, payload, inject)
        if answer[1] in (200, ERROR_STATUS):
            with _REPLAY_LOCK:
                _REPLAYS.setdefault(key, answer)
                while len(_REPLAYS) > REPLAY_LIMIT:
                    _REPLAYS.pop(next(iter(_REPLAYS)))
                return _REPLAYS[key]
        return answer
    return _dispatch(func, payload, inject)


def _dispatch(
    func: Callable[..., Any],
    payload: Any,
    inject: dict[str, Callable[[], Any]] | None,
    key: str | None = None,
) -> tuple[dict[str, Any], int]:
    if not isinstance(payload, dict):
        return {"error": {"type": "BadRequest", "message": "expected a JSON object"}}, 400
    import inspect

    # sessions of the call (rows sent back, injected parameters): one unit of work
    opened: list[Any] = []
    _ROW_SESSIONS.opened = opened
    try:
        args, kwargs = _arguments(func, payload)
        for name, factory in (inject or {}).items():
            kwargs[name] = factory()
            opened.append(kwargs[name])
        result = func(*args, **kwargs)
        if inspect.iscoroutine(result):  # a coroutine function: run to its end here
            import asyncio

            result = asyncio.run(result)
        body = {"result": encode(result)}
        opened[:] = dict.fromkeys(opened)  # a scoped session may have been handed out twice
        if key and inject and opened and STORE is not None:  # with what the function wrote
            STORE.remember(key, (body, 200), opened[0])
        for opened_session in opened:
            opened_session.commit()
        return body, 200
    except Exception as exc:  # the function's own error: sent back for the caller to re-raise
        for opened_session in opened:
            opened_session.rollback()
        return {
            "error": {
                "type": type(exc).__name__,
                "module": type(exc).__module__,
                "message": str(exc),
                "args": _plain_args(exc),
                "attrs": _plain_attrs(exc),
            }
        }, ERROR_STATUS
    finally:
        for opened_session in opened:
            opened_session.close()


def _arguments(
    func: Callable[..., Any], payload: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """The payload's arguments decoded with ``func``'s hints (a row it sends back is loaded
    here, so a row that no longer exists is an error of the call)."""
    import inspect

    hints = _hints(func)
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p for p in params if p.kind == p.VAR_POSITIONAL), None)
    args = []
    for i, value in enumerate(payload.get("args") or []):
        p = positional[i] if i < len(positional) else star
        args.append(decode(value, hints.get(p.name, Any) if p else Any))
    kwargs = {k: decode(v, hints.get(k, Any)) for k, v in (payload.get("kwargs") or {}).items()}
    return args, kwargs


def _plain_attrs(exc: Exception) -> dict[str, Any]:
    """The exception's own attributes that are plain data (kept when it is re-raised)."""
    out = {}
    for key, value in vars(exc).items():
        if key.startswith("_"):
            continue
        try:
            out[key] = encode(value)
        except TypeError:
            continue
    return out


def _plain_args(exc: Exception) -> list[Any]:
    try:
        return [encode(a) for a in exc.args]
    except TypeError:
        return [str(exc)]


# -- sagas: a state-changing request that calls other services ends, even after a failure ----
#: header naming the caller's saga on an internal call (the owner then keeps its answer)
SAGA_HEADER = "Saga-Id"
#: this service's durable saga state, in its own database (``install_sagas``); None: the
#: replay cache stays in memory and no request is run again
STORE: SagaStore | None = None
#: seconds between two runs of the relay in each process (0: only ``POST RELAY_PATH``)
RELAY_SECONDS = float(os.environ.get("SAGA_RELAY_SECONDS", "30"))
#: a saga still failing after this many runs is left for a person (``last_error`` says why)
RELAY_ATTEMPTS = int(os.environ.get("SAGA_RELAY_ATTEMPTS", "20"))
RELAY_PATH = "/internal/_saga/relay"
#: answers kept for other services' saga calls are deleted after this many seconds (a caller's
#: relay gives up long before: ``RELAY_ATTEMPTS`` runs, ``RELAY_SECONDS`` apart); 0 keeps them
ANSWERS_MAX_AGE = float(os.environ.get("SAGA_ANSWERS_MAX_AGE", str(7 * 24 * 3600)))
#: request headers that carry the caller's credentials: kept while the relay may run the
#: request again (the route checks them again then), blanked once the saga is given up
CREDENTIAL_HEADERS = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")
#: a run holds its saga this long before another process may run it again
LEASE_SECONDS = 120.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: paths whose requests are never sagas: other services' calls, probes, metrics
NOT_SAGAS = ("/internal/", "/healthz", "/readyz", "/metrics")
_SAGA: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "interservice_saga", default=None
)
_log = logging.getLogger("interservice.saga")


def _saga_step(endpoint: str) -> tuple[str | None, str | None]:
    """(saga id, key of this call) inside a saga, else (None, None). The n-th call of a run
    gets the same key in every run, so a run after a failure is answered what the owners
    already did and only does what is left."""
    state = _SAGA.get()
    if state is None:
        return None, None
    state[1] += 1
    key = f"{state[0]}:{state[1]}:{endpoint}"
    if len(key) > 200:  # nested sagas: keep keys short enough for the owner's table
        key = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return state[0], key


@contextlib.contextmanager
def _scope(saga_id: str | None):  # noqa: ANN202
    token = _SAGA.set([saga_id, 0] if saga_id else None)
    try:
        yield
    finally:
        _SAGA.reset(token)


_DDL = (
    "CREATE TABLE IF NOT EXISTS interservice_answers (answer_key VARCHAR(200) PRIMARY KEY, "
    "status INTEGER NOT NULL, body TEXT NOT NULL, created FLOAT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS interservice_outbox (saga_id VARCHAR(64) PRIMARY KEY, "
    "request TEXT NOT NULL, attempts INTEGER NOT NULL, lease FLOAT NOT NULL, "
    "last_error TEXT NOT NULL, created FLOAT NOT NULL)",
)


class SagaStore:
    """Two tables in the service's own database (SQLAlchemy): ``interservice_outbox``, the
    requests of sagas that have not ended (what the relay runs again), and
    ``interservice_answers``, the answers given to other services' saga calls (so a retried
    call is answered again, never applied twice)."""

    def __init__(self, bind: Callable[[], Any]) -> None:
        self._bind = bind
        self._ready: Any = None
        self._tidied = 0.0
        self._lock = threading.Lock()

    def engine(self) -> Any:
        engine = self._bind()
        if self._ready is not engine:
            from sqlalchemy import text

            with self._lock, engine.begin() as conn:
                for ddl in _DDL:
                    conn.execute(text(ddl))
            self._ready = engine
        return engine

    def _run(self, sql: str, session: Any = None, **params: Any) -> Any:
        from sqlalchemy import text

        if session is not None:
            self.engine()
            return session.execute(text(sql), params)
        with self.engine().begin() as conn:
            result = conn.execute(text(sql), params)
            return result.fetchall() if result.returns_rows else result.rowcount

    def answer(self, key: str) -> tuple[dict[str, Any], int] | None:
        rows = self._run(
            "SELECT status, body FROM interservice_answers WHERE answer_key = :k", k=key
        )
        return (json.loads(rows[0][1]), int(rows[0][0])) if rows else None

    def remember(self, key: str, answer: tuple[dict[str, Any], int], session: Any = None) -> None:
        """Keep ``answer``; in ``session``'s transaction when given (committed by its owner)."""
        try:
            self._run(
                "INSERT INTO interservice_answers (answer_key, status, body, created) "
                "VALUES (:k, :s, :b, :t)",
                session,
                k=key,
                s=answer[1],
                b=json.dumps(answer[0]),
                t=time.time(),
            )
        except Exception as exc:  # the same key answered by a concurrent run: keep that one
            if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                raise

    def open(self, saga_id: str, request: dict[str, Any]) -> None:
        self._run(
            "INSERT INTO interservice_outbox (saga_id, request, attempts, lease, "
            "last_error, created) VALUES (:i, :r, 1, :l, '', :t)",
            i=saga_id,
            r=json.dumps(request),
            l=time.time() + LEASE_SECONDS,
            t=time.time(),
        )

    def close(self, saga_id: str) -> None:
        self._run("DELETE FROM interservice_outbox WHERE saga_id = :i", i=saga_id)

    def failed(self, saga_id: str, why: str) -> None:
        self._run(
            "UPDATE interservice_outbox SET last_error = :e, lease = 0 WHERE saga_id = :i",
            e=why[:500],
            i=saga_id,
        )
        self._forget_if_given_up(saga_id)

    def _forget_if_given_up(self, saga_id: str) -> None:
        """Blank the credentials of a saga the relay will not run again (the row stays, with
        its request and ``last_error``, for a person)."""
        rows = self._run(
            "SELECT request FROM interservice_outbox WHERE saga_id = :i AND attempts >= :a",
            i=saga_id,
            a=RELAY_ATTEMPTS,
        )
        if not rows:
            return
        request = json.loads(rows[0][0])
        request.update({h: "" for h in CREDENTIAL_HEADERS if h in request})
        self._run(
            "UPDATE interservice_outbox SET request = :r WHERE saga_id = :i",
            r=json.dumps(request),
            i=saga_id,
        )

    def prune_answers(self, max_age: float | None = None) -> int:
        """Delete answers older than ``max_age`` seconds (``ANSWERS_MAX_AGE``; 0: none)."""
        age = ANSWERS_MAX_AGE if max_age is None else max_age
        if age <= 0:
            return 0
        return int(
            self._run("DELETE FROM interservice_answers WHERE created < :t", t=time.time() - age)
        )

    def tidy(self) -> None:
        """Old answers pruned, at most once an hour per process (each relay run asks)."""
        if time.time() - self._tidied >= 3600:
            self._tidied = time.time()
            self.prune_answers()

    def pending(self, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        rows = self._run(
            "SELECT saga_id, request FROM interservice_outbox WHERE attempts < :a "
            "AND lease < :n ORDER BY created, saga_id LIMIT :m",
            a=RELAY_ATTEMPTS,
            n=time.time(),
            m=limit,
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def claim(self, saga_id: str) -> bool:
        """Take the saga for one run (False: another process has it)."""
        now = time.time()
        return (
            self._run(
                "UPDATE interservice_outbox SET lease = :l, attempts = attempts + 1 "
                "WHERE saga_id = :i AND lease < :n",
                l=now + LEASE_SECONDS,
                i=saga_id,
                n=now,
            )
            == 1
        )


#: the parts of a WSGI environ a saga's request is run again with
_ENVIRON_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "wsgi.url_scheme",
)


class SagaMiddleware:
    """WSGI: every state-changing request to the service's own routes is a saga. Its request
    goes into the outbox before it runs; its calls to other services carry keys derived from
    the saga; it leaves the outbox when it ends with an answer below 500. A request that
    failed (a service down, a crash) stays there and the relay runs it again, in this process,
    until it ends: the owners answer the calls already made from their stores, so only what is
    left is done. ``POST /internal/_saga/relay`` runs the relay now."""

    def __init__(
        self,
        app: Callable[..., Any],
        skip: tuple[str, ...] = NOT_SAGAS,
    ) -> None:
        self.app = app
        self.skip = skip
        self._relaying = threading.Lock()
        self._timer: threading.Thread | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == RELAY_PATH and method == "POST" and STORE is not None:
            body = json.dumps(self.relay()).encode("utf-8")
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if STORE is None or method in SAFE_METHODS or path.startswith(self.skip):
            return self.app(environ, start_response)
        self._start_timer()
        saga_id = environ.get("interservice.saga")  # set by the relay only, never by a header
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if saga_id is None:
            saga_id = uuid.uuid4().hex
            request = {k: environ[k] for k in _ENVIRON_KEYS if isinstance(environ.get(k), str)}
            request.update(
                {k: v for k, v in environ.items() if k.startswith("HTTP_") and isinstance(v, str)}
            )
            request["body"] = base64.b64encode(body).decode("ascii")
            STORE.open(saga_id, request)
        statuses: list[int] = []

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        with _scope(saga_id):
            try:
                result = self.app(environ, capture)
                try:
                    chunks = list(result)
                finally:
                    getattr(result, "close", lambda: None)()
            except BaseException as exc:
                STORE.failed(saga_id, f"{type(exc).__name__}: {exc}")
                raise
        if statuses and statuses[-1] < 500:
            STORE.close(saga_id)
        else:
            STORE.failed(saga_id, f"HTTP {statuses[-1] if statuses else 0}")
        return chunks

    def relay(self, limit: int = 100) -> dict[str, int]:
        """Run each pending saga's request again; how many ran and how many are left."""
        ran = 0
        store = STORE
        if store is None:
            return {"ran": 0, "pending": 0}
        with self._relaying:
            for saga_id, request in store.pending(limit):
                if not store.claim(saga_id):
                    continue
                ran += 1
                environ = {k: v for k, v in request.items() if k != "body"}
                environ.update(
                    {
                        "wsgi.input": io.BytesIO(base64.b64decode(request["body"])),
                        "wsgi.errors": sys.stderr,
                        "wsgi.version": (1, 0),
                        "wsgi.multithread": True,
                        "wsgi.multiprocess": False,
                        "wsgi.run_once": False,
                        "interservice.saga": saga_id,
                    }
                )
                environ.setdefault("wsgi.url_scheme", "http")
                try:
                    self(environ, _no_response)
                except Exception as exc:  # noqa: BLE001 - kept in the outbox with its error
                    _log.warning("saga %s failed again: %s", saga_id, exc)
            store.tidy()
        return {"ran": ran, "pending": len(store.pending(limit))}

    def _start_timer(self) -> None:
        """The relay in the background of this process, every ``RELAY_SECONDS``."""
        if self._timer is not None or RELAY_SECONDS <= 0:
            return

        def loop() -> None:
            while True:
                time.sleep(RELAY_SECONDS)
                try:
                    self.relay()
                except Exception as exc:  # noqa: BLE001 - the database may be down: next time
                    _log.warning("saga relay: %s", exc)

        self._timer = threading.Thread(target=loop, name="saga-relay", daemon=True)
        self._timer.start()


class AsgiSagaMiddleware:
    """``SagaMiddleware`` for an ASGI app (FastAPI): the same outbox, relay and derived keys.

    The request (method, path, query, headers, body) is kept in the outbox in the form the
    WSGI middleware keeps it; the relay builds an ASGI scope from it and runs the app again.
    The saga's step counter lives in a context variable, which FastAPI hands to a sync
    endpoint's worker thread and ``acall`` to its own, so every call of a run is counted."""

    def __init__(self, app: Callable[..., Any], skip: tuple[str, ...] = NOT_SAGAS) -> None:
        self.app, self.skip = app, skip
        self._relaying: Any = None  # an asyncio.Lock, made on the loop that first relays
        self._timer: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        import asyncio

        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if path == RELAY_PATH and method == "POST" and STORE is not None:
            body = json.dumps(await self.relay()).encode("utf-8")
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            return await send({"type": "http.response.body", "body": body})
        store = STORE
        if store is None or method in SAFE_METHODS or path.startswith(self.skip):
            return await self.app(scope, receive, send)
        self._start_timer()
        chunks = []
        while True:  # the whole body first: it goes into the outbox before the request runs
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        saga_id = scope.get("interservice.saga")  # set by the relay only, never by a header
        if saga_id is None:
            saga_id = uuid.uuid4().hex
            await asyncio.to_thread(store.open, saga_id, _asgi_request(scope, body))
        sent = [False]

        async def replay() -> dict[str, Any]:
            if not sent[0]:
                sent[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        statuses: list[int] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))
            await send(message)

        with _scope(saga_id):
            try:
                await self.app(scope, replay, capture)
            except BaseException as exc:
                await asyncio.to_thread(store.failed, saga_id, f"{type(exc).__name__}: {exc}")
                raise
        if statuses and statuses[-1] < 500:
            await asyncio.to_thread(store.close, saga_id)
        else:
            status = statuses[-1] if statuses else 0
            await asyncio.to_thread(store.failed, saga_id, f"HTTP {status}")

    async def relay(self, limit: int = 100) -> dict[str, int]:
        """Run each pending saga's request again; how many ran and how many are left."""
        import asyncio

        store = STORE
        if store is None:
            return {"ran": 0, "pending": 0}
        if self._relaying is None:
            self._relaying = asyncio.Lock()
        ran = 0
        async with self._relaying:
            for saga_id, request in await asyncio.to_thread(store.pending, limit):
                if not await asyncio.to_thread(store.claim, saga_id):
                    continue
                ran += 1
                try:
                    await self(_asgi_scope(request, saga_id), _no_more(request), _ignore)
                except Exception as exc:  # noqa: BLE001 - kept in the outbox with its error
                    _log.warning("saga %s failed again: %s", saga_id, exc)
            await asyncio.to_thread(store.tidy)
        return {"ran": ran, "pending": len(await asyncio.to_thread(store.pending, limit))}

    def _start_timer(self) -> None:
        """The relay as a task of this process's event loop, every ``RELAY_SECONDS``."""
        import asyncio

        if self._timer is not None or RELAY_SECONDS <= 0:
            return

        async def loop() -> None:
            while True:
                await asyncio.sleep(RELAY_SECONDS)
                try:
                    await self.relay()
                except Exception as exc:  # noqa: BLE001 - the database may be down: next time
                    _log.warning("saga relay: %s", exc)

        self._timer = asyncio.get_running_loop().create_task(loop())


def _asgi_request(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """An ASGI request as the outbox keeps requests (WSGI environ names, headers ``HTTP_*``)."""
    server = scope.get("server") or ("", 0)
    client = scope.get("client") or ("", 0)
    request: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "POST"),
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope.get("path", "/"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "wsgi.url_scheme": scope.get("scheme", "http"),
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = "HTTP_" + raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        joiner = "; " if name == "HTTP_COOKIE" else ", "
        request[name] = f"{request[name]}{joiner}{value}" if name in request else value
    request["body"] = base64.b64encode(body).decode("ascii")
    return request


def _asgi_scope(request: dict[str, Any], saga_id: str) -> dict[str, Any]:
    """The ASGI scope of a kept request, marked as a relayed run of ``saga_id``."""
    headers = [
        (k[5:].replace("_", "-").lower().encode("latin-1"), str(v).encode("latin-1"))
        for k, v in request.items()
        if k.startswith("HTTP_") and v
    ]
    port = request.get("SERVER_PORT", "")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": request.get("SERVER_PROTOCOL", "HTTP/1.1").split("/", 1)[-1],
        "method": request.get("REQUEST_METHOD", "POST"),
        "scheme": request.get("wsgi.url_scheme", "http"),
        "path": request.get("PATH_INFO", "/"),
        "raw_path": request.get("PATH_INFO", "/").encode("utf-8"),
        "root_path": request.get("SCRIPT_NAME", ""),
        "query_string": request.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "server": (request.get("SERVER_NAME", ""), int(port) if port.isdigit() else 0),
        "client": (request.get("REMOTE_ADDR", ""), 0),
        "interservice.saga": saga_id,
    }


def _no_more(request: dict[str, Any]) -> Callable[[], Any]:
    """``receive`` of a relayed run: the kept body, then a disconnect."""
    messages = [
        {"type": "http.request", "body": base64.b64decode(request["body"]), "more_body": False}
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


async def _ignore(message: dict[str, Any]) -> None:
    """``send`` of a relayed run: nobody waits for its answer."""


def install_asgi_sagas(app: Any, bind: Callable[[], Any]) -> None:
    """Sagas for a FastAPI service: its store in the database ``bind()`` gives (an SQLAlchemy
    engine or connection) and the middleware around the app."""
    global STORE
    STORE = SagaStore(bind)
    if not any(m.cls is AsgiSagaMiddleware for m in getattr(app, "user_middleware", [])):
        app.add_middleware(AsgiSagaMiddleware)  # once, however often the app is built


def _no_response(status: str, headers: list[Any], exc_info: Any = None) -> Callable[..., None]:
    """``start_response`` of a relayed run: nobody waits for its answer."""
    return lambda data: None


def install_sagas(app: Any, session: Any) -> None:
    """Sagas for a Flask service: its store in the database of ``session`` (the scoped
    session internal calls commit) and the middleware around its WSGI app."""
    global STORE
    STORE = SagaStore(session.get_bind)
    app.wsgi_app = SagaMiddleware(app.wsgi_app)
