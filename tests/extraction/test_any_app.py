"""Extraction never crashes on code it was not written for: re-exports through a module alias,
a PATH that is the package itself, and ``run --extract``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from migrator.cli import main
from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .conftest import mini_packages, text


def _reexporting_app(root: Path) -> None:
    pkg = mini_packages(root)
    (pkg / "b" / "impl.py").write_text("def price(sku: str) -> int:\n    return len(sku)\n")
    (pkg / "b" / "api.py").write_text("from mini.b.impl import price\n\n__all__ = ['price']\n")
    (pkg / "a" / "use.py").write_text(
        "from mini.b import api\n\n\ndef total(sku: str) -> int:\n    return api.price(sku)\n"
    )


def test_function_reached_through_a_reexporting_module_gets_a_client(tmp_path: Path) -> None:
    _reexporting_app(tmp_path)
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.api", "mini.b.impl"],
                    "interface": ["mini.b.impl:price"],
                },
            },
            "shared_kernel": {"modules": ["mini"]},
        }
    )
    ex = build_extraction(plan, None, tmp_path)
    (call,) = ex.calls
    assert call.callee == "mini.b.impl:price" and call.converted
    client = text(ex, "services/a/src/interservice/b_api.py")
    assert "def price(sku: str) -> int:" in client
    assert "runtime.call(\n        SERVICE, 'price', price," in client
    compile(client, "b_api.py", "exec")
    assert "'price': _price" in text(ex, "services/b/src/interservice/endpoints.py")


def test_scaffold_and_run_accept_the_package_folder_itself(tmp_path: Path) -> None:
    _reexporting_app(tmp_path / "app")
    package = tmp_path / "app" / "mini"
    runner = CliRunner()
    done = runner.invoke(main, ["propose", str(package), "-o", str(tmp_path / "plan.yaml")])
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        main,
        [
            "scaffold",
            str(package),
            "--plan",
            str(tmp_path / "plan.yaml"),
            "--extract",
            "-o",
            str(tmp_path / "out"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert (
        list((tmp_path / "out" / "services").glob("*/src/mini/__init__.py"))
        or (tmp_path / "out" / "shared_kernel" / "src" / "mini" / "__init__.py").is_file()
    )
    assert (tmp_path / "out" / "EXTRACTION.md").is_file()
    done = runner.invoke(main, ["run", str(package), "--extract", "-o", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    assert "extracted" in done.output
    assert (tmp_path / "run" / "EXTRACTION.md").is_file()
    assert list((tmp_path / "run" / "services").glob("*/src/interservice/app.py"))


def _session_app(root: Path) -> None:
    pkg = mini_packages(root)
    (pkg / "db.py").write_text(
        "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"
    )
    (pkg / "b" / "api.py").write_text(
        "from sqlalchemy.orm import Session\n\n\n"
        "def price(db_session: Session, sku: str) -> int:\n"
        "    return db_session.execute(sku).scalar()\n"
    )
    (pkg / "a" / "use.py").write_text(
        "from mini.b.api import price\n\n\ndef total(db_session, sku: str) -> int:\n"
        "    return price(db_session, sku) * 2\n"
    )


def test_a_session_argument_is_supplied_by_the_owner(tmp_path: Path) -> None:
    _session_app(tmp_path)
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {"modules": ["mini.b", "mini.b.api"], "interface": ["mini.b.api:price"]},
            },
            "shared_kernel": {"modules": ["mini", "mini.db"]},
        }
    )
    ex = build_extraction(plan, None, tmp_path)
    (call,) = ex.calls
    assert call.converted, call.reason
    client = text(ex, "services/a/src/interservice/b_api.py")
    assert "def price(db_session: Session, sku: str) -> int:" in client
    assert "{'sku': sku}" in client and "'db_session':" not in client
    endpoints = text(ex, "services/b/src/interservice/endpoints.py")
    assert "from mini.db import SessionLocal as _session_factory" in endpoints
    assert "INJECT = {'price': ('db_session',)}" in endpoints
    # with only the kernel's engine, each service binds a session factory of its own to it
    (tmp_path / "mini" / "db.py").write_text(
        "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite://')\n"
    )
    ex = build_extraction(plan, None, tmp_path)
    assert ex.calls[0].converted
    assert "from interservice.sessions import factory as _session_factory" in text(
        ex, "services/b/src/interservice/endpoints.py"
    )
    sessions = text(ex, "services/b/src/interservice/sessions.py")
    assert "from mini.db import engine as _engine" in sessions
    assert "factory = sessionmaker(bind=_engine)" in sessions
    # also when the engine is the kernel's part of a module split between services
    (tmp_path / "mini" / "db.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine('sqlite://')\n\n\n"
        "def tidy() -> None:\n    pass\n"
    )
    split = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.api"],
                    "symbols": ["mini.db:tidy"],
                    "interface": ["mini.b.api:price"],
                },
            },
            "shared_kernel": {"modules": ["mini"], "symbols": ["mini.db:engine"]},
        }
    )
    ex = build_extraction(split, None, tmp_path)
    assert ex.calls[0].converted, ex.calls[0].reason
    assert "from mini.db import engine as _engine" in text(
        ex, "services/a/src/interservice/sessions.py"
    )
    # without a session factory or engine in the kernel it cannot be supplied: not converted
    (tmp_path / "mini" / "db.py").write_text("")
    assert not build_extraction(plan, None, tmp_path).calls[0].converted


def test_dispatch_gives_each_injected_parameter_its_own_unit_of_work() -> None:
    from migrator.extraction import runtime

    log: list[str] = []

    class Session:
        def commit(self) -> None:
            log.append("commit")

        def rollback(self) -> None:
            log.append("rollback")

        def close(self) -> None:
            log.append("close")

    def price(db_session: Session, sku: str) -> int:
        if sku == "bad":
            raise ValueError(sku)
        return len(sku)

    assert runtime.dispatch(price, {"kwargs": {"sku": "tea"}}, {"db_session": Session}) == (
        {"result": 3},
        200,
    )
    assert log == ["commit", "close"]
    log.clear()
    body, status = runtime.dispatch(price, {"kwargs": {"sku": "bad"}}, {"db_session": Session})
    assert status == runtime.ERROR_STATUS and body["error"]["type"] == "ValueError"
    assert log == ["rollback", "close"]


def _products(*rows: tuple[int, str, int]):  # noqa: ANN202
    """A real SQLAlchemy ``Product`` (id, sku, price) in SQLite holding ``rows``, and a
    session factory bound to it."""
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import DeclarativeBase, sessionmaker

    class Base(DeclarativeBase):
        pass

    class Product(Base):
        __tablename__ = "products"
        id = Column(Integer, primary_key=True)
        sku = Column(String(20))
        price = Column(Integer)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine)
    with factory() as s:
        s.add_all([Product(id=i, sku=sku, price=price) for i, sku, price in rows])
        s.commit()
    return Product, factory


def test_read_model_rows_come_from_the_owners_orm(monkeypatch) -> None:  # noqa: ANN001
    """Caller's read model -> JSON -> owner's reader on a real SQLAlchemy session."""
    import pytest

    from migrator.extraction import runtime

    Product, factory = _products((1, "tea", 3), (2, "cake", 5))
    readers = {"_read.Product": runtime.reader(Product, factory)}

    def call(service, endpoint, func, args, kwargs, **_):  # noqa: ANN001, ANN003, ANN202
        body, status = runtime.dispatch(readers[endpoint], {"args": args, "kwargs": kwargs})
        assert status == 200, body
        return body["result"]

    monkeypatch.setattr(runtime, "call", call)
    model = runtime.ReadModel("catalog", "Product")
    assert model.query.get(2).sku == "cake"
    assert model.query.get(9) is None
    assert model.query.filter_by(sku="tea").first().price == 3
    assert [p.sku for p in model.objects.all()] == ["tea", "cake"]
    assert model.query.count() == 2 and model.query.filter_by(sku="x").exists() is False
    with pytest.raises(model.DoesNotExist):
        model.objects.get(sku="nothing")
    with pytest.raises(runtime.NotExtractedError, match="read-only"):
        model.query.first().colour = "red"  # not a column the owner sent
    with pytest.raises(runtime.NotExtractedError, match="only keyword filters"):
        model.query.filter(Product.sku == "tea")
    with pytest.raises(runtime.NotExtractedError, match="only Model"):
        model("new")
    # a column changed on a copy, and a row made by the caller, are written by the owner
    model.query.first().price = 9
    assert model(sku="new", price=1).id == 3
    with factory() as s:
        assert [(p.sku, p.price) for p in s.query(Product).order_by(Product.id)] == [
            ("tea", 9),
            ("cake", 5),
            ("new", 1),
        ]


def test_owner_rows_cross_as_columns_and_load_again_by_key(monkeypatch) -> None:  # noqa: ANN001
    """A function returning its own ORM row sends the columns (the caller gets a read-only
    row); a row sent back to it is loaded by key from its own session, so what the function
    changes on it is saved."""
    import json
    from typing import Any, Optional

    import pytest
    from sqlalchemy.orm import object_session

    from migrator.extraction import runtime

    Product, factory = _products((7, "tea", 3))
    monkeypatch.setattr(runtime, "ROW_SESSION", factory)

    def get_product(product_id: int) -> Product:
        return factory().get(Product, product_id)

    def take_one(product: Product, note: Optional[str] = None) -> int:  # noqa: UP045
        assert isinstance(product, Product)  # the owner's own ORM object, not a copy
        product.price -= 1
        object_session(product).commit()
        return product.price

    # the hints the owner's module would resolve (this test module's are strings)
    take_one.__annotations__ = {"product": Product, "note": Optional[str], "return": int}  # noqa: UP045

    body, status = runtime.dispatch(get_product, {"args": [7]})
    assert status == 200 and body["result"] == {
        runtime.ROW: "Product",
        "columns": {"id": 7, "sku": "tea", "price": 3},
    }
    row = runtime.decode(json.loads(json.dumps(body["result"])), Any)
    assert isinstance(row, runtime.ReadRow) and row.sku == "tea"  # the caller has no Product
    with pytest.raises(runtime.NotExtractedError, match="read-only"):
        row.price = 0
    body, status = runtime.dispatch(take_one, {"args": [runtime.encode(row)]})
    assert (status, body) == (200, {"result": 2}), body
    with factory() as s:
        assert s.get(Product, 7).price == 2
    body, status = runtime.dispatch(
        take_one,
        {"args": [{runtime.ROW: "Product", "columns": {"id": 99, "sku": "x", "price": 1}}]},
    )
    assert (
        status == runtime.ERROR_STATUS
        and "Product (99,) does not exist" in body["error"]["message"]
    )


def test_relationships_to_another_services_model_become_reads() -> None:
    from migrator.extraction.data import cut_foreign_links

    code = (
        "class Customer(Base):\n"
        "    __tablename__ = 'customers'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    orders = relationship('Order', back_populates='customer')\n"
        "    tags = relationship('Tag')\n"
        "    region_id = Column(Integer, ForeignKey('regions.id'))\n"
        "    region = relationship('Region')\n"
    )
    new, cuts = cut_foreign_links(
        code, {"regions": "geo"}, {"Order": "orders", "Tag": "tags", "Region": "geo"}
    )
    assert "return ReadModel('orders', 'Order').query.filter_by(customer_id=self.id).all()" in new
    assert "return None if key is None else ReadModel('geo', 'Region').query.get(key)" in new
    assert "tags" not in new and "ForeignKey" not in new
    compile(new, "models.py", "exec")
    assert sorted((c[1], c[2], c[5]) for c in cuts) == [
        ("orders", "relationship", True),
        ("region", "relationship", True),
        ("region_id", "foreign-key", True),
        ("tags", "relationship", False),
    ]


def test_an_unannotated_result_is_judged_from_the_function_it_calls(tmp_path: Path) -> None:
    pkg = mini_packages(tmp_path)
    (pkg / "models.py").write_text("class Item(Base):\n    __tablename__ = 'items'\n")
    (pkg / "b" / "rules.py").write_text(
        "from mini.models import Item\n\n\ndef allowed(user_id: int) -> bool:\n    return True\n\n\n"
        "def item(key):\n    return Item(key=key)\n"
    )
    (pkg / "b" / "api.py").write_text(
        "from mini.b import rules\nfrom mini.b.rules import allowed\n\n\n"
        "def can_edit(user_id: int):\n    return allowed(user_id)\n\n\n"
        "def can_view(user_id: int):\n    return rules.allowed(user_id)\n\n\n"
        "def fetch(key: str):\n    return rules.item(key)\n"
    )
    (pkg / "a" / "use.py").write_text(
        "from mini.b.api import can_edit, can_view, fetch\n\n\n"
        "def go(u: int) -> bool:\n    return can_edit(u) and can_view(u) and bool(fetch('k'))\n"
    )
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.api", "mini.b.rules"],
                    "interface": ["mini.b.api:can_edit", "mini.b.api:can_view", "mini.b.api:fetch"],
                },
            },
            "shared_kernel": {"modules": ["mini", "mini.models"]},
        }
    )
    calls = {c.callee.split(":")[1]: c for c in build_extraction(plan, None, tmp_path).calls}
    assert calls["can_edit"].converted and calls["can_view"].converted
    assert not calls["fetch"].converted and "item() returns" in calls["fetch"].reason


def test_internal_calls_carry_an_idempotency_key_and_are_applied_once(monkeypatch) -> None:  # noqa: ANN001
    import io
    import json
    import urllib.request

    from migrator.extraction import runtime

    sent = []

    def urlopen(request, timeout):  # noqa: ANN001, ANN202
        sent.append(request.get_header("Idempotency-key"))
        if len(sent) == 1:
            raise ConnectionError("answer lost")
        answer = io.BytesIO(json.dumps({"result": 1}).encode())
        answer.status = 200  # as http.client.HTTPResponse has
        return answer

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(runtime.time, "sleep", lambda s: None)
    assert runtime.call("catalog", "reserve", lambda: None, [], {}, idempotent=True) == 1
    assert len(sent) == 2 and sent[0] == sent[1] and len(sent[0]) == 32  # same key on retry
    runtime.call("catalog", "reserve", lambda: None, [], {}, idempotent=True, key="order-7")
    assert sent[-1] == "order-7"

    applied = []

    def reserve(sku: str) -> int:
        applied.append(sku)
        return len(applied)

    first = runtime.dispatch(reserve, {"kwargs": {"sku": "tea"}}, key="k-1")
    assert runtime.dispatch(reserve, {"kwargs": {"sku": "tea"}}, key="k-1") == first
    assert applied == ["tea"]
    runtime.dispatch(reserve, {"kwargs": {"sku": "tea"}}, key="k-2")
    runtime.dispatch(reserve, {"kwargs": {"sku": "tea"}})
    assert applied == ["tea", "tea", "tea"]


def test_pydantic_models_cross_the_network(tmp_path: Path) -> None:
    from pydantic import BaseModel

    from migrator.extraction import runtime

    pkg = mini_packages(tmp_path)
    (pkg / "schemas.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Base(BaseModel):\n    pass\n\n\n"
        "class Quote(Base):\n    sku: str\n    cents: int\n"
    )
    (pkg / "b" / "api.py").write_text(
        "from mini.schemas import Quote\n\n\ndef quote(q: Quote) -> Quote:\n    return q\n"
    )
    (pkg / "a" / "use.py").write_text(
        "from mini.b.api import quote\nfrom mini.schemas import Quote\n\n\n"
        "def go() -> int:\n    return quote(Quote(sku='tea', cents=3)).cents\n"
    )
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {"modules": ["mini.b", "mini.b.api"], "interface": ["mini.b.api:quote"]},
            },
            "shared_kernel": {"modules": ["mini", "mini.schemas"]},
        }
    )
    (call,) = build_extraction(plan, None, tmp_path).calls
    assert call.converted, call.reason

    class Quote(BaseModel):
        sku: str
        cents: int

    wire = runtime.encode(Quote(sku="tea", cents=3))
    assert wire == {"sku": "tea", "cents": 3}
    assert runtime.decode(wire, Quote) == Quote(sku="tea", cents=3)


def test_only_url_settings_receive_the_services_database_url() -> None:
    from migrator.extraction.data import database_env_names

    config = (
        'DB_PROVIDER = os.getenv("DB_PROVIDER")\nDB_URL = os.getenv("DB_URL")\n'
        'PORT = os.getenv("POSTGRES_DB_PORT")\nURI = os.environ["SQLALCHEMY_DATABASE_URI"]\n'
    )
    assert database_env_names([config]) == ["DB_URL", "SQLALCHEMY_DATABASE_URI"]


def test_a_returned_row_is_converted_only_where_the_caller_just_reads_its_columns(
    tmp_path: Path,
) -> None:
    pkg = mini_packages(tmp_path)
    (pkg / "b" / "models.py").write_text(
        "from sqlalchemy import Column, Integer, String\n"
        "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
        "class Stamp:\n    created = Column(Integer)\n\n\n"
        "class Item(Stamp, Base):\n    __tablename__ = 'items'\n"
        "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n\n"
        "    def label(self):\n        return self.name\n"
    )
    (pkg / "b" / "api.py").write_text(
        "from mini.b.models import Item\n\n\n"
        "def get_item(item_id: int):\n    return Item.query.get(item_id)\n"
    )
    (pkg / "a" / "use.py").write_text(
        "from mini.b.api import get_item\n\n\n"
        "def shown(s, i: int) -> str:\n    item = get_item(i)\n"
        "    return f'{item.name} {item.created}'\n\n\n"
        "def renamed(s, i: int) -> None:\n    item = get_item(i)\n    item.name = 'x'\n\n\n"
        "def labelled(s, i: int) -> str:\n    item = get_item(i)\n    return item.label()\n\n\n"
        "def kept(s, i: int) -> None:\n    item = get_item(i)\n    s.add(item)\n"
    )
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.api", "mini.b.models"],
                    "tables": ["items"],
                    "interface": ["mini.b.api:get_item"],
                },
            },
            "shared_kernel": {"modules": ["mini"]},
        }
    )
    ex = build_extraction(plan, None, tmp_path)
    calls = {c.line: c for c in ex.calls}
    assert calls[5].converted  # columns only, one of them from a base class
    assert (
        not calls[10].converted
        and "changes the Item row it gets (item.name = ...)" in calls[10].reason
    )
    assert not calls[15].converted and "reads .label of the Item row" in calls[15].reason
    assert (
        not calls[20].converted
        and "hands the Item row to its own session (s.add(...))" in calls[20].reason
    )
    assert "'get_item': _get_item" in text(ex, "services/b/src/interservice/endpoints.py")


def test_a_cut_key_reads_the_row_by_that_key_unless_the_name_is_taken() -> None:
    from migrator.extraction.data import cut_foreign_links

    code = (
        "class Visit(Base):\n"
        "    __tablename__ = 'visits'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    region_id = Column(ForeignKey('regions.id'))\n"
        "    shop_id = Column(Integer, ForeignKey('shops.id'))\n"
        "    owner = Column(ForeignKey('users.id'))\n"
        "\n\nclass Shop(Base):\n"
        "    __tablename__ = 'local'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    visits = relationship('Visit', backref='shop')\n"
    )
    new, cuts = cut_foreign_links(
        code,
        {"regions": "geo", "shops": "geo", "users": "auth"},
        {},
        {"regions": "Region", "shops": "Store", "users": "User"},
    )
    assert {c[1]: c[5] for c in cuts} == {"region_id": True, "shop_id": False, "owner": False}
    assert "    def region(self):" in new
    assert "return None if key is None else ReadModel('geo', 'Region').query.get(key)" in new
    assert "def shop(self)" not in new  # Shop's backref gives Visit a ``shop`` already
    assert "region_id = Column(__import__('sqlalchemy').Integer)  # migrator: foreign key" in new
    compile(new, "models.py", "exec")


def test_a_branch_for_builtin_values_is_not_what_the_callee_does_with_a_row(
    tmp_path: Path,
) -> None:
    """``token_for(item)`` takes a row or its key: under ``isinstance(item, int)`` (or
    ``str``) it uses the value itself, which a row never is, so only ``item.id`` is asked of
    the row and the call converts; ``isinstance(item, Item)`` is no such branch."""
    pkg = mini_packages(tmp_path)
    (pkg / "c").mkdir()
    (pkg / "c" / "__init__.py").write_text("")
    (pkg / "c" / "models.py").write_text(
        "from sqlalchemy import Column, Integer, String\n"
        "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
        "class Item(Base):\n    __tablename__ = 'items'\n"
        "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    )
    (pkg / "b" / "api.py").write_text(
        "from mini.c.models import Item\n\n\n"
        "def token_for(item):\n"
        "    if isinstance(item, int):\n        return str(item)\n"
        "    elif isinstance(item, (str, bytes)):\n        return item\n"
        "    return str(item.id)\n\n\n"
        "def token_bad(item):\n"
        "    if isinstance(item, Item):\n        return str(item)\n"
        "    return str(item.id)\n"
    )
    (pkg / "a" / "use.py").write_text(
        "from mini.b.api import token_bad, token_for\nfrom mini.c.models import Item\n\n\n"
        "def minted(i: int) -> str:\n    return token_for(Item.query.get(i))\n\n\n"
        "def refused(i: int) -> str:\n    return token_bad(Item.query.get(i))\n"
    )
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.api"],
                    "interface": ["mini.b.api:token_for", "mini.b.api:token_bad"],
                },
                "c": {"modules": ["mini.c", "mini.c.models"], "tables": ["items"]},
            },
            "shared_kernel": {"modules": ["mini"]},
        }
    )
    calls = {c.line: c for c in build_extraction(plan, None, tmp_path).calls}
    assert calls[6].converted, calls[6].reason
    assert not calls[10].converted and "hands the Item row on" in calls[10].reason
