"""HTTP+JSON calls between extracted services (copied by migrator into each service as
``interservice/runtime.py``; standard library only, so a service needs no new dependency).

Client side: ``call()`` posts ``{"args": [...], "kwargs": {...}}`` to
``<SERVICE>_URL/internal/<function>`` with a timeout, retries only calls marked idempotent (on
connection errors and 502/503/504), and turns the answer back into Python values using the
function's type hints. Errors raised by the remote function come back as the same exception class
when the caller knows it (copied classes and builtins), else as ``RemoteError``.
Server side: ``dispatch()`` decodes the arguments with the real function's hints, calls it and
encodes the result or the exception.
Trust: every internal call shows the deployment's shared token (``TOKEN_HEADER``, from
``TOKEN_ENV``); ``InternalGuard`` / ``AsgiInternalGuard`` around the service's app refuse the
internal API to anyone else.
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
import hmac
import io
import json
import logging
import os
import sys
import threading
import time
import types
import typing
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
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
#: in a call's payload: the caller drops the result, so none is sent back (``call``'s ``drop``)
DROP = "drop_result"
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


# -- a Django request handed to another service's function -------------------------------------
#: marks a Django request on the wire: what the callee may read of it (migrator checked that
#: it reads nothing else: ``djangoreads.RequestUses``)
REQUEST = "__request__"
#: the ``META`` entries sent beside the ``HTTP_*`` headers
REQUEST_META = ("SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "QUERY_STRING", "CONTENT_TYPE")


def _is_request(value: Any) -> bool:
    """A Django ``HttpRequest`` (without importing Django)."""
    return all(hasattr(value, a) for a in ("META", "GET", "POST", "COOKIES", "path_info"))


def _request_data(request: Any) -> dict[str, Any]:
    """What the owner needs to rebuild ``request``: method, path, query and form values,
    cookies, headers, the session's values, the language and the user's key."""
    session = getattr(request, "session", None)
    data = {
        "method": request.method,
        "path": request.path,
        "path_info": request.path_info,
        "scheme": request.scheme,
        "GET": [[k, v] for k in request.GET for v in request.GET.getlist(k)],
        "POST": [[k, v] for k in request.POST for v in request.POST.getlist(k)],
        "COOKIES": dict(request.COOKIES),
        "META": {
            k: v
            for k, v in request.META.items()
            if isinstance(v, str) and (k.startswith("HTTP_") or k in REQUEST_META)
        },
        "session": {k: encode(session[k]) for k in session.keys()} if session is not None else None,
        "LANGUAGE_CODE": getattr(request, "LANGUAGE_CODE", None),
    }
    if hasattr(request, "user"):  # set by the caller's authentication middleware
        data["user"] = request.user.pk if request.user.is_authenticated else None
    return data


class _Scheme:
    """``request.scheme`` as the caller saw it (behind its proxy)."""

    def __get__(self, request: Any, owner: Any) -> str:
        return request._interservice_scheme


def _request(data: dict[str, Any]) -> Any:
    """The caller's request rebuilt on the owner: a Django ``HttpRequest`` with the values sent,
    the session as a plain dict (the callee only reads it) and ``user`` the owner's user of the
    same key (``AnonymousUser`` when it has none)."""
    from django.http import HttpRequest, QueryDict  # type: ignore[import-untyped]

    cls = type("RemoteRequest", (HttpRequest,), {"scheme": _Scheme()})
    request = cls()
    request._interservice_scheme = data["scheme"]
    request.method, request.path, request.path_info = (
        data["method"],
        data["path"],
        data["path_info"],
    )
    for name in ("GET", "POST"):
        values = QueryDict(mutable=True)
        for k, v in data[name]:
            values.appendlist(k, v)
        values._mutable = False
        setattr(request, name, values)
    request.COOKIES = dict(data["COOKIES"])
    request.META.update(data["META"])
    if data["session"] is not None:
        request.session = dict(data["session"])
    if data["LANGUAGE_CODE"] is not None:
        request.LANGUAGE_CODE = data["LANGUAGE_CODE"]
    if "user" in data:
        request.user = _user_of({USER: data["user"]})
    return request


# -- values -------------------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """Python value -> JSON value (dataclasses, Decimal, dates, UUID and enums included)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, ReadRow):  # a copy of the owner's row goes back as its columns
        return {ROW: value._model, "columns": value._data}
    if _is_row(value):
        return {ROW: type(value).__name__, "columns": _columns(value)}
    if _is_request(value):
        return {REQUEST: _request_data(value)}
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
    if isinstance(value, dict) and REQUEST in value:
        return _request(value[REQUEST])
    if hint is Any or hint is None:  # no hint: still turn the rows inside into rows
        if isinstance(value, list):
            return [decode(v, Any) for v in value]
        if isinstance(value, dict):
            return {k: decode(v, Any) for k, v in value.items()}
        return value
    if value is None:
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
#: the header an internal call shows the shared token in, and the setting that holds it (a
#: Kubernetes Secret, a compose variable): the same value in every service of a deployment
TOKEN_HEADER = "X-Internal-Token"
TOKEN_ENV = "MIGRATOR_INTERNAL_TOKEN"
INTERNAL_PREFIX = "/internal/"


def token_headers() -> dict[str, str]:
    """The token header for a call to another service (none when no token is set: the owner
    then refuses the call and says which setting is missing)."""
    token = os.environ.get(TOKEN_ENV, "")
    return {TOKEN_HEADER: token} if token else {}


def internal_refusal(method: str, path: str, shown: str | None) -> tuple[int, bytes] | None:
    """(status, JSON body) refusing a request to the internal API, or None to let it through.

    The internal API runs the served functions for whoever posts to it, so only the
    deployment's own services may: they show the shared token, compared in constant time.
    With no token set the service refuses every internal call (fails closed) and names the
    setting, so a forgotten Secret shows at the first call, not as an open door."""
    if method != "POST" or not ("/" + path.lstrip("/")).startswith(INTERNAL_PREFIX):
        return None  # (``//internal/x``: some routers merge the slashes)
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        error = {
            "type": "InternalTokenMissing",
            "message": f"{TOKEN_ENV} is not set on this service: it refuses internal calls",
        }
        return 503, json.dumps({"error": error}).encode("utf-8")
    if not shown or not hmac.compare_digest(shown.encode("utf-8"), expected.encode("utf-8")):
        error = {
            "type": "Unauthorized",
            "message": f"internal calls must show this deployment's {TOKEN_HEADER}",
        }
        return 401, json.dumps({"error": error}).encode("utf-8")
    return None


class InternalGuard:
    """WSGI (Flask, Django): the internal API only for callers showing the token."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        refused = internal_refusal(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", ""),
            environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_")),
        )
        if refused is None:
            return self.app(environ, start_response)
        return _wsgi_answer(start_response, *refused)


class AsgiInternalGuard:
    """ASGI (FastAPI): the internal API only for callers showing the token."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            shown = dict(scope.get("headers") or []).get(TOKEN_HEADER.lower().encode("latin-1"))
            refused = internal_refusal(
                scope.get("method", "GET"),
                scope.get("path", ""),
                shown.decode("latin-1") if shown is not None else None,
            )
            if refused is not None:
                await _asgi_answer(send, *refused)
                return
        await self.app(scope, receive, send)


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
    "aggregate",
)


#: model name -> relationship -> (target model, its owner, key column, kind): what a read-only
#: copy of a row of that model reads from the target's owner (``relate``). kind: "one" (the key
#: column is the copy's), "many" (the target's rows whose key is the copy's id), "back" (the
#: first of those)
RELATIONS: dict[str, dict[str, tuple[str, str, str, str]]] = {}


def relate(model: str, relations: dict[str, tuple[str, str, str, str]]) -> None:
    """Let copies of ``model`` rows resolve these relationships (generated clients call it)."""
    RELATIONS.setdefault(model, {}).update(relations)


#: model name -> property -> its getter, run on a read-only copy of a row (``compute``)
COMPUTED: dict[str, dict[str, Callable[[Any], Any]]] = {}


def compute(model: str, getters: dict[str, Callable[[Any], Any]]) -> None:
    """Let copies of ``model`` rows run these getters of the model (generated clients call
    it for properties that read only the row's columns and related rows)."""
    COMPUTED.setdefault(model, {}).update(getters)


#: model name -> its static helpers (``Model.normalize(x)``) a client copied (``share``)
SHARED: dict[str, dict[str, Callable[..., Any]]] = {}


def share(model: str, helpers: dict[str, Callable[..., Any]]) -> None:
    """Let a read model of ``model`` answer these class helpers itself (generated clients
    call it for static helpers that use only their arguments and importable names)."""
    SHARED.setdefault(model, {}).update(helpers)


#: model name -> methods of the model's own code that write its row (``row.save()``,
#: ``row.update(data)``): a copy asks the owner to run them on the row (``ReadRow``)
ROW_WRITES: dict[str, set[str]] = {}
#: model name -> methods of the model's own code that only read its row (``row.serialize()``):
#: a copy asks the owner to run them on the row and gets their plain value (``ReadRow``)
ROW_READS: dict[str, set[str]] = {}


class ReadRow:
    """A read-only copy of one row of another service's table: its columns, and the
    relationships its clients declared (``relate``), each read once from the target's owner
    by the key the copy holds."""

    def __init__(self, model: str, data: dict[str, Any], owner: str | None = None) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_data", dict(data))
        object.__setattr__(self, "_related", {})
        #: the service a read model asked for the row: what the caller writes goes there
        object.__setattr__(self, "_owner", owner)

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        related = object.__getattribute__(self, "_related")
        if name in related:
            return related[name]
        if name in ROW_WRITES.get(self._model, ()) and self._owner is not None:
            return self._owner_method(name)
        if name in ROW_READS.get(self._model, ()) and self._owner is not None:
            key = data.get("id", data.get("pk"))
            if key is None:  # the owner would run it on the class, not on this row
                raise NotExtractedError(f"{self._model}.{name}: the copy has no id to send")
            return lambda *args, **kwargs: ReadModel(self._owner, self._model)._ask(
                name, args, kwargs, key
            )
        rel = RELATIONS.get(self._model, {}).get(name)
        if rel is not None:
            target, service, key, kind = rel
            model = ReadModel(service, target)
            found: Any
            if kind == "via":  # many-to-many: the row's owner (the target's too) reads it
                ask = {"filters": {}, "op": "related", "key": data.get("id"), "attr": name}
                answer = call(service, f"_read.{self._model}", _no_hints, [], ask, idempotent=True)
                found = [ReadRow(target, r, service) for r in answer or []]
            elif kind != "one":
                found = model.fetch({key: data.get("id")}, "all" if kind == "many" else "first")
            else:
                found = None if data.get(key) is None else model.fetch({}, "get", data[key])
            related[name] = found
            return found
        getter = COMPUTED.get(self._model, {}).get(name)
        if getter is not None:
            return getter(self)
        raise NotExtractedError(
            f"{self._model}.{name} is not a column the owner sends: read "
            "it through the owner's interface (see MIGRATION.md)"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        """A column the caller changes is sent to the owner at once, keyed by the row's id
        (one call, with its idempotency key): the owner's row and this copy change together."""
        data = object.__getattribute__(self, "_data")
        model = object.__getattribute__(self, "_model")
        owner = object.__getattribute__(self, "_owner")
        if name not in data or name in ("id", "pk") or owner is None:
            raise NotExtractedError(
                f"{model} is read-only here: change it through the "
                "owner's interface (see MIGRATION.md)"
            )
        changed = ReadModel(owner, model).fetch(
            {}, "update", data.get("id", data.get("pk")), values={name: _key_of(value)}
        )
        data.update(changed or {})

    def _owner_method(self, name: str) -> Callable[..., Any]:
        """``row.<name>(...)``, a method of the model's own code that writes the row: the
        owner runs it on its row (loaded by key); this copy takes the columns it answers."""
        data = object.__getattribute__(self, "_data")
        model = object.__getattribute__(self, "_model")

        def run(*args: Any, **kwargs: Any) -> Any:
            answer = ReadModel(self._owner, model)._run(
                name, args, kwargs, data.get("id", data.get("pk"))
            )
            if answer.get("self"):
                data.update(answer["self"])
            return (
                ReadRow(model, answer["row"], self._owner) if "row" in answer else answer["value"]
            )

        return run

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
        return ReadCondition(self, op, _plain_constant(value))

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


#: SQLAlchemy's ``true()``, ``false()`` and ``null()`` (by class name), and what they send
SQL_CONSTANTS = {"True_": True, "False_": False, "Null": None}


def _plain_constant(value: Any) -> Any:
    """``true()`` / ``false()`` / ``null()`` as JSON: the owner's ``col == True`` (or ``IS
    NULL`` for None) is the condition the monolith's ``col == true()`` was."""
    name = type(value).__name__
    if name in SQL_CONSTANTS and type(value).__module__.startswith("sqlalchemy"):
        return SQL_CONSTANTS[name]
    return value


class ReadCondition:
    """``Model.col <op> value`` of a read model, sent to the owner as ``[col, op, value]``."""

    def __init__(self, column: ReadColumn, op: str, value: Any) -> None:
        self.column, self.op, self.value = column, op, value


class ReadQuery:
    """``Model.query`` / ``Model.objects`` of a read model, answered by the owner's
    ``_read.<Model>`` endpoint after one of ``READ_OPS`` (or iteration). SQLAlchemy reads send
    keyword filters, column conditions, ordering and limits (``shape``); a Django queryset
    chain (``Q`` filters, ``exclude``, ``order_by``, ``values_list``, ``aggregate``) goes along
    as ``steps`` that the owner's reader runs with its own ORM."""

    def __init__(
        self,
        model: ReadModel,
        filters: dict[str, Any],
        steps: tuple[list[Any], ...] = (),
        shape: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.filters = filters
        self.steps = steps
        #: ``where`` ([column, op, value]), ``order`` ([column, direction]), ``limit``, ``offset``
        self.shape = shape or {}

    def _with(self, **shape: Any) -> ReadQuery:
        return ReadQuery(self.model, self.filters, self.steps, {**self.shape, **shape})

    def _step(self, name: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> ReadQuery:
        step = [name, args, {k: _key_of(v) for k, v in (kwargs or {}).items()}]
        return ReadQuery(self.model, self.filters, (*self.steps, step), self.shape)

    def filter_by(self, **filters: Any) -> ReadQuery:
        filters = {k: _key_of(v) for k, v in filters.items()}
        if self.steps:  # after a step, a filter is a step of its own (Django's order)
            return self._step("filter", [], filters)
        return ReadQuery(self.model, {**self.filters, **filters}, self.steps, self.shape)

    def filter(self, *conditions: Any, **filters: Any) -> ReadQuery:
        if not any(isinstance(c, ReadCondition) for c in conditions):
            if conditions:  # Django's Q(...)
                return self._step("filter", [_q_json(c, self.model) for c in conditions], filters)
            return self.filter_by(**filters)
        where = list(self.shape.get("where", []))
        for c in conditions:
            if not (isinstance(c, ReadCondition) and c.column.model._name == self.model._name):
                raise NotExtractedError(
                    f"{self.model._name}: only keyword filters and conditions on its own "
                    f"columns can be sent to {self.model._service} (see MIGRATION.md)"
                )
            where.append([c.column.name, c.op, encode(c.value)])
        query = self._with(where=where)
        return query.filter_by(**filters) if filters else query

    def order_by(self, *columns: Any) -> ReadQuery:
        if all(isinstance(c, str) for c in columns):  # Django's field names
            return self._step("order_by", list(columns))
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

    def exclude(self, *conditions: Any, **filters: Any) -> ReadQuery:
        return self._step("exclude", [_q_json(c, self.model) for c in conditions], filters)

    def distinct(self, *fields: str) -> ReadQuery:
        return self._step("distinct", list(fields))

    def values_list(self, *fields: str, flat: bool = False) -> ReadQuery:
        return self._step("values_list", list(fields), {"flat": flat})

    def values(self, *fields: str) -> ReadQuery:
        return self._step("values", list(fields))

    def none(self) -> ReadQuery:
        return self._step("none", [])

    def select_related(self, *fields: str) -> ReadQuery:
        return self  # the owner sends every column anyway; joins are its own business

    prefetch_related = only = defer = select_related

    def _write(self, op: str, values: dict[str, Any]) -> Any:
        return self.model.fetch(
            self.filters,
            op,
            None,
            steps=self.steps,
            values={k: _key_of(v) for k, v in values.items()},
            **self.shape,  # the rows a SQLAlchemy ``update``/``delete`` changes
        )

    def create(self, **values: Any) -> ReadRow:
        return ReadRow(self.model._name, self._write("create", values), self.model._service)

    def get_or_create(self, defaults: dict | None = None, **values: Any) -> tuple[ReadRow, bool]:
        return self._made("get_or_create", values, defaults)

    def update_or_create(self, defaults: dict | None = None, **values: Any) -> tuple[ReadRow, bool]:
        return self._made("update_or_create", values, defaults)

    def _made(self, op: str, values: dict, defaults: dict | None) -> tuple[ReadRow, bool]:
        if defaults:
            values = {**values, "defaults": {k: _key_of(v) for k, v in defaults.items()}}
        row, created = self._write(op, values)
        return ReadRow(self.model._name, row, self.model._service), bool(created)

    def update(self, values: dict | None = None, **options: Any) -> int:
        """Django's ``update(col=value)``, SQLAlchemy's ``update({Model.col: value})`` (its
        ``synchronize_session`` is the owner's business)."""
        if values is None:
            return self._write("update", options)
        return self._write("update", {getattr(k, "name", k): v for k, v in values.items()})

    def delete(self, synchronize_session: Any = None) -> _Deleted:
        return _Deleted(self._write("delete", {}), self.model._name)

    def __getattr__(self, name: str) -> Any:
        """A method of the model's own manager or queryset (``objects.visible(shop)``): the
        owner runs it, with rows sent as their keys and the request's user as ``USER``.
        Django's expression protocol is not such a method: a read model handed to the
        caller's own query (``filter(id__in=ids)``) is a list of values there."""
        if name.startswith("_") or name in _EXPRESSION_PROTOCOL:
            raise AttributeError(name)

        def step(*args: Any, **kwargs: Any) -> ReadQuery:
            sent = {k: _user_or_key(v) for k, v in kwargs.items()}
            return self._step("call", [name, *map(_user_or_key, args)], sent)

        return step

    def aggregate(self, **aggregates: Any) -> dict[str, Any]:
        names = {k: _aggregate_json(v, self.model) for k, v in aggregates.items()}
        return self._step("aggregate", [], names)._ask("aggregate")

    def _ask(self, op: str, key: Any = None) -> Any:
        steps: dict[str, Any] = {"steps": self.steps} if self.steps else {}
        return self.model.fetch(self.filters, op, key, **steps, **self.shape)

    def get(self, *conditions: Any, **filters: Any) -> Any:
        if filters or self.steps or any(_is_q(c) for c in conditions):  # Django's get(...)
            return self.filter(*conditions, **filters)._ask("one")
        return self._ask("get", conditions[0] if conditions else None)

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


class _Deleted(int):
    """The rows a read model's ``delete()`` removed: a count (SQLAlchemy) that also unpacks
    as Django's ``(count, {model: count})``."""

    def __new__(cls, count: int, model: str) -> _Deleted:
        made = super().__new__(cls, count)
        made.model = model  # type: ignore[attr-defined]
        return made

    def _pair(self) -> tuple[int, dict[str, int]]:
        return int(self), {self.model: int(self)}  # type: ignore[attr-defined]

    def __iter__(self):  # noqa: ANN204
        return iter(self._pair())

    def __getitem__(self, index: int) -> Any:
        return self._pair()[index]


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
        relations: dict[str, tuple[str, str, str, str]] | None = None,
    ) -> None:
        self._service = service
        self._name = name
        self._columns = columns  # ``Model.col`` gives a ReadColumn for query conditions
        if relations:  # what its rows' copies read from other owners (``relate``)
            relate(name, relations)
        #: the model's class methods that only read (``Model.get(key)``, ``Model.get_by(**kw)``):
        #: method -> the read that answers them
        self._helpers = helpers or {}
        ROW_WRITES.setdefault(name, set()).update(
            m for m, op in self._helpers.items() if op == WRITE_ROW
        )
        ROW_READS.setdefault(name, set()).update(
            m for m, op in self._helpers.items() if op == OWNER_READ_ROW
        )
        self.DoesNotExist = type("DoesNotExist", (LookupError,), {})
        self.MultipleObjectsReturned = type("MultipleObjectsReturned", (LookupError,), {})

    @property
    def query(self) -> ReadQuery:
        return ReadQuery(self, {})

    objects = query

    def fetch(
        self,
        filters: dict[str, Any],
        op: str,
        key: Any = None,
        *,
        steps: tuple = (),
        values: dict[str, Any] | None = None,
        **shape: Any,
    ) -> Any:
        ask: dict[str, Any] = {"filters": filters, "op": op, "key": key, **shape}
        language = _language()
        if language is not None:
            ask["language"] = language
        if steps:
            ask["steps"] = list(steps)
        if values is not None:
            ask["values"] = values
        result = call(
            self._service,
            f"_read.{self._name}",
            _no_hints,
            [],
            ask,
            idempotent=values is None,  # a write is sent once, with its idempotency key
        )
        if op in ("count", "exists", "aggregate") or values is not None:
            return result
        if op == "method":  # a method of the model's own code the owner ran: its value
            return decode(result, None)
        shaped = [s for s in steps if s[0] in ("values", "values_list")]
        rows: list[Any]
        if shaped and shaped[-1][0] == "values_list" and not shaped[-1][2].get("flat"):
            rows = [tuple(r) for r in result or []]
        elif shaped:
            rows = list(result or [])  # values, not rows
        else:
            rows = [ReadRow(self._name, r, self._service) for r in result or []]
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
        if self._helpers.get(name) == WRITE_CLASS:
            return lambda *args, **kwargs: self._made(self._run(name, args, kwargs))
        if self._helpers.get(name) == OWNER_READ:
            return lambda *args, **kwargs: self._ask(name, args, kwargs)
        if name in self._helpers and self._helpers[name] not in (WRITE_ROW, OWNER_READ_ROW):
            return self._helper(self._helpers[name])
        if name in SHARED.get(self._name, {}):
            return SHARED[self._name][name]
        if name in self._columns:
            return ReadColumn(self, name)
        raise NotExtractedError(
            f"{self._name}.{name}: only reads of {self._name} go to {self._service} (see MIGRATION.md)"
        )

    def __call__(self, *args: Any, **values: Any) -> Any:
        """``Model(col=value, ...)``: the owner creates the row at once (one call, with its
        idempotency key) and answers its columns; the caller's ``session.add`` of it is then
        nothing more (``_kept``)."""
        if args:
            raise NotExtractedError(
                f"{self._name} belongs to {self._service}: only Model(col=value, ...) "
                "can be created through it (see MIGRATION.md)"
            )
        values = {k: _key_of(v) for k, v in values.items()}
        return ReadRow(self._name, self.fetch({}, "create", values=values), self._service)

    @staticmethod
    def _kept(session: Any, op: str, obj: Any) -> Any:
        """``session.add(row)`` / ``session.delete(row)`` in moved code: a copy of another
        service's row is already written by its owner (a delete is sent to it now); any
        other object goes to the session as before."""
        if not isinstance(obj, ReadRow):
            return getattr(session, op)(obj)
        owner = object.__getattribute__(obj, "_owner")
        if op == "delete" and owner is not None:
            model = object.__getattribute__(obj, "_model")
            data = object.__getattribute__(obj, "_data")
            ReadModel(owner, model).fetch({}, "delete", data.get("id", data.get("pk")), values={})
        return None

    def _run(self, method: str, args: tuple, kwargs: dict, key: Any = None) -> dict[str, Any]:
        """The owner runs ``method`` of its model (on the row ``key``, else on the class)."""
        values = {
            "method": method,
            "args": [_key_of(a) for a in args],
            "kwargs": {k: _key_of(v) for k, v in kwargs.items()},
        }
        return self.fetch({}, "call", key, values=values)

    def _ask(self, method: str, args: tuple, kwargs: dict, key: Any = None) -> Any:
        """The owner runs ``method`` of its model's own code that only reads (on the row
        ``key``, else on the class) and answers its plain value (a read: asked again freely)."""
        asked = {
            "name": method,
            "args": [_key_of(a) for a in args],
            "kwargs": {k: _key_of(v) for k, v in kwargs.items()},
        }
        return self.fetch({}, "method", key, method=asked)

    def _made(self, answer: dict[str, Any]) -> Any:
        return (
            ReadRow(self._name, answer["row"], self._service)
            if "row" in answer
            else answer["value"]
        )

    def _helper(self, op: str) -> Callable[..., Any]:
        def read(*args: Any, **filters: Any) -> Any:
            if op == "get" and len(args) == 1 and not filters:
                return self.fetch({}, "get", args[0])
            if op != "get" and args and all(isinstance(a, ReadCondition) for a in args):
                # a helper that filters by its positional conditions (``filter(*criterions)``)
                return getattr(self.query.filter(*args).filter_by(**filters), op)()
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


class JoinedRow(tuple):
    """A row of a query whose columns came partly from another service's read model, with
    what callers use of SQLAlchemy's ``Row``: index, unpacking, ``row.<name>``, ``_fields``,
    ``_asdict()``, ``_mapping``, ``_t``."""

    _fields: tuple[str, ...]

    def __new__(cls, values: list[Any], fields: tuple[str, ...]) -> JoinedRow:
        row = super().__new__(cls, values)
        row._fields = fields
        return row

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name not in self._fields:
            raise AttributeError(name)
        return self[self._fields.index(name)]

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))

    @property
    def _mapping(self) -> dict[str, Any]:
        return self._asdict()

    @property
    def _t(self) -> tuple[Any, ...]:
        return tuple(self)

    def _tuple(self) -> tuple[Any, ...]:
        return tuple(self)


#: reads of a ``JoinedQuery`` that give its rows
JOINED_READS = ("all", "first", "one", "one_or_none")


#: one step from a row to the other service's column it selects: (read model, its key
#: column, outer-joined, the column read: the next step's key, or the selected column)
Hop = tuple["ReadModel", str, bool, str]


class JoinedQuery:
    """This service's query with other services' columns selected (``add_columns`` /
    ``with_entities``): each such column is a placeholder, labelled ``_joined_<n>``, holding
    this model's foreign key to the primary key of the first model on the way to that column
    (``Hop``s: a model joined through another one reads the next key from that one's row).
    Its rows take that column instead, read from the owners by the keys the rows hold, once per
    model and step. A row whose key an inner join's owner has no row for is dropped, as the
    join dropped it; an outer join gives None. Refinements give another ``JoinedQuery``;
    anything else fails loudly."""

    def __init__(self, query: Any, columns: dict[str, tuple[tuple[Hop, ...], str]]) -> None:
        self._query = query
        #: placeholder label -> (the steps to the column, the row's name for it)
        self._columns = columns

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._query, name)
        if name in ("count", "exists"):
            return attr  # the number of rows does not depend on their columns

        def step(*args: Any, **kwargs: Any) -> JoinedQuery:
            refined = attr(*args, **kwargs)
            if not hasattr(refined, "with_entities"):
                raise NotExtractedError(
                    f"query.{name}() of a query with other services' columns: only refining, "
                    "`.all()`, `.first()`, `.one()`, `.one_or_none()`, `.count()` and loops "
                    "read them (see MIGRATION.md)"
                )
            return JoinedQuery(refined, self._columns)

        return step

    def all(self) -> list[JoinedRow]:
        return self._rows(self._query.all())

    def __iter__(self) -> Iterator[JoinedRow]:
        return iter(self.all())

    def first(self) -> JoinedRow | None:
        head = self._query.limit(1).all()
        # the first row's other row may be gone (an inner join drops it): then the first of
        # the rest, as the join would have given
        rows = self._rows(head) or (self.all() if head else [])
        return rows[0] if rows else None

    def one_or_none(self) -> JoinedRow | None:
        row = self._query.one_or_none()
        rows = self._rows([] if row is None else [row])
        return rows[0] if rows else None

    def one(self) -> JoinedRow:
        rows = self._rows([self._query.one()])
        if not rows:
            raise LookupError("the row's other service's row does not exist")
        return rows[0]

    def _rows(self, rows: list[Any]) -> list[JoinedRow]:
        if not rows:
            return []
        fields = tuple(rows[0]._fields)
        at = {i: self._columns[f][0] for i, f in enumerate(fields) if f in self._columns}
        #: (row, position) -> the key the next step reads by (None: no row), then the column
        cells = {(r, i): row[i] for r, row in enumerate(rows) for i in at}
        found: dict[tuple[int, str], dict[Any, ReadRow]] = {}
        dropped: set[int] = set()
        depth = 0
        while True:
            now = {c: at[c[1]][depth] for c in cells if depth < len(at[c[1]])}
            if not now:
                break
            wanted: dict[tuple[int, str], tuple[ReadModel, str, dict[Any, None]]] = {}
            for c, (model, key, _, _) in now.items():  # in the rows' order: the same request
                asked = wanted.setdefault((id(model), key), (model, key, {}))
                if cells[c] is not None:
                    asked[2][encode(cells[c])] = None
            for at_model, (model, key, keys) in wanted.items():
                have = found.setdefault(at_model, {})
                missing = [k for k in keys if k not in have]
                if missing:
                    shape = {"where": [[key, "in", missing]]}
                    for other in ReadQuery(model, {}, shape=shape).all():
                        have[encode(getattr(other, key))] = other
            for c, (model, key, outer, column) in now.items():
                key_value = cells[c]
                other = (
                    None if key_value is None else found[(id(model), key)].get(encode(key_value))
                )
                if other is None and not outer:
                    dropped.add(c[0])
                cells[c] = None if other is None else getattr(other, column)
            depth += 1
        names = tuple(self._columns[f][1] if i in at else f for i, f in enumerate(fields))
        return [
            JoinedRow([cells[(r, i)] if i in at else v for i, v in enumerate(row)], names)
            for r, row in enumerate(rows)
            if r not in dropped
        ]


def joined_columns(query: Any, columns: dict[str, tuple[tuple[Hop, ...], str]]) -> JoinedQuery:
    """``query`` (with ``_joined_<n>`` key placeholders) whose rows take other services'
    columns (``JoinedQuery``)."""
    return JoinedQuery(query, columns)


def _no_hints() -> Any:  # the answer of a read is plain JSON
    return None


def reader(
    model: Any,
    session_factory: Callable[[], Any] | None = None,
    methods: dict[str, str] | None = None,
) -> Callable[..., Any]:
    """The owner's side of a read model: ``read(filters, op, key)`` with its own ORM.
    ``methods``: the methods of the model's own code that callers may have it run, each with
    what it was judged to do (``WRITE_CLASS`` ... ``OWNER_READ_ROW``, the read model's helper
    map); any other name is refused, whoever asks."""
    runs = dict(methods or {})

    def read(
        filters: dict,
        op: str,
        key: Any = None,
        steps: list | None = None,
        values: dict | None = None,
        where: list | None = None,
        order: list | None = None,
        limit: int | None = None,
        offset: int | None = None,
        attr: str | None = None,
        language: str | None = None,
        method: dict | None = None,
    ) -> Any:
        django = hasattr(model, "objects")
        if django and language is not None:  # the caller's language, for translated fields
            from django.utils import translation  # type: ignore[import-untyped]

            with translation.override(language):
                return read(
                    filters, op, key, steps, values, where, order, limit, offset, attr, None, method
                )
        if op == "method":
            return _own_read(model, session_factory, key, method or {}, runs)
        if op not in (*READ_OPS, *(() if django else ("related",))) and op not in (
            DJANGO_WRITES if django else SQL_WRITES
        ):
            raise ValueError(f"unknown read {op!r}")
        if django:
            if where or order or limit or offset:
                raise ValueError("column conditions are read from SQLAlchemy models only")
            steps = steps or []
            if op in DJANGO_WRITES:  # (a copy's changed column: its row, by key)
                keyed = {"pk": key} if key is not None else filters
                answer = _django_write(model, keyed, op, steps, values or {})
                if key is not None and op == "update":
                    row = model.objects.filter(pk=key).first()
                    return {} if row is None else _columns(row)
                return answer
            if steps and steps[0][0] == "call" and not filters and op not in ("get", "get_or_404"):
                rows = model.objects  # a method of the manager itself
            else:
                rows = model.objects.filter(
                    **({"pk": key} if op in ("get", "get_or_404") else filters)
                )
            rows, shaped = _django_steps(rows, steps, model)
            if op in ("count", "exists"):
                return getattr(rows, op)()
            if op == "aggregate":
                return {k: encode(v) for k, v in rows.items()}
            return [encode(r) if shaped else _columns(r) for r in rows[: _limit(op)]]
        if steps:
            raise NotExtractedError(f"{model.__name__}: queryset steps are Django's only")
        if op in SQL_WRITES:
            return sql_write(
                model, session_factory, op, key, values or {}, filters, where or [], runs
            )
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
            if op == "related":
                return _related_rows(model, query.session.get(model, key), attr or "")
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


def _related_rows(model: Any, row: Any, attr: str) -> list[dict[str, Any]]:
    """The columns of the rows relationship ``attr`` of the owner's ``row`` holds (a copy's
    many-to-many, ``ReadRow``): only a relationship of the model's own mapper is read."""
    from sqlalchemy import inspect as sa_inspect

    rel = sa_inspect(model).mapper.relationships.get(attr)
    if rel is None:
        raise ValueError(f"{model.__name__} has no relationship {attr!r}")
    value = None if row is None else getattr(row, attr)
    rows = [] if value is None else list(value) if rel.uselist else [value]
    return [_columns(r) for r in rows]


#: writes a SQLAlchemy read model sends to the owner (one call each, with an idempotency key):
#: ``Model(...)``, a changed column of a copy, ``query.update``/``delete``, a method of the
#: model's own code
SQL_WRITES = ("create", "update", "delete", "call")
#: how a read model's helper says that a method of the model's own code writes: on the
#: class (``Model.create(...)``), on a row (``row.save()``)
WRITE_CLASS, WRITE_ROW = "write", "write-row"
#: how a read model's helper says that a method of the model's own code only reads and gives
#: plain data (``ownreads.read_methods``): on the class (``Model.get_id_map()``), on a row
#: (``row.serialize()``); the owner runs it (op ``method``) and answers its value
OWNER_READ, OWNER_READ_ROW = "owner-read", "owner-read-row"


def sql_write(
    model: Any,
    factory: Callable[[], Any] | None,
    op: str,
    key: Any,
    values: dict,
    filters: dict,
    where: list,
    methods: dict[str, str] | None = None,
) -> Any:
    """The owner's side of a write a caller's read model sends, in the owner's own session:
    only the model's own columns may be set; rows are changed and deleted one by one through
    the ORM, so a saga call's undo is recorded (``_before_flush``). The session is the
    call's unit of work (``dispatch`` commits it), else committed here."""
    from sqlalchemy import inspect as sa_inspect

    mapper = sa_inspect(model).mapper
    allowed = {a.key for a in mapper.column_attrs}
    if op == "call":
        allowed |= {r.key for r in mapper.relationships}
        given = {**values.get("kwargs", {})}
        for arg in values.get("args", []):
            given.update(arg if isinstance(arg, dict) else {})
    else:
        given = values
    foreign = sorted(set(given) - allowed)
    if foreign:
        raise ValueError(f"cannot set {', '.join(foreign)}: not a column of {model.__name__}")
    query = getattr(model, "query", None)
    session = query.session if query is not None else factory() if factory else None
    if session is None:
        raise NotExtractedError(f"{model.__name__}: no session to write it with")
    answer: Any
    if op == "call":
        answer = _own_write(session, model, key, values, methods or {})
    elif op == "create":
        row = model(**values)
        session.add(row)
        session.flush()
        answer = _columns(row)
    else:
        if key is not None:
            found = session.get(model, key)
            rows = [] if found is None else [found]
        else:
            rows = _shaped(model, session.query(model).filter_by(**filters), where, []).all()
        for row in rows:
            if op == "delete":
                session.delete(row)
            for name, value in values.items():
                setattr(row, name, value)
        session.flush()
        answer = _columns(rows[0]) if key is not None and rows and op == "update" else len(rows)
    opened = getattr(_ROW_SESSIONS, "opened", None)
    if opened is None:
        session.commit()
    else:
        opened.append(session)
    return answer


def _own_code(model: Any, name: str, allowed: bool) -> None:
    """Refuse ``name`` unless it is a public method the model's own code defines (never
    SQLAlchemy's or Django's) that the owner's generated code lets callers run (``allowed``:
    judged at extraction to do what the call asks, a read or a write of its rows)."""
    if not allowed:
        raise ValueError(f"{name} is not a method of {model.__name__} that callers may run")
    app = model.__module__.split(".")[0]
    definer = next((c for c in model.__mro__ if name in vars(c)), None)
    value = vars(definer).get(name) if definer is not None else None
    if (
        definer is None
        or definer.__module__.split(".")[0] != app
        or name.startswith("_")
        or not isinstance(value, (types.FunctionType, classmethod, staticmethod))
    ):
        raise ValueError(f"{name} is not a method of {model.__name__}'s own code")


def _own_read(
    model: Any,
    factory: Callable[[], Any] | None,
    key: Any,
    asked: dict,
    methods: dict[str, str],
) -> Any:
    """``model.<name>(...)`` (``key`` None) or ``row.<name>(...)`` of the row ``key``, a method
    of the model's own code a read model sends as a read (``ReadModel._ask``): its value as
    JSON. A method that changed a row is no read: its changes are rolled back and refused."""
    name = asked.get("name", "")
    _own_code(model, name, methods.get(name) == (OWNER_READ if key is None else OWNER_READ_ROW))
    args, kwargs = asked.get("args", []), asked.get("kwargs", {})
    if hasattr(model, "objects"):  # Django: no session holds changes, the rows are read as is
        row = None if key is None else model.objects.filter(pk=key).first()
        if key is not None and row is None:
            raise LookupError(f"{model.__name__} {key!r} not found")
        return encode(getattr(row if row is not None else model, name)(*args, **kwargs))
    query = getattr(model, "query", None)
    session = query.session if query is not None else factory() if factory else None
    if session is None:
        raise NotExtractedError(f"{model.__name__}: no session to read it with")
    row = None if key is None else session.get(model, key)
    if key is not None and row is None:
        raise LookupError(f"{model.__name__} {key!r} not found")
    result = getattr(row if row is not None else model, name)(*args, **kwargs)
    if session.new or session.dirty or session.deleted:
        session.rollback()
        raise ValueError(f"{model.__name__}.{name} changed rows: it is not a read")
    return encode(result)


def _own_write(
    session: Any, model: Any, key: Any, values: dict, methods: dict[str, str]
) -> dict[str, Any]:
    """``model.<method>(...)`` (``key`` None) or ``row.<method>(...)`` of the row ``key``, a
    method the model's own code defines (never SQLAlchemy's): the row it gives back as
    columns, else its value, and the row's columns after it (``self``)."""
    name = values.get("method", "")
    _own_code(model, name, methods.get(name) == (WRITE_CLASS if key is None else WRITE_ROW))
    row = None if key is None else session.get(model, key)
    if key is not None and row is None:
        raise LookupError(f"{model.__name__} {key!r} not found")
    result = getattr(row if row is not None else model, name)(
        *values.get("args", []), **values.get("kwargs", {})
    )
    session.flush()
    answer: dict[str, Any] = (
        {"row": _columns(result)} if isinstance(result, model) else {"value": encode(result)}
    )
    if row is not None and row in session:
        answer["self"] = _columns(row)
    return answer


#: names Django asks a lookup value for to tell an expression from a plain value
_EXPRESSION_PROTOCOL = frozenset({"resolve_expression", "as_sql", "get_compiler", "query"})
#: marks the request's user on the wire: ``{USER: key}`` (None: ``AnonymousUser``), which the
#: owner reads again from the user model every service shares (see ``_request``)
USER = "__user__"


def _user_or_key(value: Any) -> Any:
    """An argument of an owner's manager method: the Django user as ``{USER: key}``, any
    other row by its key (``_key_of``)."""
    if type(value).__name__ == "AnonymousUser":
        return {USER: None}
    if "django" in sys.modules and _is_row(value):
        from django.contrib.auth import get_user_model  # type: ignore[import-untyped]

        if isinstance(value, get_user_model()):
            return {USER: value.pk}
    return _key_of(value)


def _user_of(value: Any) -> Any:
    """``{USER: key}`` as the owner's own user of that key (``AnonymousUser`` when there is
    none); anything else as it came."""
    if not (isinstance(value, dict) and set(value) == {USER}):
        return value
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser  # type: ignore[import-untyped]

    user = None
    if value[USER] is not None:
        user = get_user_model()._default_manager.filter(pk=value[USER]).first()
    return user if user is not None else AnonymousUser()


def _key_of(value: Any) -> Any:
    """A filter's value as the owner can match it: a row (a read model's copy, or a row of
    this service) by its key, a list of them by their keys."""
    if isinstance(value, ReadRow):
        data = object.__getattribute__(value, "_data")
        return data.get("id", data.get("pk"))
    if _is_row(value):
        return value.pk if hasattr(value, "pk") else value.id
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_key_of(v) for v in value]
    if isinstance(value, ReadQuery):
        raise NotExtractedError(
            f"{value.model._name}: a query of another service cannot be sent as a filter value"
        )
    return value


def _is_q(value: Any) -> bool:
    return type(value).__name__ == "Q" and hasattr(value, "connector")


def _q_json(q: Any, model: ReadModel) -> dict[str, Any]:
    """A Django ``Q`` tree as JSON: its connector, negation and (lookup, value) children."""
    if not _is_q(q):
        raise NotExtractedError(
            f"{model._name}: only keyword filters and Q(...) can be sent to {model._service}"
        )
    return {
        "connector": q.connector,
        "negated": q.negated,
        "children": [_q_json(c, model) if _is_q(c) else [c[0], _key_of(c[1])] for c in q.children],
    }


def _aggregate_json(agg: Any, model: ReadModel) -> list[Any]:
    """``Sum("x")`` as ``["Sum", "x", distinct]``: one of the standard aggregates of a field."""
    sources = getattr(agg, "source_expressions", None) or []
    name = type(agg).__name__
    if (
        name not in DJANGO_AGGREGATES
        or len(sources) != 1
        or not isinstance(getattr(sources[0], "name", None), str)
        or getattr(agg, "filter", None) is not None
    ):
        raise NotExtractedError(
            f"{model._name}: only Count/Sum/Avg/Min/Max of a field go to {model._service}"
        )
    return [name, sources[0].name, bool(getattr(agg, "distinct", False))]


#: aggregates a read model sends (``_aggregate_json``) and the owner rebuilds
DJANGO_AGGREGATES = ("Count", "Sum", "Avg", "Min", "Max")


def _q_from(data: dict[str, Any]) -> Any:
    from django.db.models import Q  # type: ignore[import-untyped]

    children = [_q_from(c) if isinstance(c, dict) else tuple(c) for c in data["children"]]
    return Q(*children, _connector=data["connector"], _negated=data["negated"])


def _django_steps(rows: Any, steps: list[Any], model: Any) -> tuple[Any, bool]:
    """The caller's queryset steps run on the owner's queryset; whether the rows are now
    values (``values``/``values_list``) rather than model rows."""
    from django.db import models  # type: ignore[import-untyped]

    shaped = False
    for name, args, kwargs in steps:
        if name == "call":
            rows = _own_method(rows, args[0], model)(
                *map(_user_of, args[1:]), **{k: _user_of(v) for k, v in kwargs.items()}
            )
        elif name in ("filter", "exclude"):
            rows = getattr(rows, name)(*(_q_from(a) for a in args), **kwargs)
        elif name in ("order_by", "distinct", "values"):
            rows = getattr(rows, name)(*args)
        elif name == "values_list":
            rows = rows.values_list(*args, flat=bool(kwargs.get("flat")))
        elif name == "none":
            rows = rows.none()
        elif name == "aggregate":
            return rows.aggregate(
                **{
                    k: getattr(models, a)(f, **({"distinct": True} if d else {}))
                    for k, (a, f, d) in kwargs.items()
                    if a in DJANGO_AGGREGATES
                }
            ), True
        else:
            raise ValueError(f"unknown queryset step {name!r}")
        shaped = shaped or name in ("values", "values_list")
    return rows, shaped


#: writes a Django read model sends to the owner (one call each, with an idempotency key)
DJANGO_WRITES = ("create", "get_or_create", "update_or_create", "update", "delete")


def _django_write(model: Any, filters: dict, op: str, steps: list, values: dict) -> Any:
    """A caller's ``objects.create(...)``, ``get_or_create``, ``update_or_create`` or
    ``filter(...).update(...)``/``.delete()``, run by the owner in the endpoint's transaction.
    A row given for a foreign key arrives as its key and is set as the key column."""
    values = _key_columns(model, values)
    if op in ("update", "delete"):
        rows, _ = _django_steps(model.objects.filter(**filters), steps, model)
        return rows.update(**values) if op == "update" else rows.delete()[0]
    if op == "create":
        return _columns(model.objects.create(**values))
    defaults = _key_columns(model, values.pop("defaults", None) or {})
    row, created = getattr(model.objects, op)(defaults=defaults, **values)
    return [_columns(row), created]


def _key_columns(model: Any, values: dict) -> dict:
    """``{"shop": 3}`` -> ``{"shop_id": 3}`` for a foreign key of ``model`` given as a key."""
    out = {}
    for name, value in values.items():
        try:
            field = model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - a lookup (``a__b``) or an unknown name: as it is
            field = None
        relation = field is not None and (field.many_to_one or field.one_to_one)
        keyed = relation and not hasattr(value, "_meta")
        out[field.attname if keyed else name] = value
    return out


def _own_method(rows: Any, name: str, model: Any) -> Callable[..., Any]:
    """``rows.<name>`` when the model's own code defines it (its manager's or queryset's
    method, never Django's own such as ``delete``), else ``ValueError``."""
    app = model.__module__.split(".")[0]
    # a manager made by ``from_queryset`` copies its queryset's methods: look there as well
    for kind in (type(rows), getattr(rows, "_queryset_class", None)):
        definer = next((c for c in getattr(kind, "__mro__", ()) if name in vars(c)), None)
        if definer is not None and definer.__module__.split(".")[0] == app:
            if not name.startswith("_"):
                return getattr(rows, name)
    raise ValueError(f"{name} is not a method of {model.__name__}'s own manager")


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
        data = {f.attname: encode(getattr(row, f.attname)) for f in meta.concrete_fields}
        return {**data, "pk": encode(row.pk), **_translated(row)}  # ``row.pk`` of a copy
    from sqlalchemy import inspect as sa_inspect

    return {a.key: encode(getattr(row, a.key)) for a in sa_inspect(row).mapper.column_attrs}


def _translated(row: Any) -> dict[str, Any]:
    """A translatable Django row's translated fields (django-parler's ``TranslatedFields``)
    in the active language, as the monolith's ``row.name`` read them; a field without a
    translation there is left out (the copy fails loudly where the row raised)."""
    parler = getattr(type(row), "_parler_meta", None)
    out: dict[str, Any] = {}
    for name in parler.get_translated_fields() if parler is not None else ():
        try:
            out[name] = encode(getattr(row, name))
        except (AttributeError, LookupError):
            continue
    return out


def _language() -> str | None:
    """The caller's active Django language (None without Django): a read model sends it so
    that the owner's translated fields are the ones the caller would have read."""
    if "django.utils.translation" not in sys.modules:
        return None
    from django.utils.translation import get_language  # type: ignore[import-untyped]

    return get_language()


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
    drop: bool = False,
) -> Any:
    """Call ``endpoint`` of ``service`` and return its result decoded with ``func``'s hints
    (None with ``drop``: the owner runs it for what it does and sends no result, which may
    be no JSON value).

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
            drop,
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
    drop: bool = False,
) -> Any:
    url = f"{base_url(service)}/internal/{endpoint}"
    sent = {"args": encode(list(args)), "kwargs": encode(kwargs)}
    if drop:
        sent[DROP] = True
    body = json.dumps(sent).encode("utf-8")
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
        headers.update(token_headers())
        for provider in HEADER_PROVIDERS:
            headers.update(provider())
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                status[0] = response.status
                payload = json.loads(response.read().decode("utf-8") or "null")
            if saga_id:
                _applied(service, key, payload)
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
        token = _UNDO.set(_Undo())
        try:
            with _scope(key):
                answer = _dispatch(func, payload, inject, key)
            if answer[1] == 200 and not inject:  # (an injected session already holds it)
                if session is not None and callable(getattr(session, "flush", None)):
                    session.flush()  # what is left to write, recorded for the undo
                _mark_undo(answer[0])
                durable.remember(key, answer, session)  # the endpoint's commit keeps both
        finally:
            _UNDO.reset(token)
        if answer[1] == ERROR_STATUS:
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
        undo = _UNDO.get()
        body: dict[str, Any] = {"result": None if payload.get(DROP) is True else encode(result)}
        if undo is not None:
            undo.ran = True  # the commits from here on are the endpoint's, not the function's
            if undo.committed:  # the caller's rollback would not have undone it: no undo
                body["committed"] = True
        opened[:] = dict.fromkeys(opened)  # a scoped session may have been handed out twice
        if key and inject and opened and STORE is not None:  # with what the function wrote
            for opened_session in opened:
                opened_session.flush()  # recorded for the undo
            _mark_undo(body)
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
#: where a caller asks an owner to undo saga calls the monolith would have rolled back
COMPENSATE_PATH = "/internal/_saga/compensate"
#: answers kept for other services' saga calls are deleted after this many seconds (a caller's
#: relay gives up long before: ``RELAY_ATTEMPTS`` runs, ``RELAY_SECONDS`` apart); 0 keeps them
ANSWERS_MAX_AGE = float(os.environ.get("SAGA_ANSWERS_MAX_AGE", str(7 * 24 * 3600)))
#: request headers that carry the caller's credentials: kept while the relay may run the
#: request again (the route checks them again then), blanked once the saga is given up
CREDENTIAL_HEADERS = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")
#: bytes of a relayed run's answer kept for ``GET <path>?interservice_saga=<id>``
RESULT_LIMIT = 100_000
#: the query parameter of that status request (any path of the service answers it)
STATUS_PARAM = "interservice_saga"
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
    """The saga's state for the calls made inside: ``[saga id, calls made so far, calls
    applied since the caller's last commit, calls its rollbacks undid]`` (the last two as
    ``(service, key)``: what ``compensate`` asks the owners to undo)."""
    state = [saga_id, 0, [], []] if saga_id else None
    token = _SAGA.set(state)
    try:
        yield state
    finally:
        _SAGA.reset(token)


# -- compensations: what a rollback of the monolith undid, undone by the owners ---------------
class _Undo:
    """What one saga call wrote through the owner's ORM (SQLAlchemy sessions), in the order
    it was flushed, as JSON: ``["delete", model, key]`` for a row it inserted,
    ``["update", model, key, {column: [old, new]}]``, ``["insert", model, {column: value}]``
    for a row it deleted. ``committed``: the function committed itself."""

    def __init__(self) -> None:
        self.changes: list[list[Any]] = []
        self.committed = False
        self.ran = False
        self.before: dict[int, Any] = {}  # Django: the row before a save, by instance


_UNDO: contextvars.ContextVar[_Undo | None] = contextvars.ContextVar(
    "interservice_undo", default=None
)
_LISTENING: set[str] = set()  # "sqlalchemy", "django": their events are listened to


def _listen() -> None:
    """SQLAlchemy session events, once per process: the owner records a saga call's changes
    (``_Undo``); a caller's commit keeps the calls made before it, its rollback hands them
    to ``compensate``, as the monolith's one transaction would have."""
    if "sqlalchemy" in _LISTENING:
        return
    _LISTENING.add("sqlalchemy")
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)


def _model(obj: Any) -> str:
    return f"{type(obj).__module__}:{type(obj).__qualname__}"


def _before_flush(session: Any, context: Any, instances: Any) -> None:
    undo = _UNDO.get()
    if undo is None:
        return
    from sqlalchemy import inspect as sa_inspect

    for obj in list(session.dirty):
        state: Any = sa_inspect(obj)
        changed = {}
        for attr in state.mapper.column_attrs:
            history = state.attrs[attr.key].history
            if history.deleted and history.added:
                changed[attr.key] = [_tagged(history.deleted[0]), _tagged(history.added[0])]
        if changed and state.identity:
            undo.changes.append(["update", _model(obj), _tagged(list(state.identity)), changed])
    for obj in list(session.deleted):
        state = sa_inspect(obj)
        columns = {a.key: _tagged(getattr(obj, a.key)) for a in state.mapper.column_attrs}
        undo.changes.append(["insert", _model(obj), columns])


def _after_flush(session: Any, context: Any) -> None:
    undo = _UNDO.get()
    if undo is None:
        return
    from sqlalchemy import inspect as sa_inspect

    for obj in list(session.new):  # (their key is set, not yet their identity)
        key = sa_inspect(obj).mapper.primary_key_from_instance(obj)
        if all(k is not None for k in key):
            undo.changes.append(["delete", _model(obj), _tagged(list(key))])


def _after_commit(session: Any) -> None:
    undo = _UNDO.get()
    if undo is not None and not undo.ran:
        undo.committed = True
    state = _SAGA.get()
    if state is not None:
        state[2].clear()  # committed with the caller's own writes: kept


def _after_rollback(session: Any, previous_transaction: Any) -> None:
    state = _SAGA.get()
    if state is not None and getattr(previous_transaction, "parent", None) is None:
        state[3].extend(state[2])  # the monolith's rollback undid them
        state[2].clear()


def _mark_undo(body: dict[str, Any]) -> None:
    """Tell the caller that the call wrote something its rollback would undo."""
    undo = _UNDO.get()
    if undo is not None and undo.changes and not undo.committed:
        body["undo"] = True


def _applied(service: str, key: str, payload: Any) -> None:
    """A saga's call that the owner applied: one that wrote (``undo``) is kept until the
    caller commits (or an owner's function commits itself), undone if the caller rolls back."""
    state = _SAGA.get()
    if state is None or len(state) < 4 or not isinstance(payload, dict):
        return
    if payload.get("committed"):
        state[2].clear()  # in the monolith that commit kept everything before it too
    elif payload.get("undo") and isinstance(STORE, DjangoSagaStore):
        _django_applied(state, (service, key))
    elif payload.get("undo"):
        state[2].append((service, key))


def _django_applied(state: list[Any], call: tuple[str, str]) -> None:
    """A Django caller: in autocommit the monolith kept the write at once; inside
    ``atomic()`` it is kept when the block commits (``on_commit``), else the block rolled
    back and the call is undone (``DjangoSagaMiddleware`` hands what is left to
    ``compensate``)."""
    from django.db import connection, transaction

    if not connection.in_atomic_block:
        return
    state[2].append(call)
    transaction.on_commit(lambda: call in state[2] and state[2].remove(call))


def compensate(state: list[Any] | None, status: int) -> bool:
    """Ask each owner to undo the calls of this run that the monolith would have rolled
    back, when the run ended with a business answer (below 500): the calls a rollback
    undid, and (an error answer, 4xx) those not committed yet. A run that failed (5xx, an
    exception) undoes nothing: the relay completes it forward, answered from the owners'
    stores. False: an owner did not answer (the relay runs the request again, which asks
    again)."""
    if state is None or len(state) < 4 or not 0 < status < 500:
        return True
    keys = list(state[3]) + (list(state[2]) if status >= 400 else [])
    by_service: dict[str, list[str]] = {}
    for service, key in keys:
        by_service.setdefault(service, []).append(key)
    ok = True
    for service in reversed(list(by_service)):  # the last service called first
        body = json.dumps({"keys": by_service[service]}).encode("utf-8")
        request = urllib.request.Request(
            base_url(service) + COMPENSATE_PATH,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **token_headers()},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            _log.warning("saga %s: %s did not undo %s: %s", state[0], service, keys, exc)
            ok = False
    state[2].clear()
    state[3].clear()
    return ok


def compensation_answer(body: bytes) -> tuple[int, bytes]:
    """The owner's answer to ``POST COMPENSATE_PATH`` ``{"keys": [...]}``."""
    try:
        keys = json.loads(body or b"null")["keys"]
    except (ValueError, KeyError, TypeError):
        error = {"type": "BadRequest", "message": 'expected {"keys": [...]}'}
        return 400, json.dumps({"error": error}).encode("utf-8")
    if STORE is None:
        return 200, json.dumps({"undone": 0, "conflicts": 0}).encode("utf-8")
    return 200, json.dumps(STORE.compensate([str(k) for k in keys])).encode("utf-8")


def _model_class(path: str) -> Any:
    """The model class of ``_model``'s ``module:qualname``."""
    import importlib

    module, _, name = path.partition(":")
    model: Any = importlib.import_module(module)
    for part in name.split("."):
        model = getattr(model, part)
    return model


def _undo_django(change: list[Any]) -> bool:
    """``_undo_change`` for a Django model (its base manager, in the caller's atomic block)."""
    model = _model_class(change[1])
    rows = model._base_manager
    if change[0] == "insert":
        values = {k: _untagged(v) for k, v in change[2].items()}
        if not rows.filter(pk=values[model._meta.pk.attname]).exists():
            model(**values).save(force_insert=True)
        return True
    key = _untagged(change[2])[0]
    if change[0] == "delete":
        rows.filter(pk=key).delete()
        return True
    new = {c: _untagged(n) for c, (_o, n) in change[3].items()}
    old = {c: _untagged(o) for c, (o, _n) in change[3].items()}
    return rows.filter(pk=key, **new).update(**old) == 1


def _django_listen() -> None:
    """Django model signals, once per process: what a saga call saves or deletes is recorded
    for its undo (``_Undo``), as the SQLAlchemy session events do (``QuerySet.update`` and
    bulk operations send no signal and are not recorded)."""
    if "django" in _LISTENING:
        return
    _LISTENING.add("django")
    from django.db.models import signals

    signals.pre_save.connect(_django_pre_save, weak=False)
    signals.post_save.connect(_django_post_save, weak=False)
    signals.pre_delete.connect(_django_pre_delete, weak=False)


def _django_columns(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _django_pre_save(sender: Any, instance: Any, raw: bool = False, **kw: Any) -> None:
    undo = _UNDO.get()
    if undo is None or raw or instance._state.adding or instance.pk is None:
        return
    names = [f.attname for f in instance._meta.concrete_fields]
    old = sender._base_manager.using(kw.get("using")).filter(pk=instance.pk).values(*names)
    undo.before[id(instance)] = old.first()


def _django_post_save(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    undo = _UNDO.get()
    if undo is None or kw.get("raw"):
        return
    if created:
        undo.changes.append(["delete", _model(instance), _tagged([instance.pk])])
        return
    old = undo.before.pop(id(instance), None) or {}
    changed = {
        c: [_tagged(old[c]), _tagged(v)]
        for c, v in _django_columns(instance).items()
        if c in old and old[c] != v
    }
    if changed:
        undo.changes.append(["update", _model(instance), _tagged([instance.pk]), changed])


def _django_pre_delete(sender: Any, instance: Any, **kw: Any) -> None:
    undo = _UNDO.get()
    if undo is not None:
        columns = {c: _tagged(v) for c, v in _django_columns(instance).items()}
        undo.changes.append(["insert", _model(instance), columns])


def _undo_change(session: Any, change: list[Any]) -> bool:
    """Apply one recorded change backwards; False: the row no longer holds what the call
    wrote (someone changed it since), so it is left as it is."""
    model = _model_class(change[1])
    if change[0] == "insert":
        row = model.__mapper__.class_manager.new_instance()
        for column, value in change[2].items():
            setattr(row, column, _untagged(value))
        session.merge(row)
        return True
    key = tuple(_untagged(change[2]))
    row = session.get(model, key[0] if len(key) == 1 else key)
    if row is None:
        return change[0] == "delete"  # already gone
    if change[0] == "delete":
        session.delete(row)
        session.flush()
        return True
    values = {c: (_untagged(old), _untagged(new)) for c, (old, new) in change[3].items()}
    if any(getattr(row, c) != new for c, (_old, new) in values.items()):
        return False
    for column, (old, _new) in values.items():
        setattr(row, column, old)
    return True


def _tagged(value: Any) -> Any:
    """A column value as JSON that ``_untagged`` turns back into the same Python value."""
    if isinstance(value, (list, tuple)):
        return [_tagged(v) for v in value]
    for tag, kind in _TAGS.items():
        if isinstance(value, kind):
            if tag == "$b":
                return {tag: base64.b64encode(value).decode("ascii")}
            return {tag: value.isoformat() if hasattr(value, "isoformat") else str(value)}
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        [(tag, text)] = value.items()
        parse = {
            "$dt": _dt.datetime.fromisoformat,
            "$d": _dt.date.fromisoformat,
            "$t": _dt.time.fromisoformat,
            "$dec": decimal.Decimal,
            "$u": uuid.UUID,
            "$b": base64.b64decode,
        }.get(tag)
        if parse is not None:
            return parse(text)
    return value


#: JSON tags of column values JSON has no type for (datetime before date: a subclass)
_TAGS: dict[str, Any] = {
    "$dt": _dt.datetime,
    "$d": _dt.date,
    "$t": _dt.time,
    "$dec": decimal.Decimal,
    "$u": uuid.UUID,
    "$b": bytes,
}


_DDL = (
    "CREATE TABLE IF NOT EXISTS interservice_answers (answer_key VARCHAR(200) PRIMARY KEY, "
    "status INTEGER NOT NULL, body TEXT NOT NULL, created FLOAT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS interservice_outbox (saga_id VARCHAR(64) PRIMARY KEY, "
    "request TEXT NOT NULL, attempts INTEGER NOT NULL, lease FLOAT NOT NULL, "
    "last_error TEXT NOT NULL, created FLOAT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS interservice_results (saga_id VARCHAR(64) PRIMARY KEY, "
    "status INTEGER NOT NULL, body TEXT NOT NULL, created FLOAT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS interservice_undo (answer_key VARCHAR(200) PRIMARY KEY, "
    "changes TEXT NOT NULL, created FLOAT NOT NULL)",
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
        """Keep ``answer``; in ``session``'s transaction when given (committed by its owner),
        with the undo of what the call wrote (``compensate``) when it wrote anything."""
        undo = _UNDO.get()
        if answer[1] == 200 and undo is not None and undo.changes and not undo.committed:
            self._run(
                "INSERT INTO interservice_undo (answer_key, changes, created) VALUES (:k, :c, :t)",
                session,
                k=key,
                c=json.dumps(undo.changes),
                t=time.time(),
            )
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

    def close(self, saga_id: str, result: tuple[int, bytes] | None = None) -> None:
        """The saga ended: out of the outbox; ``result`` (the status and body of the run
        that ended it) kept for the customer who was answered 202 (``status``)."""
        if result is not None:
            try:
                self._run(
                    "INSERT INTO interservice_results (saga_id, status, body, created) "
                    "VALUES (:i, :s, :b, :t)",
                    i=saga_id,
                    s=result[0],
                    b=result[1][:RESULT_LIMIT].decode("utf-8", "replace"),
                    t=time.time(),
                )
            except Exception as exc:  # already ended by a concurrent run: keep that one
                if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                    raise
        self._run("DELETE FROM interservice_outbox WHERE saga_id = :i", i=saga_id)

    def status(self, saga_id: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``GET <path>?interservice_saga=<id>``: ``pending`` while the
        relay may still run it, ``given_up`` once it will not, ``done`` with the answer of the
        run that ended it (JSON when it was JSON)."""
        rows = self._run(
            "SELECT status, body FROM interservice_results WHERE saga_id = :i", i=saga_id
        )
        if rows:
            try:
                answer: Any = json.loads(rows[0][1])
            except ValueError:
                answer = rows[0][1]
            return 200, {
                "saga": saga_id,
                "status": "done",
                "answer_status": int(rows[0][0]),
                "answer": answer,
            }
        rows = self._run(
            "SELECT attempts, lease FROM interservice_outbox WHERE saga_id = :i", i=saga_id
        )
        if not rows:
            return 404, {"saga": saga_id, "status": "unknown"}
        given_up = int(rows[0][0]) >= RELAY_ATTEMPTS and float(rows[0][1]) < time.time()
        return 200, {
            "saga": saga_id,
            "status": "given_up" if given_up else "pending",
            "attempts": int(rows[0][0]),
        }

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
        cutoff = time.time() - age
        self._run("DELETE FROM interservice_results WHERE created < :t", t=cutoff)
        self._run("DELETE FROM interservice_undo WHERE created < :t", t=cutoff)
        return int(self._run("DELETE FROM interservice_answers WHERE created < :t", t=cutoff))

    def compensate(self, keys: list[str]) -> dict[str, int]:
        """Undo what the calls answered under ``keys`` wrote, the last call first, in one
        transaction of this service's ORM: rows they inserted are deleted, rows they deleted
        come back, columns they changed get their old values back where they still hold
        the values the call wrote (else that change is left, counted as a conflict). Undone
        calls forget their undo, so asking twice changes nothing."""
        undone = conflicts = 0
        with self._undoing() as (session, undo):
            for key in reversed(keys):
                rows = list(
                    self._run(
                        "SELECT changes FROM interservice_undo WHERE answer_key = :k",
                        session,
                        k=key,
                    )
                )
                for change in reversed(json.loads(rows[0][0]) if rows else []):
                    conflicts += not undo(change)
                    undone += 1
                self._run("DELETE FROM interservice_undo WHERE answer_key = :k", session, k=key)
        return {"undone": undone, "conflicts": conflicts}

    @contextlib.contextmanager
    def _undoing(self) -> Iterator[tuple[Any, Callable[[list[Any]], bool]]]:
        """(session, undo of one change) in one transaction, committed at the end."""
        from sqlalchemy.orm import Session

        with Session(self.engine()) as session:
            yield session, lambda change: _undo_change(session, change)
            session.commit()

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


class _ThreadRelay:
    """The relay of a synchronous (WSGI or Django) middleware: ``_rerun`` runs one kept
    request again; ``relay`` runs each pending one, on demand or from a timer thread."""

    _relaying: threading.Lock
    _timer: threading.Thread | None

    def _rerun(self, request: dict[str, Any], saga_id: str) -> None:
        raise NotImplementedError

    def _after_relay(self) -> None:
        """Called in the timer thread after each relay run."""

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
                try:
                    self._rerun(request, saga_id)
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
                finally:
                    self._after_relay()

        self._timer = threading.Thread(target=loop, name="saga-relay", daemon=True)
        self._timer.start()


class SagaMiddleware(_ThreadRelay):
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
            return _wsgi_answer(start_response, 200, json.dumps(self.relay()).encode("utf-8"))
        if path == COMPENSATE_PATH and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            asked = environ["wsgi.input"].read(length) if length > 0 else b""
            return _wsgi_answer(start_response, *compensation_answer(asked))
        asked = _status_request(method, environ.get("QUERY_STRING", ""))
        if asked is not None:
            return _wsgi_answer(start_response, *asked)
        store = STORE
        if store is None or method in SAFE_METHODS or path.startswith(self.skip):
            return self.app(environ, start_response)
        self._start_timer()
        saga_id = environ.get("interservice.saga")  # set by the relay only, never by a header
        relayed = saga_id is not None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if saga_id is None:
            saga_id = uuid.uuid4().hex
            store.open(saga_id, _wsgi_request(environ, body))
        answer: list[Any] = []  # (status line, headers): passed on once the run has ended
        chunks: list[bytes] = []

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return chunks.append

        taken = False  # for the relay: the customer is answered 202
        with _scope(saga_id) as state:
            try:
                result = self.app(environ, capture)
                try:
                    chunks.extend(result)
                finally:
                    getattr(result, "close", lambda: None)()
            except BaseException as exc:
                if not _finish(store, saga_id, relayed, 0, b"", state, _why(exc)):
                    raise
                _log.exception("saga %s failed; the relay will complete it", saga_id)
                taken = True
        if not taken:
            status = int(answer[0].split(" ", 1)[0]) if answer else 0
            taken = _finish(store, saga_id, relayed, status, b"".join(chunks), state)
        if taken:
            url, body = _accepted(saga_id, _path(environ))
            return _wsgi_answer(start_response, 202, body, url)
        start_response(*answer)
        return chunks

    def _rerun(self, request: dict[str, Any], saga_id: str) -> None:
        self(_relay_environ(request, saga_id), _no_response)


def _wsgi_request(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A WSGI request as the outbox keeps it: the environ's strings and the body."""
    request = {k: environ[k] for k in _ENVIRON_KEYS if isinstance(environ.get(k), str)}
    request.update(
        {k: v for k, v in environ.items() if k.startswith("HTTP_") and isinstance(v, str)}
    )
    request["body"] = base64.b64encode(body).decode("ascii")
    return request


def _relay_environ(request: dict[str, Any], saga_id: str) -> dict[str, Any]:
    """The WSGI environ of a kept request, marked as a relayed run of ``saga_id``."""
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
    return environ


def _settle(
    store: SagaStore,
    saga_id: str,
    relayed: bool,
    status: int,
    body: bytes,
    calls: int,
    why: str = "",
) -> bool:
    """Record how a run of a saga ended (``status`` 0: it raised); True: the customer is
    answered 202 Accepted instead.

    The contract: an answer below 500 ends the saga (a relayed run's answer is kept for the
    status request). A first run that failed before it called any other service is dropped
    and its 5xx reaches the customer: nothing was done elsewhere, so the customer may retry
    and the relay never completes it behind their back. A first run that failed after it
    called another service (whose answer may have been lost after it applied the call) stays
    in the outbox for the relay, and the customer gets 202 with the saga's status URL, not a
    5xx that would say "not done" of what the relay is about to complete."""
    if 0 < status < 500:
        store.close(saga_id, (status, body) if relayed else None)
        return False
    if not relayed and not calls:
        store.close(saga_id)
        return False
    store.failed(saga_id, why or f"HTTP {status}")
    return not relayed


def _finish(
    store: SagaStore,
    saga_id: str,
    relayed: bool,
    status: int,
    body: bytes,
    state: list[Any],
    why: str = "",
) -> bool:
    """``_settle`` after the compensations the run needs (``compensate``). When an owner
    did not answer them, the saga stays for the relay (which asks again) and the customer
    gets the run's own answer (202 instead of a 5xx)."""
    if not compensate(state, status):
        store.failed(saga_id, "compensation: an owner did not answer")
        return not relayed and not 0 < status < 500
    return _settle(store, saga_id, relayed, status, body, state[1], why)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _path(environ: dict[str, Any]) -> str:
    return environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")


def _accepted(saga_id: str, path: str) -> tuple[str, bytes]:
    """(status URL, 202 body) of a saga taken for the relay: its id and where to ask how it
    ended (the request's own path, so the gateway routes the question to this service)."""
    url = f"{path}?{STATUS_PARAM}={saga_id}"
    body = {
        "saga": saga_id,
        "status": "pending",
        "status_url": url,
        "message": "accepted: a service did not answer in time; this will be completed",
    }
    return url, json.dumps(body).encode("utf-8")


def _status_request(method: str, query: str) -> tuple[int, bytes] | None:
    """The answer to ``GET <path>?interservice_saga=<id>``, or None for any other request."""
    if STORE is None or method != "GET" or STATUS_PARAM not in query:
        return None
    import urllib.parse

    asked = urllib.parse.parse_qs(query).get(STATUS_PARAM)
    if not asked:
        return None
    status, body = STORE.status(asked[0][:64])
    return status, json.dumps(body).encode("utf-8")


_REASONS = {
    200: "200 OK",
    202: "202 Accepted",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    503: "503 Service Unavailable",
}


def _wsgi_answer(
    start_response: Callable[..., Any], status: int, body: bytes, location: str = ""
) -> list[bytes]:
    """A JSON answer of the middleware itself (the relay, a saga's status, a 202)."""
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if location:
        headers.append(("Location", location))
    start_response(_REASONS[status], headers)
    return [body]


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
        if path == COMPENSATE_PATH and method == "POST":
            asked_body = await _whole_body(receive)
            return await _asgi_answer(
                send, *await asyncio.to_thread(compensation_answer, asked_body)
            )
        query = scope.get("query_string", b"").decode("latin-1")
        asked = await asyncio.to_thread(_status_request, method, query)
        if asked is not None:
            return await _asgi_answer(send, *asked)
        store = STORE
        if store is None or method in SAFE_METHODS or path.startswith(self.skip):
            return await self.app(scope, receive, send)
        self._start_timer()
        body = await _whole_body(receive)  # first: it goes into the outbox before the run
        saga_id = scope.get("interservice.saga")  # set by the relay only, never by a header
        relayed = saga_id is not None
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
        held: list[dict[str, Any]] = []  # a 5xx answer, held until the run has ended

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))
            if statuses and statuses[-1] >= 500 or relayed:
                held.append(message)  # (a relayed run's answer is kept, not sent)
            else:
                await send(message)

        taken = False  # for the relay: the customer is answered 202
        with _scope(saga_id) as state:
            try:
                await self.app(scope, replay, capture)
            except BaseException as exc:
                why = _why(exc)
                if not await asyncio.to_thread(
                    _finish, store, saga_id, relayed, 0, b"", state, why
                ):
                    raise
                _log.exception("saga %s failed; the relay will complete it", saga_id)
                taken = True
        if not taken:
            answer = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
            status = statuses[-1] if statuses else 0
            taken = await asyncio.to_thread(_finish, store, saga_id, relayed, status, answer, state)
        if taken:
            url, accepted = _accepted(saga_id, scope.get("root_path", "") + path)
            return await _asgi_answer(send, 202, accepted, url)
        for message in held:
            await send(message)

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


async def _whole_body(receive: Any) -> bytes:
    """The whole body of an ASGI request."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _asgi_answer(send: Any, status: int, body: bytes, location: str = "") -> None:
    """A JSON answer of the ASGI middleware itself (a saga's status, a 202)."""
    headers = [(b"content-type", b"application/json")]
    if location:
        headers.append((b"location", location.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _ignore(message: dict[str, Any]) -> None:
    """``send`` of a relayed run: nobody waits for its answer."""


def install_asgi_sagas(app: Any, bind: Callable[[], Any]) -> None:
    """Sagas for a FastAPI service: its store in the database ``bind()`` gives (an SQLAlchemy
    engine or connection) and the middleware around the app."""
    global STORE
    STORE = SagaStore(bind)
    _listen()
    if not any(m.cls is AsgiSagaMiddleware for m in getattr(app, "user_middleware", [])):
        app.add_middleware(AsgiSagaMiddleware)  # once, however often the app is built


# -- Django: the same outbox, relay and answers, on the service's Django database -------------
class DjangoSagaStore(SagaStore):
    """``SagaStore`` on a Django database connection (the thread's own): inside the internal
    endpoint's ``transaction.atomic()`` an answer is written in the call's transaction."""

    def __init__(self, alias: str = "default") -> None:
        super().__init__(lambda: None)
        self.alias = alias

    def _run(self, sql: str, session: Any = None, **params: Any) -> Any:
        import re

        from django.db import connections

        connection = connections[self.alias]
        with connection.cursor() as cursor:
            if self._ready != connection.settings_dict.get("NAME"):
                for ddl in _DDL:
                    cursor.execute(ddl)
                self._ready = connection.settings_dict.get("NAME")
            cursor.execute(re.sub(r":(\w+)", r"%(\1)s", sql), params)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    @contextlib.contextmanager
    def _undoing(self) -> Iterator[tuple[Any, Callable[[list[Any]], bool]]]:
        from django.db import transaction

        with transaction.atomic(using=self.alias):
            yield None, _undo_django


class DjangoSavepoint:
    """The unit of work of one internal call in a Django service, for ``dispatch``: a
    savepoint in the endpoint's ``transaction.atomic()``; ``rollback()`` undoes what the call
    wrote (once, so an error answer kept after it stays)."""

    def __init__(self) -> None:
        from django.db import transaction

        self._id = transaction.savepoint()
        self._undone = False

    def rollback(self) -> None:
        from django.db import transaction

        if not self._undone:
            transaction.savepoint_rollback(self._id)
            self._undone = True


#: the Django service's saga middleware (the relay view runs its relay)
_DJANGO_SAGAS: DjangoSagaMiddleware | None = None


class DjangoSagaMiddleware(_ThreadRelay):
    """``SagaMiddleware`` as a Django middleware (first in ``MIDDLEWARE``): the same outbox,
    relay, derived keys and 202 contract, in the service's own database. Not used (Django
    drops it) when ``DATABASE_URL`` is not set."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        from django.core.exceptions import MiddlewareNotUsed  # type: ignore[import-untyped]

        global STORE, _DJANGO_SAGAS
        if not os.environ.get("DATABASE_URL"):
            raise MiddlewareNotUsed("sagas need the service's own database (DATABASE_URL)")
        if STORE is None:
            STORE = DjangoSagaStore()
        _django_listen()
        self.get_response = get_response
        self.skip = NOT_SAGAS
        self._relaying = threading.Lock()
        self._timer: threading.Thread | None = None
        _DJANGO_SAGAS = self

    def __call__(self, request: Any) -> Any:
        from django.http import HttpResponse, JsonResponse

        meta, method, path = request.META, request.method, request.path_info
        if path == COMPENSATE_PATH and method == "POST":
            status, body = compensation_answer(request.body)
            return HttpResponse(body, status=status, content_type="application/json")
        asked = _status_request(method, meta.get("QUERY_STRING", ""))
        if asked is not None:
            return HttpResponse(asked[1], status=asked[0], content_type="application/json")
        store = STORE
        if store is None or method in SAFE_METHODS or path.startswith(self.skip):
            return self.get_response(request)
        self._start_timer()
        saga_id = meta.get("interservice.saga")  # set by the relay only, never by a header
        relayed = saga_id is not None
        if saga_id is None:
            saga_id = uuid.uuid4().hex
            store.open(saga_id, _wsgi_request(meta, request.body))
        with _scope(saga_id) as state:
            try:
                response = self.get_response(request)
            except BaseException as exc:
                if not _finish(store, saga_id, relayed, 0, b"", state, _why(exc)):
                    raise
                _log.exception("saga %s failed; the relay will complete it", saga_id)
                response = None
        state[3].extend(state[2])  # every atomic block has ended: these were rolled back
        state[2].clear()
        content = b"" if response is None or response.streaming else response.content
        if response is None or _finish(
            store, saga_id, relayed, response.status_code, content, state
        ):
            url, body = _accepted(saga_id, request.path)
            accepted = JsonResponse(json.loads(body), status=202)
            accepted["Location"] = url
            return accepted
        return response

    def _rerun(self, request: dict[str, Any], saga_id: str) -> None:
        from django.core.handlers.wsgi import WSGIRequest  # type: ignore[import-untyped]

        self(WSGIRequest(_relay_environ(request, saga_id)))

    def _after_relay(self) -> None:
        from django.db import connections

        connections.close_all()  # the timer thread's own connections


def django_relay(request: Any) -> Any:
    """``POST /internal/_saga/relay`` of a Django service (wired in the generated URLconf)."""
    from django.http import JsonResponse

    if request.method != "POST":
        return JsonResponse({"error": {"type": "MethodNotAllowed"}}, status=405)
    if _DJANGO_SAGAS is None:
        return JsonResponse({"ran": 0, "pending": 0})
    return JsonResponse(_DJANGO_SAGAS.relay())


def _no_response(status: str, headers: list[Any], exc_info: Any = None) -> Callable[..., None]:
    """``start_response`` of a relayed run: nobody waits for its answer."""
    return lambda data: None


def install_sagas(app: Any, session: Any) -> None:
    """Sagas for a Flask service: its store in the database of ``session`` (the scoped
    session internal calls commit) and the middleware around its WSGI app."""
    global STORE
    STORE = SagaStore(session.get_bind)
    _listen()
    app.wsgi_app = SagaMiddleware(app.wsgi_app)
