"""The propose / compare / explain commands, end to end on a small Flask + SQLAlchemy app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main
from migrator.plan import load_plan

FILES = {
    "shopx/__init__.py": """
        from flask import Flask

        def create_app():
            from shopx.catalog.routes import bp as catalog_bp
            from shopx.orders.routes import bp as orders_bp
            app = Flask(__name__)
            app.register_blueprint(catalog_bp, url_prefix="/catalog")
            app.register_blueprint(orders_bp, url_prefix="/orders")
            return app
        """,
    "shopx/db.py": """
        from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker

        class Base(DeclarativeBase):
            pass

        session = scoped_session(sessionmaker())
        """,
    "shopx/util.py": """
        import datetime

        def now():
            return datetime.datetime.now(datetime.timezone.utc)

        def cents(value):
            return f"{value / 100:.2f}"
        """,
    "shopx/models.py": """
        from sqlalchemy import ForeignKey, Integer, String
        from sqlalchemy.orm import Mapped, mapped_column, relationship

        from shopx.db import Base

        class Product(Base):
            __tablename__ = "products"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            name: Mapped[str] = mapped_column(String)

        class Order(Base):
            __tablename__ = "orders"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
            product = relationship("Product")
        """,
    "shopx/catalog/__init__.py": "",
    "shopx/catalog/services.py": """
        from shopx.db import session
        from shopx.models import Product
        from shopx.util import cents, now

        def add_product(name):
            p = Product(name=name)
            session.add(p)
            session.commit()
            return p

        def list_products():
            stamp = now()
            return [(p.name, cents(1), stamp) for p in session.query(Product).all()]
        """,
    "shopx/catalog/routes.py": """
        from flask import Blueprint

        from shopx.catalog.services import add_product, list_products

        bp = Blueprint("catalog", __name__)

        @bp.route("/products")
        def products():
            return {"products": list_products()}

        @bp.route("/products", methods=["POST"])
        def create():
            return {"id": add_product("x").id}
        """,
    "shopx/orders/__init__.py": "",
    "shopx/orders/services.py": """
        from shopx.db import session
        from shopx.models import Order
        from shopx.util import cents, now

        def place_order(product_id):
            o = Order(product_id=product_id)
            session.add(o)
            session.commit()
            return o, now()

        def order_total(order):
            return cents(100)
        """,
    "shopx/orders/routes.py": """
        from flask import Blueprint

        from shopx.orders.services import order_total, place_order

        bp = Blueprint("orders", __name__)

        @bp.route("/", methods=["POST"])
        def create():
            order, _ = place_order(1)
            return {"total": order_total(order)}
        """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        path = tmp_path / "proj" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return tmp_path / "proj"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_propose_writes_a_valid_plan_and_prints_a_summary(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    code, stdout, _ = run("propose", str(project), "-o", str(out))
    assert code == 0, stdout
    plan = load_plan(out)
    assert {"catalog", "orders"} <= set(plan.services)
    assert plan.service_of("shopx.catalog.routes") == "catalog"
    assert plan.service_of("shopx.models:Order") == "orders"
    assert "shopx.models" in plan.meta["split_modules"]
    assert "products" in plan.services["catalog"].tables
    assert "orders" in plan.services["orders"].tables
    assert plan.service_of("shopx.util") == "shared_kernel"
    assert "services, shared kernel of" in stdout and "metrics: Q" in stdout
    assert f"plan written to {out}" in stdout
    # the source is recorded relative to the plan, for `explain`
    assert (out.parent / plan.meta["source"]).resolve() == project.resolve()


def test_propose_refuses_to_overwrite_without_force(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    out.write_text("my notes\n")
    code, _, stderr = run("propose", str(project), "-o", str(out))
    assert code == 2 and "exists; use --force" in stderr
    assert out.read_text() == "my notes\n"
    code, _, _ = run("propose", str(project), "-o", str(out), "--force")
    assert code == 0 and load_plan(out).services


def test_propose_json_and_stdout(project: Path) -> None:
    code, stdout, stderr = run("propose", str(project), "--format", "json", "--services", "2")
    assert code == 0
    data = json.loads(stdout)
    assert data["version"] == 1 and len(data["services"]) == 2
    assert "services, shared kernel" in stderr


def test_bad_options_are_one_line_errors(project: Path, tmp_path: Path) -> None:
    code, _, stderr = run("propose", str(project), "--services", "x")
    assert code == 2 and stderr.count("\n") == 1 and "services" in stderr
    cfg = tmp_path / "migrator.yaml"
    cfg.write_text("propose:\n  colour: blue\n")
    code, _, stderr = run("propose", str(project), "--config", str(cfg))
    assert code == 2 and f"{cfg}: propose.colour: unknown key" in stderr


def test_pyproject_constraints_are_applied(project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_text(
        textwrap.dedent("""
        [tool.migrator.propose]
        pin = { "shopx.orders.*" = "ordering" }
        kernel = ["shopx.db"]
        """)
    )
    out = tmp_path / "plan.yaml"
    assert run("propose", str(project), "-o", str(out))[0] == 0
    plan = load_plan(out)
    assert plan.service_of("shopx.orders.services") == "ordering"
    assert plan.service_of("shopx.db") == "shared_kernel"
    (project / "migrator.yaml").write_text("propose:\n  pin:\n    shopx.catalog: products\n")
    assert run("propose", str(project), "-o", str(out), "--force")[0] == 0
    assert load_plan(out).service_of("shopx.catalog.routes") == "products"  # yaml wins


def test_edited_plan_round_trip(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    assert run("propose", str(project), "-o", str(out))[0] == 0
    data = yaml.safe_load(out.read_text())
    data["services"]["shop"] = data["services"].pop("catalog")
    for svc in data["services"].values():
        svc["depends_on"] = []
    out.write_text(yaml.safe_dump(data))
    (project / "shopx/catalog/search.py").write_text(
        "from shopx.catalog.services import list_products\n\n"
        "def search(q):\n    return [p for p in list_products() if q in p[0]]\n"
    )
    code, stdout, _ = run("propose", str(project), "--plan", str(out), "-o", str(out))
    assert code == 0, stdout
    plan = load_plan(out)
    assert plan.service_of("shopx.catalog.search") == "shop"
    assert plan.service_of("shopx.catalog.routes") == "shop"
    assert plan.meta["new_nodes"] == ["shopx.catalog.search"]


@pytest.mark.parametrize("name", ["postgres", "gateway", "legacy"])
def test_a_reserved_service_name_is_refused_at_its_line_of_the_plan(
    project: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "plan.yaml"
    assert run("propose", str(project), "-o", str(out))[0] == 0
    data = yaml.safe_load(out.read_text())
    data["services"][name] = data["services"].pop("catalog")
    data["meta"]["monolith_service"] = "legacy"
    for svc in data["services"].values():
        svc["depends_on"] = []
    out.write_text(yaml.safe_dump(data))
    line = out.read_text().splitlines().index(f"  {name}:") + 1
    code, _, stderr = run("scaffold", str(project), "--plan", str(out), "-o", str(tmp_path / "gen"))
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert f"{out}: line {line}: services.{name}: the name {name!r} is reserved" in stderr
    assert not (tmp_path / "gen").exists()


def test_compare_prints_mojofm_ari_and_moves(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    assert run("propose", str(project), "-o", str(out))[0] == 0
    intended = tmp_path / "intended.yaml"
    intended.write_text(
        textwrap.dedent("""
        version: 1
        kind: decomposition
        services:
          catalog: [shopx.catalog, shopx.catalog.routes, shopx.catalog.services,
                    'shopx.models:Product', 'shopx.models:Order']
          orders: [shopx.orders, shopx.orders.routes, shopx.orders.services]
        shared_kernel: [shopx.util, shopx.db]
        """)
    )
    code, stdout, _ = run("compare", str(out), str(intended))
    assert code == 0
    assert "MoJoFM" in stdout and "ARI" in stdout
    assert "move shopx.models:Order: orders -> catalog" in stdout
    code, stdout, _ = run("compare", str(out), str(out), "--format", "json")
    assert json.loads(stdout)["mojofm"] == 100.0


def test_explain_shows_edges_tables_routes(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    assert run("propose", str(project), "-o", str(out))[0] == 0
    code, stdout, _ = run("explain", str(out), "shopx.catalog.services")
    assert code == 0, stdout
    assert stdout.startswith("shopx.catalog.services: catalog")
    assert "strongest edges to catalog" in stdout
    assert "shopx/catalog/routes.py:" in stdout  # file:line evidence
    assert "table products: " in stdout and "owner catalog" in stdout
    code, stdout, _ = run("explain", str(out), "shopx.catalog.routes", "--format", "json")
    data = json.loads(stdout)
    assert "GET /catalog/products" in data["routes"] or "GET /products" in data["routes"]
    code, _, stderr = run("explain", str(out), "nowhere.at_all")
    assert code == 2 and "not placed" in stderr


def test_plan_is_byte_identical_under_any_hash_seed(project: Path, tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"plan-{seed}.yaml"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "migrator", "propose", str(project), "-o", str(out), "-q"],
            check=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_path_without_python_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, stderr = run("propose", str(tmp_path / "empty"))
    assert code == 2 and stderr.strip().endswith("no Python files found")
    assert stderr.count("\n") == 1
