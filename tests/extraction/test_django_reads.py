"""Django queryset reads of another service's model (``Q`` filters, ``exclude``, ``order_by``,
``values_list``, ``aggregate``, ``except Model.DoesNotExist``) go through the caller's read
model to a reader the owner runs with its own ORM, and count as converted.

Steps: copy the tiny Django project of ``fixtures/tinydj_app`` and add a report view to orders
that reads catalog's Product so; extract it with the two-service plan of test_frameworks
(catalog owns Product); check every use of Product in the report is converted; then migrate
each service's own SQLite database, start both on 127.0.0.1, put rows into catalog's database
and call the orders report, which reads them only over catalog's generated read endpoint.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from migrator.extraction import build_extraction, extract
from migrator.extraction.localrun import internal_token, wait_http
from migrator.plan import plan_from_dict

from .conftest import FIXTURES
from .test_frameworks import DJANGO_PLAN, _get, _serve

REPORT = """\
from django.db.models import Count, Q, Sum
from django.http import JsonResponse
from django.views import View

from tinydj.catalog.models import Product


def report(request):
    picked = list(
        Product.objects.filter(Q(price__lt=100) | Q(sku__in=["tea", "jam"]))
        .exclude(sku="cake")
        .order_by("-price")
        .values_list("sku", flat=True)
    )
    totals = Product.objects.filter(price__gt=0).aggregate(total=Sum("price"), n=Count("id"))
    try:
        Product.objects.get(sku="nothing")
        missing = False
    except Product.DoesNotExist:
        missing = True
    cheapest = Product.objects.exclude(~Q(price__gt=0)).order_by("price").first()
    priced = [p.sku for p in Product.objects.priced(100).exclude(sku="pie")]
    return JsonResponse({"picked": picked, "total": totals["total"], "n": totals["n"],
                         "missing": missing, "cheapest": cheapest.sku, "priced": priced})


class Listing(View):
    def get(self, request):
        skus = Product.objects.order_by("sku").values_list("sku", flat=True)
        return JsonResponse({"skus": list(skus)})


def restock(request, sku):
    made, created = Product.objects.get_or_create(sku=sku, defaults={"price": 10})
    Product.objects.filter(sku=sku).update(price=made.price + 1)
    gone = Product.objects.filter(price__gt=800).delete()[0]
    now = Product.objects.get(sku=sku).price
    return JsonResponse({"created": created, "gone": gone, "price": now})
"""


def _plan():  # noqa: ANN202 - the fixture's plan, with the report in orders
    data = DJANGO_PLAN.to_dict()
    data["services"]["orders"]["modules"].append("tinydj.orders.report")
    return plan_from_dict(data)


#: lines of REPORT that use Product
USES = [8, 10, 15, 17, 19, 21, 22, 27, 29, 34, 35, 36, 37]  # 27: the class view's table


#: catalog's Product with a queryset of its own: a read (priced) and a write (bumped)
MANAGER = """
class ProductQuerySet(models.QuerySet):
    def priced(self, at_least=0):
        rows = self.filter(price__gte=at_least)
        return rows.order_by("price")

    def bumped(self):
        return self.update(price=1)


class Product(models.Model):
    objects = ProductQuerySet.as_manager()
"""


def _post(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        {
            "Content-Type": "application/json",
            "X-Internal-Token": internal_token(),
            **(headers or {}),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "tinydj_app", root)
    models = root / "tinydj" / "catalog" / "models.py"
    models.write_text(models.read_text().replace("\n\nclass Product(models.Model):\n", MANAGER, 1))
    (root / "tinydj" / "orders" / "report.py").write_text(REPORT)
    urls = root / "tinydj" / "orders" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from tinydj.orders import views", "from tinydj.orders import report, views")
        .replace(
            "urlpatterns = [",
            'urlpatterns = [path("report", report.report), path("listing", report.Listing.as_view()), path("restock/<str:sku>", report.restock), ',
        )
    )
    return root


def test_django_queryset_reads_of_another_service_count_as_converted(tmp_path: Path) -> None:
    from migrator.analysis import analyze

    root = _app(tmp_path)
    ex = build_extraction(_plan(), analyze(root), root)
    uses = [(c.line, c.converted) for c in ex.couplings if c.file == "tinydj/orders/report.py"]
    # restock's writes go to catalog's endpoint; the function still writes catalog's table
    assert sorted(uses) == sorted([(line, True) for line in USES] + [(33, False)])


def test_a_queryset_the_read_model_cannot_send_is_left(tmp_path: Path) -> None:
    from migrator.analysis import analyze

    root = _app(tmp_path)
    report = root / "tinydj" / "orders" / "report.py"
    # an expression filter (F) and a positional aggregate are not sent: left for a person
    report.write_text(
        REPORT.replace('Sum("price")', 'Sum("price" if request else "sku")')
        .replace('.exclude(sku="cake")', '.exclude(F("sku"))')
        .replace(".priced(100)", ".bumped()")
    )
    ex = build_extraction(_plan(), analyze(root), root)
    left = sorted(
        c.line for c in ex.couplings if c.file == "tinydj/orders/report.py" and not c.converted
    )
    assert left == [8, 10, 15, 22, 33]  # the function's table read is left with them


def test_a_queryset_handed_to_django_itself_is_left(tmp_path: Path) -> None:
    """A form field's or a view's ``queryset`` is evaluated by Django as a real QuerySet,
    which a read model is not: those uses stay listed, the report's reads still count."""
    from migrator.analysis import analyze

    root = _app(tmp_path)
    report = root / "tinydj" / "orders" / "report.py"
    extra = (
        "\n\nfrom django import forms\nfrom django.core.paginator import Paginator\n"
        "from django.shortcuts import get_object_or_404\n\n\n"
        "class PickForm(forms.Form):\n"
        "    product = forms.ModelChoiceField(queryset=Product.objects.all())\n\n\n"
        "class Shelf(View):\n"
        "    queryset = Product.objects.filter(price__gt=0)\n\n\n"
        "def paged(request):\n"
        '    page = Paginator(Product.objects.order_by("sku"), 2).page(1)\n'
        '    one = get_object_or_404(Product.objects.filter(price__gt=0), sku="tea")\n'
        "    return page, one\n"
    )
    report.write_text(REPORT + extra)
    lines = (REPORT + extra).splitlines()
    handed = [
        i + 1
        for i, line in enumerate(lines)
        if ("queryset" in line or "Paginator(" in line or "_or_404(" in line) and "Product" in line
    ]
    ex = build_extraction(_plan(), analyze(root), root)
    uses = {c.line: c.converted for c in ex.couplings if c.file == "tinydj/orders/report.py"}
    assert len(handed) == 4 and all(uses.get(line) is False for line in handed), uses
    assert all(uses[line] for line in USES)


@contextmanager
def serving(out: Path, work: Path, products: list[tuple[str, int]]) -> Iterator[dict[str, str]]:
    """Both extracted Django services started on 127.0.0.1 (their base URLs), with
    ``products`` in catalog's own database; stopped afterwards."""
    procs, base = _serve(out, work, django=True)
    try:
        for proc in procs:
            wait_http(proc.url + "/healthz", 60, proc)
        with sqlite3.connect(work / "catalog.sqlite3") as db:
            db.executemany("INSERT INTO catalog_product (sku, price) VALUES (?, ?)", products)
        yield base
    finally:
        for proc in procs:
            proc.stop()


def test_an_extracted_django_service_answers_queryset_reads_over_http(tmp_path: Path) -> None:
    root = _app(tmp_path)
    out = tmp_path / "out"
    extract(_plan(), None, root, out)
    products = [("tea", 300), ("jam", 150), ("cake", 50), ("bun", 80), ("pie", 900)]
    with serving(out, tmp_path, products) as base:
        assert _get(base["orders"] + "/api/orders/report") == {
            "picked": ["tea", "jam", "bun"],
            "total": 1480,
            "n": 5,
            "missing": True,
            "cheapest": "cake",
            "priced": ["jam", "tea"],
        }
        assert _get(base["orders"] + "/api/orders/listing") == {
            "skus": ["bun", "cake", "jam", "pie", "tea"]
        }
        # writes go to catalog once each; a repeated idempotency key is answered, not rerun
        assert _get(base["orders"] + "/api/orders/restock/new") == {
            "created": True,
            "gone": 1,
            "price": 11,
        }
        assert _get(base["orders"] + "/api/orders/restock/new") == {
            "created": False,
            "gone": 0,
            "price": 12,
        }
        update = {"filters": {"sku": "new"}, "op": "update", "key": None, "values": {"price": 50}}
        again = {"Idempotency-Key": "k1"}
        assert _post(base["catalog"] + "/internal/_read.Product", {"kwargs": update}, again) == {
            "result": 1
        }
        drop = {**update, "values": {"price": 70}}
        assert _post(base["catalog"] + "/internal/_read.Product", {"kwargs": drop}, again) == {
            "result": 1
        }
        with sqlite3.connect(tmp_path / "catalog.sqlite3") as db:
            rows = db.execute("SELECT sku, price FROM catalog_product ORDER BY sku").fetchall()
        assert rows == [("bun", 80), ("cake", 50), ("jam", 150), ("new", 50), ("tea", 300)]
        # a column a caller sets on a copy (``ReadRow``) changes that row only, by its key
        keyed = {"filters": {}, "op": "update", "key": 1, "values": {"price": 301}}
        changed = _post(
            base["catalog"] + "/internal/_read.Product",
            {"kwargs": keyed},
            {"Idempotency-Key": "k2"},
        )
        assert changed["result"]["sku"] == "tea" and changed["result"]["price"] == 301
        with sqlite3.connect(tmp_path / "catalog.sqlite3") as db:
            prices = dict(db.execute("SELECT sku, price FROM catalog_product").fetchall())
        assert prices == {"bun": 80, "cake": 50, "jam": 150, "new": 50, "tea": 301}
        # the owner runs only its model's own read methods: not Django's delete
        doomed = {
            "args": [],
            "kwargs": {"filters": {}, "op": "all", "steps": [["call", ["delete"], {}]]},
        }
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(base["catalog"] + "/internal/_read.Product", doomed)
        assert refused.value.code == 422
        assert _get(base["orders"] + "/api/orders/report")["n"] == 5
        # orders' database has no Product table: every read above went to catalog
        with sqlite3.connect(tmp_path / "orders.sqlite3") as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        assert "catalog_product" not in tables


def test_only_manager_methods_that_read_by_value_are_run_by_the_owner(tmp_path: Path) -> None:
    from migrator.extraction.convert import Classifier
    from migrator.extraction.djangoreads import custom_read
    from migrator.extraction.source import SourceTree

    root = _app(tmp_path)
    models = root / "tinydj" / "catalog" / "models.py"
    extra = (
        "    def for_user(self, user):\n"
        "        return self.all() if user.is_staff else self.filter(owner=user)\n\n"
        "    def ids(self):\n"
        '        return set(self.values_list("id", flat=True))\n\n'
        "    def priced(self"
    )
    models.write_text(models.read_text().replace("    def priced(self", extra, 1))
    classifier = Classifier(SourceTree(root, ["tinydj"]))
    product = "tinydj.catalog.models:Product"
    assert custom_read(classifier, product, "priced") == ""
    assert custom_read(classifier, product, "for_user") == "for_user reads attributes of user"
    assert "does not return a queryset" in custom_read(classifier, product, "ids")
    assert "changes rows (update)" in custom_read(classifier, product, "bumped")
    assert "not a method" in custom_read(classifier, product, "delete")
