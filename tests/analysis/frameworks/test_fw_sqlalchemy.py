"""SQLAlchemy plug-in: declarative models (classic, 2.0, Flask-SQLAlchemy), Core tables,
relationships and foreign keys, reads and writes through the session and the query API."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, mini_graph, parse

from migrator.analysis.frameworks._util import snake_case
from migrator.analysis.frameworks.sqlalchemy import SQLAlchemyPlugin, sql_tables

PLUGIN = SQLAlchemyPlugin()


def test_collect_models_relations_and_foreign_keys() -> None:
    data = PLUGIN.collect(
        parse("""
        Base = declarative_base()

        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            box_id = Column(ForeignKey("boxes.id"))
            box = relationship("Box")
            owner = relationship(lambda: Owner, secondary=links)

        links = Table("links", Base.metadata, Column("item_id", ForeignKey("items.id")))
    """),
        "m",
        "m.py",
    )
    assert data["bases"] == [{"var": "Base", "kind": "declarative", "line": 1}]
    [item] = data["classes"]
    assert (item["name"], item["line"], item["tablename"], item["has_pk"]) == (
        "Item",
        3,
        "items",
        True,
    )
    assert [(r["target"], r["string"], r["line"]) for r in item["relations"]] == [
        ("Box", True, 7),
        ("Owner", False, 8),
    ]
    assert [(f["target"], f["line"]) for f in item["fks"]] == [("boxes.id", 6)]
    assert [
        (t["var"], t["name"], [f["target"] for f in t["fks"]], t["line"]) for t in data["tables"]
    ] == [("links", "links", ["items.id"], 10)]


def test_collect_reads_and_writes() -> None:
    data = PLUGIN.collect(
        parse("""
        def f(session):
            session.query(A, B.name).all()
            session.scalars(select(C)).all()
            D.query.filter_by(x=1).first()
            e = E(name="x")
            session.add(e)
            session.add_all([F(), G()])
            session.execute(update(H).values(x=1))
            I.query.filter(I.x == 1).delete()
            session.execute(text("INSERT INTO logs (m) VALUES ('x')"))
            users.insert()
    """),
        "m",
        "m.py",
    )
    got = [(a.get("target") or a.get("table"), a["op"], a["line"]) for a in data["access"]]
    assert got == [
        ("A", "read", 2),
        ("B.name", "read", 2),
        ("C", "read", 3),
        ("D", "read", 4),
        ("E", "write", 6),
        ("F", "write", 7),
        ("G", "write", 7),
        ("H", "write", 8),
        ("I", "read", 9),
        ("I", "write", 9),
        ("logs", "write", 10),
        ("users", "write", 11),
    ]


def test_sql_tables() -> None:
    assert sql_tables("SELECT * FROM a JOIN b ON a.id = b.a_id") == [("a", "read"), ("b", "read")]
    assert sql_tables("DELETE FROM a WHERE id IN (SELECT id FROM b)") == [
        ("a", "write"),
        ("b", "read"),
    ]
    assert sql_tables("update stock set n = 1") == [("stock", "write")]
    assert sql_tables("not sql from here") == []


def test_flask_sqlalchemy_default_table_name() -> None:
    assert snake_case("OrderItem") == "order_item"
    assert snake_case("HTTPLog") == "http_log"
    assert snake_case("User") == "user"


@pytest.fixture(params=["fake-resolver", "analyze"])
def graph(request):
    return app_graph(request, "sqlalchemy")


def test_tables_models_and_foreign_keys(graph) -> None:
    tables = {t.name: (t.model, t.foreign_keys, t.file, t.line) for t in graph.tables.values()}
    assert tables == {
        "customers": ("store.models:Customer", [], "store/models.py", 7),
        "orders": ("store.models:Order", ["customers"], "store/models.py", 12),
        "order_lines": ("store.models:OrderLine", ["orders", "products"], "store/models.py", 20),
        "order_tags": (None, ["orders"], "store/models.py", 27),  # Core Table
        # single-table inheritance: Manager shares its parent's table, the parent owns it
        "employees": ("store.models:Employee", [], "store/models.py", 35),
        "products": ("store.catalog:Product", [], "store/catalog.py", 10),  # DeclarativeBase
        "audit_entry": ("store.audit:AuditEntry", [], "store/audit.py", 6),  # db.Model default
    }  # __abstract__ AbstractThing has none


def test_orm_edges(graph) -> None:
    assert edges(graph, "orm") == {
        ("store.models:Order", "store.models:Customer"),  # relationship("Customer") + FK
        ("store.models:Order", "store.models:OrderLine"),  # relationship(lambda: OrderLine)
        ("store.models:OrderLine", "store.models:Order"),  # ForeignKey(Order.id)
        ("store.models:OrderLine", "store.catalog:Product"),  # ForeignKey("products.id")
        ("store.models:order_tags", "store.models:Order"),  # Core table's ForeignKey
    }
    data = graph.g.edges["store.models:Order", "store.models:Customer", "orm"]
    assert data["evidence"] == ["store/models.py:15", "store/models.py:16"]
    assert data["count"] == 2


def test_readers_and_writers(graph) -> None:
    rw = {t.name: (t.readers, t.writers) for t in graph.tables.values()}
    s = "store.services:"
    assert rw["orders"] == (
        [s + "cancel", s + "list_orders", s + "report"],
        [s + "cancel", s + "place_order"],
    )
    assert rw["order_lines"] == ([], [s + "place_order", s + "purge"])
    # rename(): customer = load_customer(...) annotated "-> Customer | None", then customer.id =
    assert rw["customers"] == (
        [s + "find_customer", s + "load_customer", s + "report"],
        [s + "rename"],
    )
    # text("UPDATE ..."); touch_product(): product = lookup(...) -> Optional[Product], then +=
    assert rw["products"] == (
        ["store.catalog:lookup", s + "product_ids"],
        [s + "report", s + "touch_product"],
    )
    assert rw["audit_entry"] == ([s + "audit", s + "audit_list"], [s + "audit"])
    assert rw["order_tags"] == ([], [s + "tag"])
    assert rw["employees"] == ([], [])


def test_table_edges_from_accessor_to_model(graph) -> None:
    s = "store.services:"
    assert edges(graph, "table") == {
        (s + "list_orders", "store.models:Order"),
        (s + "cancel", "store.models:Order"),
        (s + "place_order", "store.models:Order"),
        (s + "place_order", "store.models:OrderLine"),
        (s + "purge", "store.models:OrderLine"),
        (s + "find_customer", "store.models:Customer"),
        (s + "report", "store.models:Customer"),
        (s + "report", "store.models:Order"),
        (s + "report", "store.catalog:Product"),
        (s + "product_ids", "store.catalog:Product"),
        (s + "audit", "store.audit:AuditEntry"),
        (s + "audit_list", "store.audit:AuditEntry"),
        (s + "tag", "store.models:order_tags"),
        (s + "load_customer", "store.models:Customer"),
        (s + "rename", "store.models:Customer"),
        ("store.catalog:lookup", "store.catalog:Product"),
        (s + "touch_product", "store.catalog:Product"),
    }


def test_collect_more_access_forms() -> None:
    data = PLUGIN.collect(
        parse("""
        def g(session, order: "Order | None"):
            session.query(A).filter(A.x == 1).update({"x": 2})
            users.select()
            session.execute(select(B.id).select_from(C).join(D))
            order.status = "paid"
            for line in session.execute(select(E)).scalars():
                line.qty += 1
            rows = {k: F() for k in range(3)}
            session.add_all(rows.values())
            db.get_or_404(G, 1)
    """),
        "m",
        "m.py",
    )
    # a method called on a model instance (``rows.values()``) is a write only if the parent half
    # finds it among the model's writing methods: left out here
    got = [(a.get("target"), a["op"], a["line"]) for a in data["access"] if "via" not in a]
    assert got == [
        ("A", "read", 2),
        ("A", "write", 2),
        ("users", "read", 3),
        ("B.id", "read", 4),
        ("C", "read", 4),
        ("D", "read", 4),
        ("Order", "write", 5),
        ("E", "read", 6),
        ("E", "write", 7),
        ("F", "write", 9),
        ("G", "read", 10),
    ]


def test_collect_typed_relationship_targets() -> None:
    data = PLUGIN.collect(
        parse("""
        class User(Base):
            __tablename__ = "users"
            posts: Mapped[List["Post"]] = relationship(back_populates="author")
            tasks: so.WriteOnlyMapped["Task"] = so.relationship()
            boss: Mapped[Optional[User]] = relationship(remote_side="User.id")
            plain: Mapped[int] = mapped_column()
    """),
        "m",
        "m.py",
    )
    assert [(r["target"], r["string"], r["line"]) for r in data["classes"][0]["relations"]] == [
        ("Post", True, 3),
        ("Task", True, 4),
        ("User", False, 5),
    ]


def test_models_through_an_alias_of_db_model() -> None:
    """``BaseModel = db.Model`` in one module (``db`` an instance of a subclass of
    Flask-SQLAlchemy's class), models deriving from the alias in another."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/ext.py": """
            from flask_sqlalchemy import SQLAlchemy as _Base

            class SQLAlchemy(_Base):
                pass

            db = SQLAlchemy()
        """,
            "pkg/database.py": """
            from pkg.ext import db
            BaseModel = db.Model
            NotAModel = db.Session
        """,
            "pkg/models.py": """
            from sqlalchemy import Column, Integer
            from pkg.database import BaseModel, NotAModel

            class Certificate(BaseModel):
                __tablename__ = "certificates"
                id = Column(Integer, primary_key=True)

            class Policy(BaseModel):
                id = Column(Integer, primary_key=True)

            class Other(NotAModel):
                __tablename__ = "other"
                id = Column(Integer, primary_key=True)
        """,
        }
    )
    assert {(t.name, t.model) for t in g.tables.values()} == {
        ("certificates", "pkg.models:Certificate"),
        ("policy", "pkg.models:Policy"),
    }


def test_models_of_an_instance_of_a_renamed_subclass() -> None:
    """``db = AppSQLAlchemy()``, a subclass of Flask-SQLAlchemy's class with the driver hacks
    of the app; a ``db = Registry()`` of something else makes no models."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/base.py": """
            from flask_sqlalchemy import SQLAlchemy

            class AppSQLAlchemy(SQLAlchemy):
                def apply_driver_hacks(self, app, info, options):
                    return super().apply_driver_hacks(app, info, options)

            db = AppSQLAlchemy(session_options={"expire_on_commit": False})
        """,
            "pkg/other.py": """
            class Registry:
                Model = object

            db = Registry()
        """,
            "pkg/models.py": """
            from pkg.base import db
            from pkg import other

            class Query(db.Model):
                id = db.Column(db.Integer, primary_key=True)

            class Widget(other.db.Model):
                __tablename__ = "widgets"
        """,
        }
    )
    assert {(t.name, t.model) for t in g.tables.values()} == {("query", "pkg.models:Query")}


def test_table_names_from_a_declared_attr_on_the_base() -> None:
    """A ``DeclarativeBase`` subclass (or a mixin) naming tables with a ``__tablename__``
    function: snake case through a helper, lower case for ``cls.__name__.lower()``."""
    g = mini_graph(
        {
            "db/__init__.py": "",
            "db/core.py": """
            import re
            from sqlalchemy.orm import DeclarativeBase, declared_attr

            def resolve_table_name(name):
                return "_".join(x.lower() for x in re.split("(?=[A-Z])", name) if x)

            class Base(DeclarativeBase):
                @declared_attr.directive
                def __tablename__(cls):
                    return resolve_table_name(cls.__name__)

            class LowerMixin:
                @declared_attr
                def __tablename__(cls):
                    return cls.__name__.lower()
        """,
            "db/models.py": """
            from sqlalchemy import Column, Integer
            from db.core import Base, LowerMixin

            class CaseNotes(Base):
                id = Column(Integer, primary_key=True)

            class Named(Base):
                __tablename__ = "named"
                id = Column(Integer, primary_key=True)

            class TagType(LowerMixin, Base):
                id = Column(Integer, primary_key=True)
        """,
        }
    )
    assert {(t.name, t.model) for t in g.tables.values()} == {
        ("case_notes", "db.models:CaseNotes"),
        ("named", "db.models:Named"),
        ("tagtype", "db.models:TagType"),
    }


def test_writes_through_methods_of_an_active_record_mixin() -> None:
    """A mixin's methods that write their own row (``create`` -> ``create_no_commit`` ->
    ``session.add(cls(...))``, ``save`` -> ``session.add(self)``, ``build`` -> ``row.save()``
    on a ``row = cls(...)``, ``delete_all`` on ``cls.query``) make ``Task.create(...)``,
    ``task.save()``, ``Note.build(...)`` and ``Note.delete_all()``
    writes of the model's table, and ``Task.get(...)`` (``session.get(cls, id)``) a read;
    other classes' methods of the same name (``Report.create``) are neither."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/base.py": """
            from flask_sqlalchemy import SQLAlchemy
            db = SQLAlchemy()

            class ActiveRecord:
                @classmethod
                def get(cls, id):
                    return db.session.get(cls, id)

                @classmethod
                def create(cls, **kw):
                    row = cls.create_no_commit(**kw)
                    db.session.commit()
                    return row

                @classmethod
                def create_no_commit(cls, **kw):
                    row = cls(**kw)
                    db.session.add(row)
                    return row

                def save(self):
                    db.session.add(self)
                    db.session.commit()
                    return self

                @classmethod
                def build(cls, **kw):
                    row = cls(**kw)
                    return row.save()

                @classmethod
                def delete_all(cls, **kw):
                    cls.query.filter_by(**kw).delete()
        """,
            "pkg/models.py": """
            from pkg.base import ActiveRecord, db

            class Task(db.Model, ActiveRecord):
                id = db.Column(db.Integer, primary_key=True)

            class Note(db.Model, ActiveRecord):
                id = db.Column(db.Integer, primary_key=True)
        """,
            "pkg/reports.py": """
            class Report:
                @classmethod
                def create(cls, **kw):
                    return cls()
        """,
            "pkg/services.py": """
            from pkg.models import Note, Task
            from pkg.reports import Report

            def new_task(name):
                return Task.create(name=name)

            def rename(task_id, name):
                task = Task.get(task_id)
                task.name_hint = None
                task.save()

            def look(task_id):
                return Task.get(task_id)

            def clear_notes():
                Note.delete_all(kind="draft")

            def new_note(text):
                return Note.build(text=text)

            def summary():
                Report.create(title="x")
        """,
        }
    )
    s = "pkg.services:"
    assert g.tables["task"].writers == [s + "new_task", s + "rename"]
    assert g.tables["note"].writers == [s + "clear_notes", s + "new_note"]
    assert g.tables["task"].readers == [s + "look", s + "rename"]
    assert (s + "look") not in g.tables["task"].writers
    assert (s + "summary") not in g.tables["task"].readers + g.tables["note"].writers


def test_writes_through_helper_functions_handed_a_model() -> None:
    """``database.create(cert)``: a function that writes its parameter (``session.add``, an
    attribute set on it, or handing it on to such a function) writes the table of the model
    its caller hands it; a helper that only reads its parameter, or another argument of a
    writing helper, does not make the caller a writer."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/models.py": """
            from flask_sqlalchemy import SQLAlchemy
            db = SQLAlchemy()

            class Certificate(db.Model):
                id = db.Column(db.Integer, primary_key=True)

            class Role(db.Model):
                id = db.Column(db.Integer, primary_key=True)
        """,
            "pkg/database.py": """
            from pkg.models import db

            def create(model, note=None):
                db.session.add(model)
                db.session.commit()
                return model

            def stamp(row, when):
                row.updated = when

            def save(model):
                return create(model)

            def delete(model):
                db.session.delete(model)

            def get(model, value):
                return db.session.query(model).get(value)
        """,
            "pkg/services.py": """
            from pkg import database
            from pkg.database import save
            from pkg.models import Certificate, Role

            def issue(name):
                cert = Certificate(name=name)
                return database.create(cert, Role)

            def renew(cert_id, when):
                cert = Certificate.query.get(cert_id)
                database.stamp(cert, when)

            def import_one(name):
                save(Certificate(name=name))

            def drop(cert_id):
                cert = Certificate.query.get(cert_id)
                database.delete(cert)

            def find(cert_id):
                return database.get(Certificate, cert_id)

            def grant(name):
                role = Role(name=name)
                return role
        """,
        }
    )
    s = "pkg.services:"
    assert g.tables["certificate"].writers == [
        s + "drop",
        s + "import_one",
        s + "issue",
        s + "renew",
    ]
    assert g.tables["role"].writers == []


REPOSITORY_APP = {
    "pkg/__init__.py": "",
    "pkg/models.py": """
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class Recipe(Base):
        __tablename__ = "recipes"

    class Food(Base):
        __tablename__ = "foods"

    class User(Base):
        __tablename__ = "users"

    class Tag(Base):
        __tablename__ = "tags"

    class Note(Base):
        __tablename__ = "notes"
""",
    "pkg/repos/__init__.py": "",
    "pkg/repos/generic.py": """
    from typing import Generic, TypeVar
    from sqlalchemy import select

    Model = TypeVar("Model")

    class RepositoryGeneric(Generic[Model]):
        def __init__(self, session, primary_key, sql_model, schema):
            self.session = session
            self.model = sql_model

        def _query(self):
            return select(self.model)

        def get_one(self, value):
            return self.session.execute(self._query()).scalars().one()

        def create(self, data):
            row = self.model(**data)
            self.session.add(row)
            self.session.commit()
            return row

        def update(self, value, data):
            entry = self.get_one(value)
            entry.update(**data)
            self.session.commit()

        def name(self):
            return self.model.__name__

    class GroupRepository(RepositoryGeneric[Model]):
        def __init__(self, session, primary_key, sql_model, schema, *, group_id):
            super().__init__(session, primary_key, sql_model, schema)
            self.group_id = group_id
""",
    "pkg/repos/factory.py": """
    from functools import cached_property
    from pkg.models import Recipe, Food, Tag, Note
    from pkg.repos.generic import GroupRepository, RepositoryGeneric

    class RecipeRepository(GroupRepository[Recipe]):
        def by_slug(self, slug):
            return self.session.query(self.model).filter_by(slug=slug).one()

    class AllRepositories:
        def __init__(self, session, group_id):
            self.session = session
            self.group_id = group_id

        @cached_property
        def recipes(self):
            return RecipeRepository(self.session, "slug", Recipe, dict, group_id=self.group_id)

        @property
        def foods(self):
            return GroupRepository(self.session, "id", sql_model=Food, schema=dict, group_id=1)

        @cached_property
        def items(self):
            return RepositoryGeneric(self.session, "id", Tag, dict)

    class OtherRepositories:
        @cached_property
        def items(self):
            return RepositoryGeneric(self.session, "id", Note, dict)
""",
    "pkg/crud/__init__.py": "from .users import user\n",
    "pkg/crud/base.py": """
    from sqlalchemy.orm import Session

    class CRUDBase:
        def __init__(self, model):
            self.model = model

        def get(self, db, id):
            return db.query(self.model).filter(self.model.id == id).first()

        def create(self, db, *, obj_in):
            db_obj = self.model(**obj_in)
            db.add(db_obj)
            return db_obj
""",
    "pkg/crud/users.py": """
    from sqlalchemy.orm import Session
    from pkg.crud.base import CRUDBase
    from pkg.models import User

    class CRUDUser(CRUDBase):
        def get_by_email(self, db, *, email):
            return db.query(User).filter(User.email == email).first()

        def authenticate(self, db, *, email, password):
            return self.get_by_email(db, email=email)

    user = CRUDUser(User)
""",
    "pkg/wrappers.py": """
    class HttpRepo:
        def __init__(self, repo, logger):
            self.repo = repo
            self.logger = logger

        def create_one(self, data):
            self.logger.info("creating")
            return self.repo.create(data)

        def get_one(self, key):
            return self.repo.get_one(key)
""",
    "pkg/routes.py": """
    from functools import cached_property
    from pkg import crud
    from pkg.repos.factory import AllRepositories
    from pkg.repos.generic import RepositoryGeneric
    from pkg.models import Note
    from pkg.wrappers import HttpRepo

    class BaseController:
        @cached_property
        def repos(self):
            return AllRepositories(self.session, self.group_id)

    class RecipeController(BaseController):
        @cached_property
        def repo(self):
            return self.repos.recipes

        @cached_property
        def mixins(self):
            return HttpRepo[dict](self.repo, self.logger)

        def create_recipe(self, data):
            return self.mixins.create_one(data)

        def show_recipe(self, key):
            return self.mixins.get_one(key)

        def rename(self, slug, data):
            self.repo.update(slug, data)

        def find(self, slug):
            return self.repo.by_slug(slug)

    def add_food(repos: AllRepositories, data):
        repos.foods.create(data)

    def tag_it(repos, data):
        repos.items.create(data)  # two factories bind ``items`` to two models: unknown

    def write_note(session, data):
        notes = RepositoryGeneric(session, "id", Note, dict)
        notes.create(data)

    def sign_up(db, data):
        return crud.user.create(db, obj_in=data)

    def whoami(db, id):
        return crud.user.get(db, id)

    def log_in(db, email):
        return crud.user.authenticate(db, email=email, password="secret")

    def label(repos):
        return repos.recipes.name()
""",
}


def test_reads_and_writes_through_generic_repositories() -> None:
    """A repository class bound to a model when constructed (``self.model = sql_model``)
    reads and writes that model's table: where a factory's property, a module-level
    variable or a local binds it, through aliases (``self.repo``) and wrappers handed one
    (``HttpRepo(self.repo)``), by what each repository method does to ``self.model`` or to
    the model it is bound to, named (``db.query(User)``)."""
    g = mini_graph(REPOSITORY_APP)
    r = "pkg.routes:"
    assert sorted(set(g.tables["recipes"].writers)) == [r + "RecipeController"]
    assert sorted(set(g.tables["recipes"].readers)) == [r + "RecipeController"]
    assert g.tables["foods"].writers == [r + "add_food"]
    assert g.tables["notes"].writers == [r + "write_note"]
    assert g.tables["users"].writers == [r + "sign_up"]
    # ``authenticate`` calls ``get_by_email``, which names the model it is bound to
    assert sorted(set(g.tables["users"].readers)) == [
        "pkg.crud.users:CRUDUser",
        r + "log_in",
        r + "whoami",
    ]
    assert g.tables["tags"].writers == []  # ``items`` is ambiguous
    # ``name()`` touches no rows: ``label`` is no reader
    assert r + "label" not in g.tables["recipes"].readers
    assert (r + "sign_up", "pkg.models:User") in edges(g, "table")


def test_repository_methods_read_and_write_their_bound_model() -> None:
    """The worker half: which methods of a repository write or read ``self.model``'s rows,
    which ``__init__`` parameter binds it, and what a wrapper forwards."""
    data = PLUGIN.collect(parse(REPOSITORY_APP["pkg/repos/generic.py"]), "m", "m.py")
    generic, group = data["classes"]
    assert generic["slot"] == ["model", "sql_model"]
    assert generic["init"] == ["session", "primary_key", "sql_model", "schema"]
    assert (generic["writers"], generic["readers"]) == (["create", "update"], ["_query", "get_one"])
    assert group["bases"] == ["RepositoryGeneric"]  # ``RepositoryGeneric[Model]``
    assert "slot" not in group
    wrapper = PLUGIN.collect(parse(REPOSITORY_APP["pkg/wrappers.py"]), "w", "w.py")
    [http] = wrapper["classes"]
    assert http["holds"] == {"logger": "logger", "repo": "repo"}
    assert http["wraps"] == {
        "create_one": ["logger.info", "repo.create"],
        "get_one": ["repo.get_one"],
    }
