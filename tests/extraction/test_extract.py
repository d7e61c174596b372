"""scaffold --extract on the small shop: what each service receives and how calls are rewired."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.extraction import ExtractionError, build_extraction, extract

from .conftest import SHOP_ROOT, mini_packages, text

ORDERS = "services/orders/src"


def test_each_service_gets_its_modules_and_only_its_part_of_models(shop_extraction) -> None:
    files = set(shop_extraction.files)
    assert f"{ORDERS}/shopfix/orders/services.py" in files
    assert f"{ORDERS}/shopfix/catalog/services.py" not in files
    assert "services/catalog/src/shopfix/catalog/views.py" in files
    catalog_models = text(shop_extraction, "services/catalog/src/shopfix/models.py")
    assert "class Product(Base):" in catalog_models and "class Order(" not in catalog_models
    orders_models = text(shop_extraction, f"{ORDERS}/shopfix/models.py")
    assert "class Order(Base):" in orders_models and "class OrderLine(Base):" in orders_models
    assert "class Product(" not in orders_models
    # a whole module is copied byte for byte
    original = (SHOP_ROOT / "shopfix/catalog/services.py").read_text()
    assert text(shop_extraction, "services/catalog/src/shopfix/catalog/services.py") == original


def test_shared_kernel_is_one_installable_library(shop_extraction) -> None:
    files = shop_extraction.files
    assert set(f for f in files if f.startswith("shared_kernel/src/")) == {
        "shared_kernel/src/shopfix/config.py",
        "shared_kernel/src/shopfix/db.py",
        "shared_kernel/src/shopfix/_migrator_kernel.py",
    }
    pyproject = text(shop_extraction, "shared_kernel/pyproject.toml")
    assert 'name = "shopfix-shared-kernel"' in pyproject
    assert '"SQLAlchemy"' in pyproject  # the kernel's own third-party import
    assert "namespaces = true" in pyproject
    # shopfix/ is shared by the kernel and the services: the kernel's part has no __init__ and
    # a marker; each service's __init__ keeps the package's code and adds only that part
    assert "shared_kernel/src/shopfix/__init__.py" not in files
    init = text(shop_extraction, "services/orders/src/shopfix/__init__.py")
    assert init.startswith('"""shopfix: a tiny Flask + SQLAlchemy shop that the extraction')
    assert "'_migrator_kernel.py'" in init
    assert not any(
        f.startswith("services/") and f.endswith(("/config.py", "/db.py")) for f in files
    )


def test_cross_service_imports_point_at_generated_clients(shop_extraction) -> None:
    code = text(shop_extraction, f"{ORDERS}/shopfix/orders/services.py")
    assert (
        "from interservice.catalog_services import UnknownProduct, describe, get_price, "
        "get_product, line_label, line_total, quote  # noqa: I001, E501\n"
    ) in code
    assert "from interservice import inventory_services as inventory\n" in code
    assert (
        "from shopfix.models import Order, OrderLine\nfrom interservice.catalog_models import Product\n"
        in code
    )
    # the rest of the module is untouched, comments included
    assert "    # price first: an unknown product must not reserve stock\n" in code
    views = text(shop_extraction, f"{ORDERS}/shopfix/orders/views.py")
    assert "from interservice.inventory_services import OutOfStock\n" in views


def test_client_keeps_names_and_signatures_and_maps_errors(shop_extraction) -> None:
    client = text(shop_extraction, f"{ORDERS}/interservice/catalog_services.py")
    assert "def get_price(product_id: int) -> float:" in client
    assert "def quote(sku: str, quantity: int = 1) -> PriceQuote:" in client
    assert "@dataclass\nclass PriceQuote:" in client  # result type copied
    assert "class UnknownProduct(LookupError):" in client  # exception copied
    assert "_ERRORS: dict[str, type] = {'UnknownProduct': UnknownProduct}" in client
    assert "idempotent=True" in client
    # catalog's own Product rows cross as their columns: both functions are real clients, and
    # the Product of their signatures (absent in orders' copy of models.py) is a stand-in
    assert "def get_product(product_id: int) -> Product:" in client
    assert "def describe(product: Product) -> str:" in client
    assert "Product = runtime.Unavailable('Product'" in client
    assert "from shopfix.models import" not in client
    assert "line_label = runtime.Unavailable(" in client  # orders' row: catalog cannot load it
    inventory = text(shop_extraction, f"{ORDERS}/interservice/inventory_services.py")
    assert "def reserve(product_id: int, quantity: int) -> bool:" in inventory
    assert "idempotent=False" in inventory  # a write is never retried


def test_owner_gets_internal_endpoints_for_convertible_interface(shop_extraction) -> None:
    catalog = text(shop_extraction, "services/catalog/src/interservice/endpoints.py")
    assert '@bp.post("/internal/<name>")' in catalog
    assert "'get_price': _get_price," in catalog and "'quote': _quote," in catalog
    assert "'describe': _describe," in catalog and "'get_product': _get_product," in catalog
    assert "line_label" not in catalog  # another service's ORM model in the signature
    assert "runtime.ROW_SESSION = _session\n" in catalog  # rows sent back load in the unit of work
    assert "from shopfix.db import Session as _session" in catalog  # unit of work per call
    inventory = text(shop_extraction, "services/inventory/src/interservice/endpoints.py")
    assert "'available': _available," in inventory and "'reserve': _reserve," in inventory
    assert "services/orders/src/interservice/endpoints.py" not in shop_extraction.files


def test_flask_services_keep_sagas_in_their_own_database(shop_extraction) -> None:
    for svc in ("catalog", "inventory", "orders"):  # orders serves nothing, but calls others
        app = text(shop_extraction, f"services/{svc}/src/interservice/app.py")
        assert "from shopfix.db import Session as _session" in app
        assert "    runtime.install_sagas(app, _session)\n    _probes(app)" in app
    # the owner keeps a saga call's answer in the unit of work the endpoint commits
    catalog = text(shop_extraction, "services/catalog/src/interservice/endpoints.py")
    assert "request.headers.get(runtime.SAGA_HEADER), _session)" in catalog


def test_orm_calls_stay_unconverted_with_location_and_suggested_shape(shop_extraction) -> None:
    calls = {(c.callee.split(":")[1], c.line): c for c in shop_extraction.calls}
    # get_product returns and describe takes catalog's own Product: rows cross as columns
    assert {k for k, c in calls.items() if c.converted} == {
        ("get_price", 11),
        ("reserve", 12),
        ("quote", 22),
        ("get_product", 31),
        ("describe", 32),
        ("line_total", 43),
    }  # line_total reads columns of orders' row only
    left = calls[("line_label", 43)]  # follows a relationship of orders' OrderLine row
    assert not left.converted and left.file == "shopfix/orders/services.py"
    assert (
        "parameter 'order_line' looks like a OrderLine (ORM model); the callee reads "
        ".order of the OrderLine row, which is not one of its columns" in left.reason
    )
    assert "class OrderLineData:" in left.suggestion and "    quantity: int" in left.suggestion
    assert shop_extraction.converted == 6 and shop_extraction.fraction == pytest.approx(6 / 7)
    report = text(shop_extraction, "EXTRACTION.md")
    assert "**6 of 7** (86%)" in report
    assert "`shopfix/orders/services.py:43` (orders -> catalog)" in report


def test_each_service_has_its_own_tables_and_cross_links_become_coupling(shop_extraction) -> None:
    orders_models = text(shop_extraction, f"{ORDERS}/shopfix/models.py")
    assert (
        "product_id: Mapped[int] = mapped_column(Integer)  # migrator: foreign key to "
        "products (catalog) removed"
    ) in orders_models
    assert 'ForeignKey("orders.id")' in orders_models  # own table: kept
    assert 'relationship("Product")' not in orders_models
    inventory_models = text(shop_extraction, "services/inventory/src/shopfix/models.py")
    assert "product_id: Mapped[int] = mapped_column(unique=True)" in inventory_models
    kinds = {(c.service, c.kind, c.uses.split(" ")[0]) for c in shop_extraction.couplings}
    assert ("orders", "relationship", "OrderLine.product") in kinds
    assert ("inventory", "foreign-key", "StockLevel.product_id") in kinds
    assert ("orders", "model", "shopfix.models:Product") in kinds  # Session.query(Product)
    assert ("orders", "table", "table") in kinds  # the analyser's reader of products
    app = text(shop_extraction, "services/orders/src/interservice/app.py")
    assert "DATABASE_ENV = ('SHOPFIX_DATABASE_URL',)" in app


def test_composition_root_is_pruned_per_service(shop_extraction) -> None:
    orders_app = text(shop_extraction, f"{ORDERS}/shopfix/app.py")
    assert "app.register_blueprint(orders_bp)" in orders_app
    assert "catalog_bp" not in orders_app and "Product(" not in orders_app
    catalog_app = text(shop_extraction, "services/catalog/src/shopfix/app.py")
    assert 'app.register_blueprint(catalog_bp, url_prefix="/catalog")' in catalog_app
    assert "StockLevel" not in catalog_app and 'Product(id=1, sku="PEACH"' in catalog_app


def test_every_generated_python_file_compiles(shop_extraction) -> None:
    for rel, data in shop_extraction.files.items():
        if rel.endswith(".py"):
            compile(data.decode("utf-8"), rel, "exec")


def test_generated_services_import_without_their_neighbours(
    shop_extraction, tmp_path: Path
) -> None:
    for rel, data in shop_extraction.files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    for svc in ("catalog", "inventory", "orders"):
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(tmp_path / "services" / svc / "src"), str(tmp_path / "shared_kernel" / "src")]
            ),
            "DATABASE_URL": f"sqlite:///{tmp_path / svc}.db",
        }
        probe = (
            "from interservice.app import create_app\napp = create_app()\n"
            "c = app.test_client()\nprint(c.get('/healthz').status_code, "
            "sorted(r.rule for r in app.url_map.iter_rules() if not r.rule.startswith('/static')))"
        )
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("200 "), result.stdout
        assert "/internal/<name>" in result.stdout or svc == "orders"
        assert ("/orders" in result.stdout) == (svc == "orders")


def test_output_is_deterministic_across_hash_seeds(shop_plan, tmp_path: Path) -> None:
    script = (
        "import hashlib, sys\nfrom migrator.plan import load_plan\n"
        "from migrator.extraction import build_extraction\n"
        f"ex = build_extraction(load_plan({str(SHOP_ROOT.parent / 'shopfix_plan.yaml')!r}), "
        f"None, {str(SHOP_ROOT)!r})\n"
        "h = hashlib.sha256()\n"
        "for k in sorted(ex.files): h.update(k.encode()); h.update(ex.files[k])\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).parents[2],
        )
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_extract_writes_atomically_and_never_overwrites_edits(shop_plan, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ex = extract(shop_plan, None, SHOP_ROOT, out)
    target = out / "services/orders/src/shopfix/orders/services.py"
    assert target.read_bytes() == ex.files["services/orders/src/shopfix/orders/services.py"]
    summary = json.loads((out / "extraction.json").read_text())["summary"]
    assert summary == {
        "calls": 7,
        "converted": 6,
        "fraction": 0.8571,
        "couplings": 5,
        "uses": 12,
        "converted_uses": 11,  # orders reads catalog's products ordered and limited
        "uses_fraction": 0.9167,
        "services": ["catalog", "inventory", "orders"],
    }
    report = (out / "EXTRACTION.md").read_text()
    assert "only through a generated client or read model: **11 of 12** (92%)" in report
    # the session query of catalog's Product in orders asks catalog's read model
    orders = (out / "services/orders/src/shopfix/orders/services.py").read_text()
    assert "for p in Product.query.order_by(Product.price).limit(limit)]" in orders
    # StockLevel.product_id, its foreign key cut, reads catalog's Product by that key
    stock = (out / "services/inventory/src/shopfix/models.py").read_text()
    assert "    def product(self):" in stock and "key = self.product_id" in stock
    # OrderLine.product (catalog's Product) is a property reading catalog's read model
    models = (out / "services/orders/src/shopfix/models.py").read_text()
    assert "    def product(self):" in models
    assert "ReadModel('catalog', 'Product').query.get(key)" in models
    assert (
        "'_read.Product': runtime.reader(_model_Product"
        in (out / "services/catalog/src/interservice/endpoints.py").read_text()
    )
    # the cut key is listed with the reads, not as coupling left for a person
    assert (
        "| inventory | `shopfix/models.py:30` | `StockLevel.product_id -> products` | "
        "catalog |" in report
    )
    assert "| foreign-key |" not in report
    mtime = target.stat().st_mtime_ns
    extract(shop_plan, None, SHOP_ROOT, out)  # unchanged: nothing rewritten
    assert target.stat().st_mtime_ns == mtime
    target.write_text("# my fix\n")
    with pytest.raises(ExtractionError, match="services.py:1: edited since migrator wrote it"):
        extract(shop_plan, None, SHOP_ROOT, out)
    assert target.read_text() == "# my fix\n"
    extract(shop_plan, None, SHOP_ROOT, out, force=True)
    assert target.read_text() != "# my fix\n"


def test_bad_input_is_one_line_error_naming_the_file(shop_plan, tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"nowhere:0: source root is not a directory"):
        build_extraction(shop_plan, None, tmp_path / "nowhere")
    broken = tmp_path / "src" / "shopfix"
    broken.mkdir(parents=True)
    (broken / "models.py").write_text("class Product(:\n")
    with pytest.raises(ExtractionError, match=r"models.py:1: cannot parse"):
        build_extraction(shop_plan, None, tmp_path / "src")


def test_import_module_by_name_and_request_bound_helpers(tmp_path: Path) -> None:
    from migrator.plan import plan_from_dict

    pkg = mini_packages(tmp_path)
    (pkg / "b" / "api.py").write_text(
        "from flask import request\n\n\ndef price(sku: str) -> int:\n    return len(sku)\n\n\n"
        "def cart_token() -> str:\n    return request.headers.get(HEADER, '')\n\n\n"
        "HEADER = 'X-Cart'\n\n\n"
        "def _lookup(key: str) -> str:\n    return key.upper()\n\n\n"
        "def who() -> str:\n    return _lookup(request.args['id'])\n"
    )
    (pkg / "a" / "use.py").write_text(
        "import importlib\n\nfrom mini.b.api import cart_token\n\n\n"
        "def total(sku: str) -> int:\n"
        '    api = importlib.import_module("mini.b.api")\n'
        "    return api.price(sku) + len(cart_token()) + len(api.who())\n"
    )
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.api"],
                    "interface": ["mini.b.api:cart_token", "mini.b.api:price", "mini.b.api:who"],
                },
            },
            "shared_kernel": {"modules": ["mini"]},
        }
    )
    ex = build_extraction(plan, None, tmp_path)
    use = text(ex, "services/a/src/mini/a/use.py")
    assert 'importlib.import_module("interservice.b_api")' in use
    assert "from interservice.b_api import cart_token" in use
    calls = {c.callee.split(":")[1]: c for c in ex.calls}
    assert calls["price"].converted
    # request-bound: a self-contained helper is copied to run where the request is ...
    assert calls["cart_token"].converted and "copied" in calls["cart_token"].reason
    client = text(ex, "services/a/src/interservice/b_api.py")
    assert "def cart_token() -> str:\n    return request.headers.get(HEADER, '')" in client
    assert "HEADER = 'X-Cart'" in client and "from flask import request" in client
    # ... one that needs more of its module's code is left for a person
    assert not calls["who"].converted and "request context (request)" in calls["who"].reason


def test_extraction_moves_what_discovery_selects_and_no_gitignored_file(
    shop_plan, tmp_path: Path
) -> None:
    """Extraction takes its files from the analyser's discovery: a .gitignored module or data
    file (a local settings override, generated assets) is not moved nor reported, nor is a
    test module, and the modules extraction reads are exactly the ones ``analyze`` sees."""
    import shutil

    from migrator.analysis.discover import discover
    from migrator.extraction.source import SourceTree

    root = tmp_path / "app"
    shutil.copytree(SHOP_ROOT, root)
    pkg = root / "shopfix"
    (root / ".gitignore").write_text("local_settings.py\nshopfix/static/cache/\n")
    (pkg / "local_settings.py").write_text("SECRET_KEY = 'only-on-this-machine'\n")
    for rel in ("static/site.css", "static/cache/bundle.js", "orders/static/orders.css"):
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text("/* asset */\n")
    (pkg / "orders" / "tests").mkdir()
    (pkg / "orders" / "tests" / "__init__.py").write_text("")
    (pkg / "orders" / "tests" / "test_orders.py").write_text("def test_x():\n    pass\n")
    ex = build_extraction(shop_plan, None, root)
    moved = {rel.split("/src/", 1)[-1] for rel in ex.files}
    assert "shopfix/static/site.css" in moved and "shopfix/orders/static/orders.css" in moved
    assert not {m for m in moved if "local_settings" in m or "bundle.js" in m or "tests/" in m}
    assert not any(b"only-on-this-machine" in data for data in ex.files.values())
    assert "local_settings" not in "\n".join(ex.notes)
    assert set(SourceTree(root, ["shopfix"]).files) == {f.module for f in discover(root).files}
    (root / ".gitignore").unlink()  # without the ignore file, both are seen again
    ex = build_extraction(shop_plan, None, root)
    assert any(rel.endswith("shopfix/static/cache/bundle.js") for rel in ex.files)
    assert "shopfix/local_settings.py: not assigned by the plan" in "\n".join(ex.notes)


def test_models_are_the_analysers_when_the_graph_has_them(
    shop_plan, tmp_path: Path, monkeypatch
) -> None:
    """With a graph, the ORM models are the analyser's (its plug-ins know each ORM's naming):
    a plain class that names a ``__tablename__`` for a raw query is no model; without one,
    extraction reads ``__tablename__`` itself."""
    import shutil

    from migrator.analysis import analyze
    from migrator.extraction.source import SourceTree

    root = tmp_path / "app"
    shutil.copytree(SHOP_ROOT, root)
    with (root / "shopfix" / "catalog" / "services.py").open("a") as fh:
        fh.write("\n\nclass Report:\n    __tablename__ = 'sales_report'\n")
    graph = analyze(root)
    analysed = {t.model: t.name for t in graph.tables.values() if t.model}
    tree = SourceTree(root, ["shopfix"])
    assert "shopfix.catalog.services:Report" in tree.models  # its own reading
    tree.take_tables(analysed)
    assert {k: c.table for k, c in tree.models.items()} == analysed
    assert "shopfix.models:Product" in analysed
    taken: list[dict[str, str]] = []
    original = SourceTree.take_tables
    monkeypatch.setattr(
        SourceTree, "take_tables", lambda self, t: (taken.append(t), original(self, t))[1]
    )
    build_extraction(shop_plan, graph, root)
    assert taken == [analysed]
